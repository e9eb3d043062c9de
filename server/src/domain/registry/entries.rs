//! The registry: providers, agents and their profiles, the credentials that name them, and the
//! presence list. It decides who is calling and, in one predicate, whether an agent admits a
//! provider (rule 18). Its indexes (unique names, credentials, names of deleted providers)
//! change only here, with the records they index.

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, OperatorCredentialId, ProviderId};

use super::agent::{AgentLimits, AgentPatch, AgentRecord, NewAgent, dedup_profile};
use super::operator_record::OperatorCredentialRecord;
use super::presence::{Presence, PresencePatch};
use super::provider::{NewProvider, ProviderPatch, ProviderRecord};
use super::widget_credentials::{Holder, Issued, Lookup, WidgetCredentials};
use crate::domain::error::{DomainError, DomainResult, Reason, refuse_if_managed};
use crate::domain::paging::{self, Page};
use crate::domain::principal::{CredentialHash, Principal, Role};
use crate::domain::tracked::Tracked;
use crate::domain::validate::UrlPolicy;

/// How a principal lost the right to call, as a follower learns it from the writer's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    Deleted,
    Rotated,
    Deactivated,
}

/// Whose admissions a registry change may flip.
#[derive(Debug, Clone, Copy)]
pub enum AdmissionsOf {
    /// One agent's: its profile changed.
    Agent(AgentId),
    /// One provider's on every desk: it was activated, deactivated or deleted.
    Provider(ProviderId),
}

/// Who may call, and for whom.
#[derive(Debug)]
pub struct Registry {
    operator_credential: CredentialHash,
    providers: Tracked<ProviderId, ProviderRecord>,
    /// Lower-cased unique name -> provider: unique names are unique without regard to case.
    unique_names: HashMap<String, ProviderId>,
    /// Unique names of deleted providers that still own sessions, to show on those sessions.
    deleted_provider_names: Tracked<ProviderId, String>,
    agents: Tracked<AgentId, AgentRecord>,
    /// Issued credentials by [`CredentialHash::lookup_key`].
    credentials: HashMap<u64, Vec<(CredentialHash, Principal)>>,
    /// Credentials of widgets on desks (rule 21).
    widgets: WidgetCredentials,
    /// Operator credentials created through AdminService.
    pub(super) operators: Tracked<OperatorCredentialId, OperatorCredentialRecord>,
    /// The configured presences by id.
    presences: Tracked<String, Presence>,
    /// Whether channel URLs may be http on loopback (development; rule 20).
    /// Which channel URLs providers may have.
    urls: UrlPolicy,
}

/// The registry's records changed since the last look: each with its value now, or `None`
/// when removed.
#[derive(Debug, Default)]
pub struct RegistryChanges {
    pub providers: Vec<(ProviderId, Option<ProviderRecord>)>,
    pub deleted_providers: Vec<(ProviderId, Option<String>)>,
    pub agents: Vec<(AgentId, Option<AgentRecord>)>,
    pub presences: Vec<(String, Option<Presence>)>,
    pub widget_credentials: Vec<(Holder, Option<Issued>)>,
    pub operator_credentials: Vec<(OperatorCredentialId, Option<OperatorCredentialRecord>)>,
}

impl Registry {
    pub fn new(operator_credential: CredentialHash) -> Self {
        Self {
            operator_credential,
            providers: Tracked::default(),
            unique_names: HashMap::new(),
            deleted_provider_names: Tracked::default(),
            agents: Tracked::default(),
            credentials: HashMap::new(),
            widgets: WidgetCredentials::default(),
            operators: Tracked::default(),
            presences: Tracked::default(),
            urls: UrlPolicy::default(),
        }
    }

    /// Which channel URLs providers may have (loopback http, never the desk's origin).
    pub fn set_url_policy(&mut self, urls: UrlPolicy) {
        self.urls = urls;
    }

    /// The registry as stored, every index derived again.
    pub fn restore(
        operator_credential: CredentialHash,
        providers: Vec<ProviderRecord>,
        deleted_providers: Vec<(ProviderId, String)>,
        agents: Vec<AgentRecord>,
        presences: Vec<Presence>,
        widget_credentials: Vec<(Holder, Issued)>,
        operator_credentials: Vec<OperatorCredentialRecord>,
    ) -> Self {
        let mut registry = Self::new(operator_credential);
        registry.widgets = WidgetCredentials::loaded(widget_credentials);
        for record in &operator_credentials {
            registry.add_credential(record.credential, record.principal());
        }
        registry.operators = Tracked::loaded(operator_credentials.into_iter().map(|r| (r.id, r)));
        for provider in &providers {
            registry
                .unique_names
                .insert(provider.unique_name.to_lowercase(), provider.id);
            registry.add_credential(provider.credential, Principal::Provider(provider.id));
        }
        for agent in &agents {
            registry.add_credential(agent.credential, Principal::Agent(agent.id));
        }
        registry.providers = Tracked::loaded(providers.into_iter().map(|p| (p.id, p)));
        registry.deleted_provider_names = Tracked::loaded(deleted_providers);
        registry.agents = Tracked::loaded(agents.into_iter().map(|a| (a.id, a)));
        registry.presences = Tracked::loaded(presences.into_iter().map(|p| (p.id.clone(), p)));
        registry
    }

    /// Makes the records what another process's commands left them (a follower reading
    /// what the writer committed), keeping the indexes in step. Nothing counts as changed.
    /// Returns who lost the credential they called with, and how.
    pub fn apply(&mut self, changes: RegistryChanges) -> Vec<(Principal, Lost)> {
        let mut lost = Vec::new();
        for (id, record) in changes.providers {
            if let Some(old) = self.providers.remove(&id) {
                self.unique_names.remove(&old.unique_name.to_lowercase());
                self.remove_credential(&old.credential);
                let how = match &record {
                    None => Some(Lost::Deleted),
                    Some(new) if !new.credential.matches(&old.credential) => Some(Lost::Rotated),
                    Some(new) if old.active && !new.active => Some(Lost::Deactivated),
                    Some(_) => None,
                };
                lost.extend(how.map(|how| (Principal::Provider(id), how)));
            }
            if let Some(record) = record {
                self.unique_names
                    .insert(record.unique_name.to_lowercase(), record.id);
                self.add_credential(record.credential, Principal::Provider(record.id));
                self.providers.insert(id, record);
            }
        }
        for (id, name) in changes.deleted_providers {
            match name {
                Some(name) => self.deleted_provider_names.insert(id, name),
                None => self.deleted_provider_names.remove(&id),
            };
        }
        for (id, record) in changes.agents {
            if let Some(old) = self.agents.remove(&id) {
                self.remove_credential(&old.credential);
                let how = match &record {
                    None => Some(Lost::Deleted),
                    Some(new) if !new.credential.matches(&old.credential) => Some(Lost::Rotated),
                    Some(_) => None,
                };
                lost.extend(how.map(|how| (Principal::Agent(id), how)));
            }
            if let Some(record) = record {
                self.add_credential(record.credential, Principal::Agent(record.id));
                self.agents.insert(id, record);
            }
        }
        for (id, presence) in changes.presences {
            match presence {
                Some(presence) => self.presences.insert(id, presence),
                None => self.presences.remove(&id),
            };
        }
        self.widgets.apply(changes.widget_credentials);
        for (id, record) in changes.operator_credentials {
            if let Some(old) = self.operators.remove(&id) {
                self.remove_credential(&old.credential);
                if record.is_none() {
                    lost.push((old.principal(), Lost::Deleted));
                }
            }
            if let Some(record) = record {
                self.add_credential(record.credential, record.principal());
                self.operators.insert(id, record);
            }
        }
        self.forget_changes();
        lost
    }

    /// What changed since the last call.
    pub fn take_changes(&mut self) -> RegistryChanges {
        RegistryChanges {
            providers: self.providers.take_changes(),
            deleted_providers: self.deleted_provider_names.take_changes(),
            agents: self.agents.take_changes(),
            presences: self.presences.take_changes(),
            widget_credentials: self.widgets.take_changes(),
            operator_credentials: self.operators.take_changes(),
        }
    }

    /// Forgets what changed, for a state nothing stores.
    pub fn forget_changes(&mut self) {
        self.providers.forget_touched();
        self.deleted_provider_names.forget_touched();
        self.agents.forget_touched();
        self.presences.forget_touched();
        self.widgets.forget_changes();
        self.operators.forget_touched();
    }

    // === who is calling ===

    /// Who holds `credential` at `now`, if they may call a service for `role`. Unknown,
    /// revoked or expired credentials are UNAUTHENTICATED; another role's credential, or an
    /// inactive provider's, PERMISSION_DENIED.
    pub fn authenticate(
        &self,
        credential: &CredentialHash,
        role: Role,
        now: SystemTime,
    ) -> DomainResult<Principal> {
        let issued = || {
            self.credentials
                .get(&credential.lookup_key())
                .and_then(|candidates| candidates.iter().find(|(hash, _)| hash.matches(credential)))
                .map(|(_, principal)| *principal)
        };
        let principal = if credential.matches(&self.operator_credential) {
            Principal::Operator(crate::domain::Operator::Configured)
        } else if let Some(principal) = issued() {
            principal
        } else {
            match self.widgets.lookup(credential, now) {
                Lookup::Holder { agent, provider } => Principal::Widget { provider, agent },
                Lookup::Expired => {
                    return Err(DomainError::new(
                        Reason::CredentialInvalid,
                        "the widget credential expired; the desk issues a new one (AgentService.IssueWidgetCredential)",
                    ));
                }
                Lookup::Unknown => {
                    return Err(DomainError::new(
                        Reason::CredentialInvalid,
                        "the credential is not valid: it is unknown, was rotated, or its provider or agent was deleted; ask the operator for a current one",
                    ));
                }
            }
        };
        if principal.role() != role {
            return Err(DomainError::new(
                Reason::RoleNotAllowed,
                format!(
                    "a {} credential cannot call the {role} service; use a {role} credential",
                    principal.role()
                ),
            )
            .with("principal_role", principal.role())
            .with("service_role", role));
        }
        if let Some(caller) = principal.provider_caller() {
            self.acting_provider(caller.provider)?;
        }
        Ok(principal)
    }

    /// The calling provider's record, if it may act now.
    pub fn acting_provider(&self, provider: ProviderId) -> DomainResult<&ProviderRecord> {
        let record = self.providers.get(&provider).ok_or_else(|| {
            DomainError::new(
                Reason::CredentialInvalid,
                "the provider was deleted; its credential no longer works",
            )
        })?;
        if !record.active {
            return Err(DomainError::new(
                Reason::ProviderInactive,
                format!(
                    "provider {} is inactive: an operator must activate it (AdminService.ActivateProvider) before it can call again",
                    record.unique_name
                ),
            )
            .with("provider_id", provider)
            .with("unique_name", &record.unique_name));
        }
        Ok(record)
    }

    /// Issues the credential of `provider`'s widget on `agent`'s desk (rule 21), replacing the
    /// previous one. NOT_FOUND unless the agent admits the provider now.
    pub fn issue_widget_credential(
        &mut self,
        agent: AgentId,
        provider: ProviderId,
        issued: Issued,
    ) -> DomainResult<()> {
        if !self.admits(agent, provider) {
            return Err(DomainError::provider_not_found(provider));
        }
        self.widgets.issue(agent, provider, issued);
        Ok(())
    }

    /// The widget credentials `agent`'s desk holds that work at `now`.
    pub fn widget_credentials(
        &self,
        agent: AgentId,
        now: SystemTime,
    ) -> Vec<(ProviderId, SystemTime)> {
        self.widgets.held_by(agent, now)
    }

    /// Forgets the widget credentials whose time was up at `now`.
    pub fn forget_expired_widget_credentials(&mut self, now: SystemTime) {
        self.widgets.forget_expired(now);
    }

    /// Revokes the widget credentials whose (agent, provider) `which` picks; returns how many.
    pub fn revoke_widget_credentials(
        &mut self,
        which: impl Fn(AgentId, ProviderId) -> bool,
    ) -> usize {
        self.widgets.revoke(which)
    }

    pub(super) fn add_credential(&mut self, hash: CredentialHash, principal: Principal) {
        self.credentials
            .entry(hash.lookup_key())
            .or_default()
            .push((hash, principal));
    }

    pub(super) fn remove_credential(&mut self, hash: &CredentialHash) {
        let key = hash.lookup_key();
        if let Some(candidates) = self.credentials.get_mut(&key) {
            candidates.retain(|(stored, _)| !stored.matches(hash));
            if candidates.is_empty() {
                self.credentials.remove(&key);
            }
        }
    }

    // === rule 18: only while admitted ===

    /// Rule 18: whether `agent` admits `provider` now: the provider exists and is active, and
    /// the agent's profile names it (or is empty). Every provider call, every event audience
    /// and every provider snapshot asks this.
    pub fn admits(&self, agent: AgentId, provider: ProviderId) -> bool {
        self.providers
            .get(&provider)
            .is_some_and(|record| record.active)
            && self
                .agents
                .get(&agent)
                .is_some_and(|record| record.profile_includes(provider))
    }

    /// The one provider the agent admits, if it admits exactly one.
    pub fn only_admitted(&self, agent: AgentId) -> Option<ProviderId> {
        let mut admitted = self
            .providers
            .keys()
            .filter(|provider| self.admits(agent, **provider));
        match (admitted.next(), admitted.next()) {
            (Some(only), None) => Some(*only),
            _ => None,
        }
    }

    /// The agent's available providers: the ones it admits, in channel order, ties broken by
    /// unique name. The first is its default provider.
    pub fn available_providers(&self, agent: AgentId) -> Vec<ProviderId> {
        let mut providers: Vec<&ProviderRecord> = self
            .providers
            .values()
            .filter(|provider| self.admits(agent, provider.id))
            .collect();
        providers.sort_by(|a, b| {
            (a.fields.channel_order, &a.unique_name).cmp(&(b.fields.channel_order, &b.unique_name))
        });
        providers.into_iter().map(|provider| provider.id).collect()
    }

    /// The (agent, provider) pairs admitted now among those `of` names.
    pub fn admissions(&self, of: AdmissionsOf) -> BTreeSet<(AgentId, ProviderId)> {
        match of {
            AdmissionsOf::Agent(agent) => self
                .providers
                .keys()
                .filter(|provider| self.admits(agent, **provider))
                .map(|provider| (agent, *provider))
                .collect(),
            AdmissionsOf::Provider(provider) => self
                .agents
                .keys()
                .filter(|agent| self.admits(**agent, provider))
                .map(|agent| (*agent, provider))
                .collect(),
        }
    }

    // === providers ===

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

    /// A session owner's unique name, also after it was deleted (`true` then).
    pub fn owner_name(&self, id: ProviderId) -> (&str, bool) {
        match self.providers.get(&id) {
            Some(provider) => (&provider.unique_name, false),
            None => (
                self.deleted_provider_names
                    .get(&id)
                    .map_or("", String::as_str),
                true,
            ),
        }
    }

    pub fn create_provider(
        &mut self,
        new: NewProvider,
        credential: CredentialHash,
    ) -> DomainResult<ProviderRecord> {
        new.validate(&self.urls)?;
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

    pub fn update_provider(
        &mut self,
        id: ProviderId,
        patch: ProviderPatch,
    ) -> DomainResult<ProviderRecord> {
        patch.validate(&self.urls)?;
        let record = self.provider(id)?;
        refuse_if_managed(record.managed, "provider", &record.unique_name)?;
        let record = self.providers.get_mut(&id).expect("checked above");
        patch.apply(&mut record.fields);
        record.updated = SystemTime::now();
        Ok(record.clone())
    }

    /// Activates or deactivates a provider; setting the state it already has changes nothing.
    pub fn set_provider_active(
        &mut self,
        id: ProviderId,
        active: bool,
        now: SystemTime,
    ) -> DomainResult<ProviderRecord> {
        let record = self
            .providers
            .get_mut(&id)
            .ok_or_else(|| DomainError::provider_not_found(id))?;
        if record.active != active {
            record.active = active;
            record.updated = now;
        }
        Ok(record.clone())
    }

    /// Deletes a provider and revokes its credential. With `keep_name` (it still owns
    /// sessions) its unique name is kept to show on them. Agents' profiles keep naming it, so
    /// a profile never widens to "every provider" by a deletion.
    pub fn delete_provider(&mut self, id: ProviderId, keep_name: bool) -> DomainResult<()> {
        let record = self.provider(id)?;
        refuse_if_managed(record.managed, "provider", &record.unique_name)?;
        let record = self.providers.remove(&id).expect("checked above");
        self.remove_credential(&record.credential);
        self.widgets.revoke(|_, provider| provider == id);
        self.unique_names.remove(&record.unique_name.to_lowercase());
        if keep_name {
            self.deleted_provider_names.insert(id, record.unique_name);
        }
        Ok(())
    }

    /// Forgets a deleted provider's name once it owns no session any more.
    pub fn forget_deleted_name(&mut self, id: ProviderId) {
        if self.deleted_provider_names.contains_key(&id) {
            self.deleted_provider_names.remove(&id);
        }
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
        // Its widgets' credentials act as it: a rotation ends them too.
        self.widgets.revoke(|_, provider| provider == id);
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

    pub fn agent(&self, agent: AgentId) -> DomainResult<&AgentRecord> {
        self.agents
            .get(&agent)
            .ok_or_else(|| DomainError::agent_not_found(agent))
    }

    /// The agent, if `provider` may act for it; otherwise the same NOT_FOUND as for an agent
    /// that does not exist.
    pub fn agent_for_provider(
        &self,
        provider: ProviderId,
        agent: AgentId,
    ) -> DomainResult<&AgentRecord> {
        self.agents
            .get(&agent)
            .filter(|_| self.admits(agent, provider))
            .ok_or_else(|| DomainError::agent_not_found(agent))
    }

    pub fn agents(&self, after: Option<AgentId>, limit: usize) -> Page<&AgentRecord, AgentId> {
        paging::page(&self.agents, after, limit, |_| true)
    }

    /// Every agent id, in creation order.
    pub fn agent_ids(&self) -> impl Iterator<Item = AgentId> + '_ {
        self.agents.keys().copied()
    }

    /// Creates an agent with the id given (generated, or the configuration file's).
    pub fn create_agent(
        &mut self,
        id: AgentId,
        new: NewAgent,
        credential: CredentialHash,
        defaults: &AgentLimits,
    ) -> DomainResult<AgentRecord> {
        new.validate()?;
        let mut profile = new.profile;
        dedup_profile(&mut profile);
        self.check_profile(&profile)?;
        let now = SystemTime::now();
        let mut limits = *defaults;
        new.limits.apply(&mut limits, defaults);
        let record = AgentRecord {
            id,
            display_name: new.display_name,
            profile,
            limits,
            created: now,
            updated: now,
            credential,
            managed: false,
        };
        self.add_credential(credential, Principal::Agent(id));
        self.agents.insert(id, record.clone());
        Ok(record)
    }

    pub fn update_agent(
        &mut self,
        id: AgentId,
        patch: AgentPatch,
        defaults: &AgentLimits,
        now: SystemTime,
    ) -> DomainResult<AgentRecord> {
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
        let record = self.agents.get_mut(&id).expect("checked above");
        if let Some(name) = display_name {
            record.display_name = name;
        }
        if let Some(profile) = profile {
            record.profile = profile;
        }
        limits.apply(&mut record.limits, defaults);
        record.updated = now;
        Ok(record.clone())
    }

    /// Whether an agent may be deleted through AdminService.
    pub fn check_agent_deletable(&self, id: AgentId) -> DomainResult<()> {
        let record = self.agent(id)?;
        refuse_if_managed(record.managed, "agent", &id.to_string())
    }

    /// Deletes an agent and revokes its credential.
    pub fn delete_agent(&mut self, id: AgentId) -> DomainResult<AgentRecord> {
        self.check_agent_deletable(id)?;
        let record = self.agents.remove(&id).expect("checked above");
        self.remove_credential(&record.credential);
        self.widgets.revoke(|agent, _| agent == id);
        Ok(record)
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
        // The desk that issued them signed in with the old credential.
        self.widgets.revoke(|agent, _| agent == id);
        Ok(())
    }

    // === presences (rule 13) ===

    /// The configured presences, by id.
    pub fn presences(&self) -> impl Iterator<Item = &Presence> {
        self.presences.values()
    }

    /// The configured presence with this id.
    pub fn presence(&self, id: &str) -> DomainResult<&Presence> {
        self.presences
            .get(&id.to_owned())
            .ok_or_else(|| presence_not_found(id))
    }

    /// The configured presence with this text (how providers name presences).
    pub fn presence_by_text(&self, text: &str) -> DomainResult<&Presence> {
        self.presences
            .values()
            .find(|presence| presence.text == text)
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .presences
                    .values()
                    .map(|p| p.text.as_str())
                    .take(20)
                    .collect();
                DomainError::new(
                    Reason::PresenceNotFound,
                    format!("no configured presence has the text {text:?}; use one of {known:?}"),
                )
                .with("presence_text", text)
            })
    }

    pub fn create_presence(&mut self, presence: Presence) -> DomainResult<Presence> {
        presence.validate()?;
        if self.presences.contains_key(&presence.id) {
            return Err(DomainError::new(
                Reason::PresenceIdTaken,
                format!(
                    "a presence with id {} exists; choose another id",
                    presence.id
                ),
            )
            .with("presence_id", &presence.id));
        }
        self.check_text_free(&presence.text, None)?;
        self.presences.insert(presence.id.clone(), presence.clone());
        Ok(presence)
    }

    fn check_text_free(&self, text: &str, except: Option<&str>) -> DomainResult<()> {
        match self
            .presences
            .values()
            .find(|other| other.text == text && Some(other.id.as_str()) != except)
        {
            Some(other) => Err(DomainError::new(
                Reason::PresenceTextTaken,
                format!("presence {} already has the text {text:?}; texts must be unique, since providers set presence by text", other.id),
            )
            .with("text", text)),
            None => Ok(()),
        }
    }

    pub fn update_presence(&mut self, id: &str, patch: PresencePatch) -> DomainResult<Presence> {
        patch.validate()?;
        let existing = self.presence(id)?;
        refuse_if_managed(existing.managed, "presence", id)?;
        if let Some(text) = &patch.text {
            self.check_text_free(text, Some(id))?;
        }
        let presence = self
            .presences
            .get_mut(&id.to_owned())
            .expect("checked above");
        if let Some(text) = patch.text {
            presence.text = text;
        }
        if let Some(status) = patch.base_status {
            presence.base_status = status;
        }
        if let Some(color) = patch.color {
            presence.color = color;
        }
        Ok(presence.clone())
    }

    pub fn delete_presence(&mut self, id: &str) -> DomainResult<()> {
        if let Some(existing) = self.presences.get(&id.to_owned()) {
            refuse_if_managed(existing.managed, "presence", id)?;
        }
        self.presences
            .remove(&id.to_owned())
            .map(drop)
            .ok_or_else(|| presence_not_found(id))
    }

    // === the configuration file's declarations ===

    /// Makes a declared presence what the file says.
    pub fn declare_presence(&mut self, mut presence: Presence) -> DomainResult<()> {
        presence.managed = true;
        presence.validate()?;
        self.check_text_free(&presence.text, Some(&presence.id))?;
        if self.presences.get(&presence.id) != Some(&presence) {
            self.presences.insert(presence.id.clone(), presence);
        }
        Ok(())
    }

    /// Makes a declared provider what the file says; a new one gets `credential` (which
    /// nobody holds: the operator issues one with RotateProviderCredential).
    pub fn declare_provider(
        &mut self,
        new: NewProvider,
        credential: impl FnOnce() -> CredentialHash,
        now: SystemTime,
    ) -> DomainResult<()> {
        new.validate(&self.urls)?;
        let mut fields = new.fields.clone();
        ProviderPatch::default().apply(&mut fields);
        match self
            .unique_names
            .get(&new.unique_name.to_lowercase())
            .copied()
        {
            Some(id) => {
                let record = &self.providers[&id];
                if record.fields != fields || !record.managed {
                    let record = self.providers.get_mut(&id).expect("found above");
                    (record.fields, record.managed, record.updated) = (fields, true, now);
                }
            }
            None => {
                let id = self.create_provider(new, credential())?.id;
                self.providers.get_mut(&id).expect("just created").managed = true;
            }
        }
        Ok(())
    }

    /// The provider with this unique name (any case).
    pub fn provider_named(&self, unique_name: &str) -> Option<ProviderId> {
        self.unique_names.get(&unique_name.to_lowercase()).copied()
    }

    /// Makes an existing declared agent what the file says. `false` when the agent does not
    /// exist yet (the caller creates it with its desk).
    pub fn declare_existing_agent(
        &mut self,
        id: AgentId,
        display_name: &str,
        profile: &[ProviderId],
        limits: AgentLimits,
        now: SystemTime,
    ) -> bool {
        let Some(record) = self.agents.get(&id) else {
            return false;
        };
        if record.display_name != display_name
            || record.profile != profile
            || record.limits != limits
            || !record.managed
        {
            let record = self.agents.get_mut(&id).expect("found above");
            record.display_name = display_name.to_owned();
            record.profile = profile.to_vec();
            record.limits = limits;
            record.managed = true;
            record.updated = now;
        }
        true
    }

    /// Marks an agent as declared by the file.
    pub fn mark_agent_managed(&mut self, id: AgentId) {
        if let Some(record) = self.agents.get_mut(&id) {
            record.managed = true;
        }
    }

    /// Hands back to AdminService what the file managed before but no longer declares.
    pub fn release_undeclared(
        &mut self,
        presences: &[&str],
        providers: &[&str],
        agents: &[AgentId],
        now: SystemTime,
    ) {
        let released: Vec<String> = self
            .presences
            .values()
            .filter(|p| p.managed && !presences.contains(&p.id.as_str()))
            .map(|p| p.id.clone())
            .collect();
        for id in released {
            self.presences.get_mut(&id).expect("listed above").managed = false;
        }
        let released: Vec<ProviderId> = self
            .providers
            .values()
            .filter(|p| {
                p.managed
                    && !providers
                        .iter()
                        .any(|name| name.eq_ignore_ascii_case(&p.unique_name))
            })
            .map(|p| p.id)
            .collect();
        for id in released {
            let record = self.providers.get_mut(&id).expect("listed above");
            (record.managed, record.updated) = (false, now);
        }
        let released: Vec<AgentId> = self
            .agents
            .values()
            .filter(|a| a.managed && !agents.contains(&a.id))
            .map(|a| a.id)
            .collect();
        for id in released {
            let record = self.agents.get_mut(&id).expect("listed above");
            (record.managed, record.updated) = (false, now);
        }
    }
}

fn presence_not_found(id: &str) -> DomainError {
    DomainError::new(
        Reason::PresenceNotFound,
        format!("presence {id} not found; ListPresences shows the configured ones"),
    )
    .with("presence_id", id)
}
