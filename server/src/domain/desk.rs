//! Desks and sessions.

use std::collections::BTreeMap;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

/// The communication panel's mode (CIF numbers in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelMode {
    /// CIF 0.
    Minimized,
    /// CIF 1, the default.
    Docked,
    /// CIF 2.
    Hidden,
    /// CIF 3.
    Collapsed,
}

/// The narrowest panel CIF allows, and the width a new desk starts with.
pub const MIN_PANEL_WIDTH: u32 = 300;
pub const DEFAULT_PANEL_WIDTH: u32 = 340;

/// One agent's desk.
#[derive(Debug, Clone)]
pub struct Desk {
    pub home: SessionId,
    /// Open provider sessions in creation order.
    pub open: Vec<SessionId>,
    /// The session with focus: `home` or one of `open`.
    pub focused: SessionId,
    /// Every session that has had focus, least recent first; the last is `focused`. When a
    /// focused session closes, focus goes back to the most recent one still open.
    pub focus_history: Vec<SessionId>,
    pub panel_mode: PanelMode,
    pub panel_width: u32,
    pub presence: Option<Presence>,
}

impl Desk {
    pub fn new(home: SessionId) -> Self {
        Self {
            home,
            open: Vec::new(),
            focused: home,
            focus_history: vec![home],
            panel_mode: PanelMode::Docked,
            panel_width: DEFAULT_PANEL_WIDTH,
            presence: None,
        }
    }

    /// Moves focus to `session`, returning the session that had it.
    pub fn focus(&mut self, session: SessionId) -> SessionId {
        self.focus_history.retain(|id| *id != session);
        self.focus_history.push(session);
        std::mem::replace(&mut self.focused, session)
    }
}

/// An agent's presence, one of the configured presences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub presence_id: String,
    pub text: String,
}

/// Who owns a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    Home,
    Provider(ProviderId),
}

/// A session on a desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub agent: AgentId,
    pub kind: SessionKind,
    pub template: String,
    pub title: String,
    pub context: BTreeMap<String, String>,
    pub created: SystemTime,
    /// When the session closed; `None` while it is open.
    pub closed: Option<SystemTime>,
}

impl Session {
    pub fn owner(&self) -> Option<ProviderId> {
        match self.kind {
            SessionKind::Home => None,
            SessionKind::Provider(owner) => Some(owner),
        }
    }

    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }
}
