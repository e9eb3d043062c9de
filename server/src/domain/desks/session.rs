//! Sessions on a desk (the home session, and the ones providers start) and what their owners
//! mark on them.

use std::sync::Arc;

use compact_str::CompactString;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId, TabId};

use super::tab::Tab;

/// Who owns a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SessionKind {
    Home,
    Provider(ProviderId),
}

/// A session's context, sorted by key: a sorted vector, because sessions carry a few keys and
/// a tree node would cost hundreds of bytes more per session.
/// Keys and values of up to 24 bytes (most are: ids, channels, names) are kept inline rather
/// than in an allocation each.
pub type Context = litemap::LiteMap<CompactString, CompactString>;

/// A session on a desk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Session {
    pub id: SessionId,
    pub agent: AgentId,
    pub kind: SessionKind,
    /// Boxed, as the title pattern: texts that never grow, so a session fits a smaller
    /// allocation (256 bytes rather than 272).
    pub template: Box<str>,
    pub title: String,
    /// The template title the title is filled from, so it follows the context; `None` once
    /// the title is set as it is.
    #[serde(default)]
    pub title_pattern: Option<Box<str>>,
    /// Shared: copying a session an event holds (to change it) does not copy its context,
    /// and the session's pointer is smaller than the map (the session fits 240 bytes).
    pub context: Arc<Context>,
    pub created: SystemTime,
    /// When the session closed; `None` while it is open.
    pub closed: Option<SystemTime>,
    /// Tabs in the order they were opened. Shared: the events about a tab hold the same
    /// tab, so the history does not copy it (a change copies it once, when an event holds it).
    pub tabs: Vec<Arc<Tab>>,
    pub focused_tab: Option<TabId>,
    pub marks: Marks,
    /// Counts the session's changes (one per event about it), for optimistic concurrency.
    pub version: u64,
}

/// What the owner flagged on a session (rule 7).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marks {
    /// Attention requested, with a messages count; cleared when the session gains focus.
    pub attention: Option<u32>,
    /// New activity, with a count; cleared when the session gains focus.
    pub new_activity: Option<u32>,
    /// A KPI breach with its details; stays until the owner resets it.
    pub kpi_breach: Option<String>,
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

    pub fn tab(&self, id: TabId) -> Option<&Arc<Tab>> {
        self.tabs.iter().find(|tab| tab.id == id)
    }
}
