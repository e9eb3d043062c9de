//! The events commands produce, and who may see each one (rule 11). An event is made by the
//! same step that changes the state, never by comparing states.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::desks::Tab;
use super::desks::{PanelMode, Session};
use super::error::DomainError;
use super::principal::Principal;
use super::registry::Presence;
use super::toasts::{Resolution, Toast};

/// A session as it was when an event happened, with what a reader needs to show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionSnapshot {
    /// Shared with the state until the session changes again.
    pub session: Arc<Session>,
    pub focused: bool,
    pub owner: Option<OwnerSnapshot>,
}

/// The owner of a session as it was when an event happened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OwnerSnapshot {
    pub id: ProviderId,
    /// Inline up to 24 bytes (most unique names): no allocation per event.
    pub unique_name: compact_str::CompactString,
    pub deleted: bool,
    /// Whether the agent admitted the owner then (rule 18); events stored before this was
    /// recorded were all of admitted owners.
    #[serde(default = "admitted_before_recorded")]
    pub admitted: bool,
}

fn admitted_before_recorded() -> bool {
    true
}

/// One change on one desk, and the providers that hear it (besides the agent and operators,
/// who hear everything on the desk). The audience is decided when the event happens: the
/// owner of the session it is about, the opener of a tab in home, the active provider for
/// the panel, every provider of the agent for presence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub agent: AgentId,
    pub time: SystemTime,
    pub providers: Vec<ProviderId>,
    pub kind: EventKind,
}

/// A change on one desk as a part of the domain reports it, before the control plane decides
/// who hears it (and numbers it in the desk's and the session's versions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Happened {
    pub agent: AgentId,
    pub time: SystemTime,
    pub kind: EventKind,
}

/// A toast as it was when an event happened.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ToastSnapshot(pub Box<Toast>);

impl PartialEq for ToastSnapshot {
    fn eq(&self, other: &Self) -> bool {
        self.0.key == other.0.key && self.0.shown == other.0.shown
    }
}

impl Eq for ToastSnapshot {}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EventKind {
    /// A provider started a session (it has focus).
    SessionCreated {
        session: Box<SessionSnapshot>,
    },
    /// A session gained (`focused`) or lost focus.
    SessionSwitched {
        session: Box<SessionSnapshot>,
        focused: bool,
    },
    /// A session was closed.
    SessionClosed {
        session: Box<SessionSnapshot>,
    },
    /// The owner changed the title.
    SessionRetitled {
        session: Box<SessionSnapshot>,
    },
    /// The owner set or deleted context keys. Boxed slices, not vectors: every event is as
    /// big as its biggest kind, and these two words each bring an event to 128 bytes.
    SessionContextChanged {
        session: Box<SessionSnapshot>,
        set: Box<[String]>,
        deleted: Box<[String]>,
    },
    /// Marks were set, reset or cleared.
    SessionMarksChanged {
        session: Box<SessionSnapshot>,
    },
    /// `in_home`: the tab is in the home session, where providers are not told which tab has
    /// focus (rule 19).
    TabCreated {
        tab: Arc<Tab>,
        focused: bool,
        #[serde(default)]
        in_home: bool,
    },
    TabFocused {
        tab: Arc<Tab>,
    },
    TabRefreshed {
        tab: Arc<Tab>,
        focused: bool,
        #[serde(default)]
        in_home: bool,
    },
    TabRetitled {
        tab: Arc<Tab>,
        focused: bool,
        #[serde(default)]
        in_home: bool,
    },
    TabClosed {
        tab: Arc<Tab>,
    },
    PanelModeChanged {
        mode: PanelMode,
    },
    PanelWidthChanged {
        width: u32,
    },
    PresenceChanged {
        presence: Box<Presence>,
        set_by: Option<ProviderId>,
    },
    /// A toast waits in the queue (rule 12).
    NotificationQueued {
        toast: ToastSnapshot,
    },
    NotificationShown {
        toast: ToastSnapshot,
    },
    NotificationResolved {
        toast: ToastSnapshot,
        resolution: Resolution,
    },
    ClickToAct(Box<ClickToAct>),
    CustomEvent(Box<CustomEvent>),
    /// The agent admits `provider` now, or no longer (rule 18): a profile change, an
    /// activation, a deactivation, a deletion. The desk shows the provider's sessions' owner
    /// as (no longer) admitted; the provider's streams never carry it (see
    /// [`Scope::passage`]).
    ProviderAdmissionChanged {
        provider: ProviderId,
        admitted: bool,
    },
    /// The desk's providers changed (rule 20): the whole widgets, the visible one included.
    DeskWidgetsChanged {
        widgets: Box<Widgets>,
    },
    /// The focus moved and another provider's widget (or none) is visible (rule 20).
    VisibleWidgetChanged {
        visible: Option<ProviderId>,
    },
}

impl EventKind {
    /// The session the event is about, if any.
    pub fn session(&self) -> Option<SessionId> {
        match self {
            EventKind::SessionCreated { session }
            | EventKind::SessionSwitched { session, .. }
            | EventKind::SessionClosed { session }
            | EventKind::SessionRetitled { session }
            | EventKind::SessionContextChanged { session, .. }
            | EventKind::SessionMarksChanged { session } => Some(session.session.id),
            EventKind::TabCreated { tab, .. }
            | EventKind::TabFocused { tab }
            | EventKind::TabRefreshed { tab, .. }
            | EventKind::TabRetitled { tab, .. }
            | EventKind::TabClosed { tab } => Some(tab.session),
            _ => None,
        }
    }

    /// The session snapshot the event carries, if any.
    pub fn snapshot(&self) -> Option<&SessionSnapshot> {
        match self {
            EventKind::SessionCreated { session }
            | EventKind::SessionSwitched { session, .. }
            | EventKind::SessionClosed { session }
            | EventKind::SessionRetitled { session }
            | EventKind::SessionContextChanged { session, .. }
            | EventKind::SessionMarksChanged { session } => Some(session),
            _ => None,
        }
    }
}

/// The widgets of a desk (rule 20): the providers the agent admits, in channel order, and
/// the one whose widget the panel shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Widgets {
    pub providers: Vec<WidgetProvider>,
    pub visible: Option<ProviderId>,
}

/// A provider as a desk hosts its widget.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WidgetProvider {
    pub id: ProviderId,
    pub label: String,
    pub channel_url: String,
    pub trusted_domain: String,
    pub channel_order: i32,
    pub enable_outbound: bool,
}

/// A click on a click-to-act field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClickToAct {
    pub value: String,
    pub name: String,
    pub format: String,
    pub entity_logical_name: String,
}

/// A custom event (CIF raiseEvent), from a provider to a desk or from the agent to a provider.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CustomEvent {
    pub name: String,
    pub payload: String,
    pub from: Option<ProviderId>,
    pub to: Option<ProviderId>,
}

/// What a stream does with an event its scope sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passage {
    /// Send it.
    Deliver,
    /// Send nothing of it.
    Skip,
    /// End the stream with this error instead.
    End(DomainError),
}

/// What one stream may see (rule 11): a provider its own sessions' events (optionally on
/// some desks only), an agent its whole desk, an operator everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Provider {
        provider: ProviderId,
        /// `None`: every desk.
        agents: Option<BTreeSet<AgentId>>,
    },
    Agent(AgentId),
    Everything(crate::domain::principal::Operator),
}

impl Scope {
    /// Whether an event belongs on a stream of this scope.
    pub fn sees(&self, event: &Event) -> bool {
        match self {
            Scope::Provider { provider, agents } => {
                event.providers.contains(provider)
                    && agents
                        .as_ref()
                        .is_none_or(|agents| agents.contains(&event.agent))
            }
            Scope::Agent(agent) => event.agent == *agent,
            Scope::Everything(_) => true,
        }
    }

    /// What a stream of this scope does with an event it sees. A provider's stream never
    /// carries a change of its own admission: taken off a desk, a stream that follows named
    /// desks, this one among them, ends as opening it would now be answered (NOT_FOUND), and
    /// any other skips it; admitted again, the stream ends telling the client to
    /// resynchronise, since it missed that desk's events meanwhile (rule 18).
    pub fn passage(&self, event: &Event) -> Passage {
        match (self, &event.kind) {
            (
                Scope::Provider { agents, .. },
                EventKind::ProviderAdmissionChanged { admitted, .. },
            ) => match (admitted, agents) {
                (true, _) => Passage::End(DomainError::provider_readmitted(event.agent)),
                (false, Some(_)) => Passage::End(DomainError::agent_not_found(event.agent)),
                (false, None) => Passage::Skip,
            },
            _ => Passage::Deliver,
        }
    }

    /// The principal that opens streams of this scope.
    pub fn principal(&self) -> Principal {
        match self {
            Scope::Provider { provider, .. } => Principal::Provider(*provider),
            Scope::Agent(agent) => Principal::Agent(*agent),
            Scope::Everything(operator) => Principal::Operator(*operator),
        }
    }
}
