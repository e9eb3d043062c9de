//! Rule 21: the desk page makes its widgets' calls with widget credentials, each acting as one
//! provider on this agent's desk only. Issued and revoked by the agent; the registry revokes
//! them when the provider is no longer admitted or either credential is rotated.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::ControlPlane;
use crate::domain::error::DomainResult;
use crate::domain::principal::CredentialHash;
use crate::domain::registry::Issued;

impl ControlPlane {
    /// Issues the credential of `provider`'s widget on `agent`'s desk (its hash), replacing
    /// the previous one; returns when it expires. NOT_FOUND unless the agent admits the
    /// provider.
    pub fn issue_widget_credential(
        &mut self,
        agent: AgentId,
        provider: ProviderId,
        hash: CredentialHash,
        now: SystemTime,
    ) -> DomainResult<SystemTime> {
        self.agent(agent)?;
        let expires = now + self.settings.widget_credential_lifetime;
        self.registry
            .issue_widget_credential(agent, provider, Issued { hash, expires })?;
        Ok(expires)
    }

    /// The widget credentials `agent`'s desk holds that work at `now`: provider and expiry.
    pub fn widget_credentials(
        &self,
        agent: AgentId,
        now: SystemTime,
    ) -> DomainResult<Vec<(ProviderId, SystemTime)>> {
        self.agent(agent)?;
        Ok(self.registry.widget_credentials(agent, now))
    }

    /// Forgets the widget credentials whose time was up at `now`, so none stays stored after
    /// its desk went away without revoking it.
    pub fn forget_expired_widget_credentials(&mut self, now: SystemTime) {
        self.registry.forget_expired_widget_credentials(now);
    }

    /// Revokes every widget credential of `agent`'s desk (the desk signs out); returns how
    /// many.
    pub fn revoke_widget_credentials(&mut self, agent: AgentId) -> DomainResult<usize> {
        self.agent(agent)?;
        Ok(self.registry.revoke_widget_credentials(|a, _| a == agent))
    }
}
