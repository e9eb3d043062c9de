//! One agent's desk: which sessions are open, which has focus, the communication panel and
//! the presence.

use std::collections::BTreeMap;

use cif_sdk::ids::{ProviderId, SessionId};

use crate::domain::registry::Presence;

/// The communication panel's mode (CIF numbers in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

/// The width a new desk's panel starts with (the narrowest CIF allows is
/// `validate::limits::PANEL_WIDTH_MIN`).
const DEFAULT_PANEL_WIDTH: u32 = 340;

/// One agent's desk.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    /// Counts the desk's changes (one per event on it), for optimistic concurrency.
    pub version: u64,
    /// Click-to-act turned on or off for a provider on this desk by its widget (CIF
    /// setClickToAct); a provider absent here follows its record's `enable_outbound`.
    #[serde(default)]
    pub click_to_act: BTreeMap<ProviderId, bool>,
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
            version: 0,
            click_to_act: BTreeMap::new(),
        }
    }

    /// Moves focus to `session`, returning the session that had it.
    pub fn focus(&mut self, session: SessionId) -> SessionId {
        self.focus_history.retain(|id| *id != session);
        self.focus_history.push(session);
        std::mem::replace(&mut self.focused, session)
    }
}
