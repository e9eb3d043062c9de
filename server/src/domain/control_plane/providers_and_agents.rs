//! The operator's commands on providers and agents.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::ControlPlane;
use super::admission::AdmissionsOf;
use crate::domain::agent::{AgentPatch, AgentRecord, NewAgent, dedup_profile};
use crate::domain::desk::{Desk, Session, SessionKind};
use crate::domain::error::{DomainError, DomainResult, Reason, refuse_if_managed};
use crate::domain::paging::{self, Page};
use crate::domain::principal::{CredentialHash, Principal};
use crate::domain::provider::{NewProvider, ProviderPatch, ProviderRecord};
use crate::domain::toasts::Canceller;

impl ControlPlane {
    // === providers ===

    pub fn create_provider(
        &mut self,
        new: NewProvider,
        credential: CredentialHash,
    ) -> DomainResult<ProviderRecord> {
        new.validate()?;
        let key = new.unique_name.to_lowercase();
        if self.unique_names.contains_key(&key) {
            return Err(DomainError::new(
                Reason::UniqueNameTaken,
                format!(
                    "a provider with unique name {} already exists; choose another unique name",
                    new.unique_name
                ),
            )
            .with("unique_name", &new.unique_name));
        }
        let now = SystemTime::now();
        let mut fields = new.fields;
        ProviderPatch::default().apply(&mut fields);
        let record = ProviderRecord {
            id: ProviderId::generate(),
            unique_name: new.unique_name,
            fields,
            active: new.active,
            created: now,
            updated: now,
            credential,
            managed: false,
        };
        self.unique_names.insert(key, record.id);
        self.add_credential(credential, Principal::Provider(record.id));
        self.providers.insert(record.id, record.clone());
        Ok(record)
    }

    pub fn provider(&self, id: ProviderId) -> DomainResult<&ProviderRecord> {
        self.providers
            .get(&id)
            .ok_or_else(|| DomainError::provider_not_found(id))
    }

    pub fn providers(
        &self,
        after: Option<ProviderId>,
        limit: usize,
    ) -> Page<&ProviderRecord, ProviderId> {
        paging::page(&self.providers, after, limit, |_| true)
    }

    pub fn update_provider(
        &mut self,
        id: ProviderId,
        patch: ProviderPatch,
    ) -> DomainResult<ProviderRecord> {
        patch.validate()?;
        let record = self.provider(id)?;
        refuse_if_managed(record.managed, "provider", &record.unique_name)?;
        let record = self.providers.get_mut(&id).expect("checked above");
        patch.apply(&mut record.fields);
        record.updated = SystemTime::now();
        Ok(record.clone())
    }

    /// Activates or deactivates a provider; setting the state it already has changes nothing.
    /// Each desk that admits it hears that it is admitted again, or no longer (rule 18).
    pub fn set_provider_active(
        &mut self,
        id: ProviderId,
        active: bool,
    ) -> DomainResult<ProviderRecord> {
        self.provider(id)?;
        let admitted = self.admissions(AdmissionsOf::Provider(id));
        let now = SystemTime::now();
        let record = self.providers.get_mut(&id).expect("checked above");
        if record.active != active {
            record.active = active;
            record.updated = now;
        }
        let record = record.clone();
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
        let record = self.provider(id)?;
        refuse_if_managed(record.managed, "provider", &record.unique_name)?;
        let admitted = self.admissions(AdmissionsOf::Provider(id));
        let record = self.providers.remove(&id).expect("checked above");
        self.remove_credential(&record.credential);
        self.unique_names.remove(&record.unique_name.to_lowercase());
        if self.sessions_by_owner.contains_key(&id) {
            self.deleted_provider_names.insert(id, record.unique_name);
        }
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
        let record = self
            .providers
            .get_mut(&id)
            .ok_or_else(|| DomainError::provider_not_found(id))?;
        let old = std::mem::replace(&mut record.credential, credential);
        self.remove_credential(&old);
        self.add_credential(credential, Principal::Provider(id));
        self.revoke(
            Principal::Provider(id),
            revoked("the credential was rotated"),
        );
        Ok(())
    }

    /// Every id in `profile` must name an existing provider.
    fn check_profile(&self, profile: &[ProviderId]) -> DomainResult<()> {
        match profile.iter().find(|id| !self.providers.contains_key(id)) {
            Some(missing) => Err(DomainError::provider_not_found(missing)),
            None => Ok(()),
        }
    }

    // === agents ===

    pub fn create_agent(
        &mut self,
        new: NewAgent,
        credential: CredentialHash,
    ) -> DomainResult<AgentRecord> {
        self.create_agent_with_id(AgentId::generate(), new, credential)
    }

    /// Creates an agent with an id chosen elsewhere (the configuration file's).
    pub(super) fn create_agent_with_id(
        &mut self,
        id: AgentId,
        new: NewAgent,
        credential: CredentialHash,
    ) -> DomainResult<AgentRecord> {
        new.validate()?;
        let mut profile = new.profile;
        dedup_profile(&mut profile);
        self.check_profile(&profile)?;
        let now = SystemTime::now();
        let defaults = self.settings.default_limits;
        let mut limits = defaults;
        new.limits.apply(&mut limits, &defaults);
        let home = Session {
            id: SessionId::generate(),
            agent: id,
            kind: SessionKind::Home,
            template: "".into(),
            title: "Home".to_owned(),
            title_pattern: None,
            context: Default::default(),
            created: now,
            closed: None,
            tabs: Vec::new(),
            focused_tab: None,
            marks: Default::default(),
            version: 0,
        };
        let record = AgentRecord {
            id,
            display_name: new.display_name,
            profile,
            limits,
            created: now,
            updated: now,
            credential,
            desk: Desk::new(home.id),
            managed: false,
        };
        self.sessions.insert(home.id, Box::new(home));
        self.add_credential(credential, Principal::Agent(id));
        self.agents.insert(id, record.clone());
        Ok(record)
    }

    pub fn agent_record(&self, id: AgentId) -> DomainResult<&AgentRecord> {
        self.agent(id)
    }

    pub fn agents(&self, after: Option<AgentId>, limit: usize) -> Page<&AgentRecord, AgentId> {
        paging::page(&self.agents, after, limit, |_| true)
    }

    pub fn update_agent(&mut self, id: AgentId, patch: AgentPatch) -> DomainResult<AgentRecord> {
        patch.validate()?;
        let record = self.agent(id)?;
        refuse_if_managed(record.managed, "agent", &id.to_string())?;
        let AgentPatch {
            display_name,
            profile,
            limits,
        } = patch;
        let profile = profile.map(|mut profile| {
            dedup_profile(&mut profile);
            profile
        });
        if let Some(profile) = &profile {
            self.check_profile(profile)?;
        }
        let defaults = self.settings.default_limits;
        let admitted = self.admissions(AdmissionsOf::Agent(id));
        let now = SystemTime::now();
        let record = self.agents.get_mut(&id).expect("checked above");
        if let Some(name) = display_name {
            record.display_name = name;
        }
        if let Some(profile) = profile {
            record.profile = profile;
        }
        limits.apply(&mut record.limits, &defaults);
        record.updated = now;
        let record = record.clone();
        self.settle_admissions(admitted, AdmissionsOf::Agent(id), now);
        Ok(record)
    }

    /// Deletes an agent, its desk and credential. Open sessions refuse the delete unless
    /// `force`, which closes them first (they stay readable by their owners).
    pub fn delete_agent(&mut self, id: AgentId, force: bool) -> DomainResult<Vec<SessionId>> {
        let record = self.agent(id)?;
        refuse_if_managed(record.managed, "agent", &id.to_string())?;
        let desk = &self.agent(id)?.desk;
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
        self.cancel_toasts(
            Canceller::AgentDeleted,
            SystemTime::now(),
            Some(id),
            |toast| toast.agent == id,
        );
        // Each owner hears its sessions close, as if the agent had closed them.
        let now = SystemTime::now();
        for session in &open {
            self.close(*session, now);
        }
        let record = self.agents.remove(&id).expect("checked above");
        self.toasts.remove_desk(id);
        self.remove_credential(&record.credential);
        if let Some(home) = self.sessions.remove(&record.desk.home) {
            for tab in home.tabs {
                self.tab_sessions.remove(&tab.id);
            }
        }
        self.revoke(Principal::Agent(id), revoked("the agent was deleted"));
        Ok(open)
    }

    pub fn rotate_agent_credential(
        &mut self,
        id: AgentId,
        credential: CredentialHash,
    ) -> DomainResult<()> {
        let record = self
            .agents
            .get_mut(&id)
            .ok_or_else(|| DomainError::agent_not_found(id))?;
        let old = std::mem::replace(&mut record.credential, credential);
        self.remove_credential(&old);
        self.add_credential(credential, Principal::Agent(id));
        self.revoke(Principal::Agent(id), revoked("the credential was rotated"));
        Ok(())
    }
}

/// Why a principal's open streams end when its credential stops working.
fn revoked(what: &str) -> DomainError {
    DomainError::new(
        Reason::CredentialInvalid,
        format!(
            "{what}: this stream's credential no longer works; ask the operator for a current one"
        ),
    )
}
