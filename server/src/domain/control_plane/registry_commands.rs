//! The operator's commands on providers and agents, and what they mean beyond the registry: a
//! desk for each agent, streams ended and toasts cancelled when a credential stops working,
//! and what follows when an agent admits a provider again or no longer (rule 18).

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, OperatorCredentialId, ProviderId, SessionId};

use super::{ControlPlane, Page};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::principal::{CredentialHash, Principal};
use crate::domain::registry::{
    AdmissionsOf, AgentPatch, AgentRecord, NewAgent, NewProvider, OperatorCredentialRecord,
    ProviderFields, ProviderPatch, ProviderRecord,
};
use crate::domain::toasts::Canceller;

impl ControlPlane {
    // === providers ===

    pub fn create_provider(
        &mut self,
        new: NewProvider,
        credential: CredentialHash,
    ) -> DomainResult<ProviderRecord> {
        let record = self.registry.create_provider(new, credential)?;
        // Desks whose profile is empty admit it at once: their widgets gain it.
        self.provider_widget_changed(record.id, record.created);
        Ok(record)
    }

    pub fn provider(&self, id: ProviderId) -> DomainResult<&ProviderRecord> {
        self.registry.provider(id)
    }

    pub fn providers(
        &self,
        after: Option<ProviderId>,
        limit: usize,
    ) -> Page<&ProviderRecord, ProviderId> {
        self.registry.providers(after, limit)
    }

    pub fn update_provider(
        &mut self,
        id: ProviderId,
        patch: ProviderPatch,
    ) -> DomainResult<ProviderRecord> {
        // Read before the update, which checks the patch first (it needs no lookup).
        let before = self
            .registry
            .provider(id)
            .map(|record| record.fields.clone());
        let record = self.registry.update_provider(id, patch)?;
        if before.is_ok_and(|before| shown_on_desks(&before) != shown_on_desks(&record.fields)) {
            self.provider_widget_changed(id, record.updated);
        }
        Ok(record)
    }

    /// What desks show of the provider with this unique name, if there is one.
    pub(super) fn shown_on_desks_named(
        &self,
        unique_name: &str,
    ) -> Option<(String, String, String, i32, bool)> {
        let id = self.registry.provider_named(unique_name)?;
        let fields = &self.registry.provider(id).ok()?.fields;
        let (label, url, domain, order, outbound) = shown_on_desks(fields);
        Some((label.into(), url.into(), domain.into(), order, outbound))
    }

    /// Activates or deactivates a provider; setting the state it already has changes nothing.
    /// Deactivated, its calls are refused, its streams end and its toasts are cancelled. Each
    /// desk that admits it hears that it is admitted again, or no longer (rule 18).
    pub fn set_provider_active(
        &mut self,
        id: ProviderId,
        active: bool,
    ) -> DomainResult<ProviderRecord> {
        self.registry.provider(id)?;
        let admitted = self.admissions(AdmissionsOf::Provider(id));
        let now = SystemTime::now();
        let record = self.registry.set_provider_active(id, active, now)?;
        if !active {
            let why = self
                .acting_provider(id)
                .expect_err("an inactive provider cannot act");
            self.revoke(Principal::Provider(id), why);
            self.cancel_toasts(Canceller::ProviderDeactivated, now, None, |toast| {
                toast.key.provider == id
            });
        }
        self.settle_admissions(admitted, AdmissionsOf::Provider(id), now);
        Ok(record)
    }

    /// Deletes a provider and revokes its credential. Its sessions stay, showing the owner as
    /// deleted; agents' profiles keep naming it, so a profile never widens to "every provider"
    /// by a deletion.
    pub fn delete_provider(&mut self, id: ProviderId) -> DomainResult<()> {
        let admitted = self.admissions(AdmissionsOf::Provider(id));
        let owns_sessions = self.desks.owns_sessions(id);
        self.registry.delete_provider(id, owns_sessions)?;
        self.revoke(Principal::Provider(id), revoked("the provider was deleted"));
        let now = SystemTime::now();
        self.cancel_toasts(Canceller::ProviderDeactivated, now, None, |toast| {
            toast.key.provider == id
        });
        self.settle_admissions(admitted, AdmissionsOf::Provider(id), now);
        Ok(())
    }

    pub fn rotate_provider_credential(
        &mut self,
        id: ProviderId,
        credential: CredentialHash,
    ) -> DomainResult<()> {
        self.registry.rotate_provider_credential(id, credential)?;
        self.revoke(
            Principal::Provider(id),
            revoked("the credential was rotated"),
        );
        Ok(())
    }

    // === operator credentials ===

    pub fn create_operator_credential(
        &mut self,
        display_name: String,
        credential: CredentialHash,
        now: SystemTime,
    ) -> DomainResult<OperatorCredentialRecord> {
        self.registry
            .create_operator_credential(display_name, credential, now)
    }

    pub fn operator_credential(
        &self,
        id: OperatorCredentialId,
    ) -> Option<&OperatorCredentialRecord> {
        self.registry.operator_credential(id)
    }

    pub fn operator_credentials(
        &self,
        after: Option<OperatorCredentialId>,
        limit: usize,
    ) -> Page<&OperatorCredentialRecord, OperatorCredentialId> {
        self.registry.operator_credentials(after, limit)
    }

    /// Revokes an operator credential: calls with it are refused from now on, and its streams
    /// end saying why.
    pub fn revoke_operator_credential(&mut self, id: OperatorCredentialId) -> DomainResult<()> {
        let record = self.registry.revoke_operator_credential(id)?;
        self.revoke(
            record.principal(),
            revoked("the operator credential was revoked"),
        );
        Ok(())
    }

    // === agents ===

    pub fn create_agent(
        &mut self,
        new: NewAgent,
        credential: CredentialHash,
    ) -> DomainResult<AgentRecord> {
        self.create_agent_with_id(AgentId::generate(), new, credential)
    }

    /// Creates an agent with an id chosen elsewhere (the configuration file's), and its desk.
    pub(super) fn create_agent_with_id(
        &mut self,
        id: AgentId,
        new: NewAgent,
        credential: CredentialHash,
    ) -> DomainResult<AgentRecord> {
        let defaults = self.settings.default_limits;
        let record = self.registry.create_agent(id, new, credential, &defaults)?;
        self.desks.add_desk(id, record.created);
        // A new desk is read whole; its widgets are news only when they change.
        self.settle_visible_widget(id);
        Ok(record)
    }

    pub fn agent_record(&self, id: AgentId) -> DomainResult<&AgentRecord> {
        self.agent(id)
    }

    pub fn agents(&self, after: Option<AgentId>, limit: usize) -> Page<&AgentRecord, AgentId> {
        self.registry.agents(after, limit)
    }

    /// Changes an agent; a profile change applies at once (rule 18).
    pub fn update_agent(&mut self, id: AgentId, patch: AgentPatch) -> DomainResult<AgentRecord> {
        let defaults = self.settings.default_limits;
        let admitted = self.admissions(AdmissionsOf::Agent(id));
        let now = SystemTime::now();
        let record = self.registry.update_agent(id, patch, &defaults, now)?;
        self.settle_admissions(admitted, AdmissionsOf::Agent(id), now);
        Ok(record)
    }

    /// Deletes an agent, its desk and credential. Open sessions refuse the delete unless
    /// `force`, which closes them first (they stay readable by their owners).
    pub fn delete_agent(&mut self, id: AgentId, force: bool) -> DomainResult<Vec<SessionId>> {
        self.registry.check_agent_deletable(id)?;
        let desk = self.desks.desk(id).expect("every agent has a desk");
        // The focused session closes last, so closing the others moves no focus.
        let mut open = desk.open.clone();
        let focused = desk.focused;
        open.sort_by_key(|session| *session == focused);
        if !open.is_empty() && !force {
            return Err(DomainError::new(
                Reason::AgentHasOpenSessions,
                format!(
                    "agent {id} has {} open sessions; let the agent close them, or delete with force = true to close them",
                    open.len()
                ),
            )
            .with("agent_id", id)
            .with("open_sessions", open.len()));
        }
        let now = SystemTime::now();
        self.cancel_toasts(Canceller::AgentDeleted, now, Some(id), |toast| {
            toast.agent == id
        });
        // Each owner hears its sessions close, as if the agent had closed them.
        for session in &open {
            self.close(*session, now);
        }
        self.registry.delete_agent(id)?;
        self.desks.remove_desk(id);
        self.toasts.remove_desk(id);
        self.revoke(Principal::Agent(id), revoked("the agent was deleted"));
        Ok(open)
    }

    pub fn rotate_agent_credential(
        &mut self,
        id: AgentId,
        credential: CredentialHash,
    ) -> DomainResult<()> {
        self.registry.rotate_agent_credential(id, credential)?;
        self.revoke(Principal::Agent(id), revoked("the credential was rotated"));
        Ok(())
    }
}

/// Why a principal's open streams end when its credential stops working.
pub(super) fn revoked(what: &str) -> DomainError {
    DomainError::new(
        Reason::CredentialInvalid,
        format!(
            "{what}: this stream's credential no longer works; ask the operator for a current one"
        ),
    )
}

/// What desks show of a provider's widget (rule 20): a change of any of it is announced to
/// the desks that host it.
fn shown_on_desks(fields: &ProviderFields) -> (&str, &str, &str, i32, bool) {
    (
        &fields.label,
        &fields.channel_url,
        &fields.trusted_domain,
        fields.channel_order,
        fields.enable_outbound,
    )
}
