//! The events commands produce, and who may see each one (rule 11). An event is made by the
//! same step that changes the state, never by comparing states.

use std::collections::BTreeSet;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::desk::Session;
use super::principal::Principal;

/// A session as it was when an event happened, with what a reader needs to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSnapshot {
    pub session: Session,
    pub focused: bool,
    pub owner: Option<OwnerSnapshot>,
}

/// The owner of a session as it was when an event happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerSnapshot {
    pub id: ProviderId,
    pub unique_name: String,
    pub deleted: bool,
}

/// One change on one desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub agent: AgentId,
    pub time: SystemTime,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A provider started a session (it has focus).
    SessionCreated { session: SessionSnapshot },
    /// A session gained (`focused`) or lost focus.
    SessionSwitched {
        session: SessionSnapshot,
        focused: bool,
    },
    /// A session was closed.
    SessionClosed { session: SessionSnapshot },
}

impl Event {
    /// The provider whose stream may carry this event, besides the agent's and operators':
    /// the owner of the session it is about (none for the home session).
    pub fn provider(&self) -> Option<ProviderId> {
        match &self.kind {
            EventKind::SessionCreated { session }
            | EventKind::SessionSwitched { session, .. }
            | EventKind::SessionClosed { session } => session.session.owner(),
        }
    }
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
    Everything,
}

impl Scope {
    /// Whether an event belongs on a stream of this scope.
    pub fn sees(&self, event: &Event) -> bool {
        match self {
            Scope::Provider { provider, agents } => {
                event.provider() == Some(*provider)
                    && agents
                        .as_ref()
                        .is_none_or(|agents| agents.contains(&event.agent))
            }
            Scope::Agent(agent) => event.agent == *agent,
            Scope::Everything => true,
        }
    }

    /// The principal that opens streams of this scope.
    pub fn principal(&self) -> Principal {
        match self {
            Scope::Provider { provider, .. } => Principal::Provider(*provider),
            Scope::Agent(agent) => Principal::Agent(*agent),
            Scope::Everything => Principal::Operator,
        }
    }
}
