//! Typed-id accessors on the generated messages that carry ids.

use crate::ids::{AgentId, InvalidId, ProviderId, SessionId};
use crate::pb;

impl pb::Provider {
    /// The provider's id as a typed id.
    pub fn provider_id(&self) -> Result<ProviderId, InvalidId> {
        ProviderId::parse(&self.id)
    }
}

impl pb::Agent {
    /// The agent's id as a typed id.
    pub fn agent_id(&self) -> Result<AgentId, InvalidId> {
        AgentId::parse(&self.id)
    }
}

impl pb::Session {
    /// The session's id as a typed id.
    pub fn session_id(&self) -> Result<SessionId, InvalidId> {
        SessionId::parse(&self.id)
    }

    /// The owning provider's id; `None` for the home session.
    pub fn owner_id(&self) -> Option<Result<ProviderId, InvalidId>> {
        self.owner
            .as_ref()
            .map(|owner| ProviderId::parse(&owner.provider_id))
    }
}

impl pb::Desk {
    /// The home session's id as a typed id.
    pub fn home_session_id(&self) -> Result<SessionId, InvalidId> {
        SessionId::parse(self.home_session.as_ref().map_or("", |home| &home.id))
    }
}
