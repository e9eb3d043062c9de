//! The whole control-plane state and every command on it. Commands take the authenticated
//! caller and validated input, check what the caller may see, then the state, then limits, in
//! that order, and either apply completely or change nothing.

mod agent_commands;
mod paging;
mod providers_and_agents;
mod reads;
mod sessions;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

pub use paging::Page;
pub use reads::{DeskView, OwnerView, SessionFilter, SessionView};
pub use sessions::{CanCreate, FocusedSession, NewSession};

use super::agent::{AgentLimits, AgentRecord};
use super::desk::Session;
use super::error::{DomainError, DomainResult, Reason};
use super::events::{Event, EventKind, SessionSnapshot};
use super::principal::{CredentialHash, Principal, Role};
use super::provider::ProviderRecord;

/// Server-wide settings the domain needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Limits of an agent created without its own.
    pub default_limits: AgentLimits,
    /// Closed sessions kept readable; the oldest beyond this are forgotten.
    pub closed_session_retention: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_limits: AgentLimits::default(),
            closed_session_retention: 10_000,
        }
    }
}

/// Every provider, agent, desk and session, and the credentials that name them.
#[derive(Debug)]
pub struct ControlPlane {
    settings: Settings,
    operator_credential: CredentialHash,
    providers: BTreeMap<ProviderId, ProviderRecord>,
    /// Lower-cased unique name -> provider: unique names are unique without regard to case.
    unique_names: HashMap<String, ProviderId>,
    /// Unique names of deleted providers that still own sessions, to show on those sessions.
    deleted_provider_names: HashMap<ProviderId, String>,
    agents: BTreeMap<AgentId, AgentRecord>,
    /// Every session, home sessions included, in creation order (ids are time-ordered).
    sessions: BTreeMap<SessionId, Session>,
    /// Provider sessions by owner, open and closed.
    sessions_by_owner: HashMap<ProviderId, BTreeSet<SessionId>>,
    /// Closed sessions, oldest first, for retention.
    closed_sessions: VecDeque<SessionId>,
    /// Issued credentials by [`CredentialHash::lookup_key`].
    credentials: HashMap<u64, Vec<(CredentialHash, Principal)>>,
    /// What the last command did that others must hear of; see [`ControlPlane::take_effects`].
    effects: Effects,
}

/// What a command did besides changing the state: the events it produced, in order, and the
/// principals whose open streams must end (with why).
#[derive(Debug, Default)]
pub struct Effects {
    pub events: Vec<Event>,
    pub revoked: Vec<(Principal, DomainError)>,
}

impl ControlPlane {
    pub fn new(settings: Settings, operator_credential: CredentialHash) -> Self {
        Self {
            settings,
            operator_credential,
            providers: BTreeMap::new(),
            unique_names: HashMap::new(),
            deleted_provider_names: HashMap::new(),
            agents: BTreeMap::new(),
            sessions: BTreeMap::new(),
            sessions_by_owner: HashMap::new(),
            closed_sessions: VecDeque::new(),
            credentials: HashMap::new(),
            effects: Effects::default(),
        }
    }

    /// The events and revocations of the commands since the last call. The caller appends the
    /// events to the log in the same critical section as the command, so state and log never
    /// disagree. A refused command leaves nothing here.
    pub fn take_effects(&mut self) -> Effects {
        std::mem::take(&mut self.effects)
    }

    fn emit(&mut self, agent: AgentId, time: SystemTime, kind: EventKind) {
        self.effects.events.push(Event { agent, time, kind });
    }

    fn revoke(&mut self, principal: Principal, why: DomainError) {
        self.effects.revoked.push((principal, why));
    }

    /// A session as it is now, owned, for an event.
    fn snapshot(&self, session: SessionId) -> SessionSnapshot {
        let view = self.view(&self.sessions[&session]);
        SessionSnapshot {
            session: view.session.clone(),
            focused: view.focused,
            owner: view.owner.map(|owner| super::events::OwnerSnapshot {
                id: owner.id,
                unique_name: owner.unique_name.to_owned(),
                deleted: owner.deleted,
            }),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    // === authentication ===

    /// Who holds `credential`, if they may call a service for `role`. Unknown or revoked
    /// credentials are UNAUTHENTICATED; another role's credential, or an inactive provider's,
    /// PERMISSION_DENIED.
    pub fn authenticate(&self, credential: &CredentialHash, role: Role) -> DomainResult<Principal> {
        let principal = if credential.matches(&self.operator_credential) {
            Principal::Operator
        } else {
            self.credentials
                .get(&credential.lookup_key())
                .and_then(|candidates| candidates.iter().find(|(hash, _)| hash.matches(credential)))
                .map(|(_, principal)| *principal)
                .ok_or_else(|| {
                    DomainError::new(
                        Reason::CredentialInvalid,
                        "the credential is not valid: it is unknown, was rotated, or its provider or agent was deleted; ask the operator for a current one",
                    )
                })?
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
        if let Principal::Provider(provider) = principal {
            self.acting_provider(provider)?;
        }
        Ok(principal)
    }

    /// The calling provider's record, if it may act now.
    fn acting_provider(&self, provider: ProviderId) -> DomainResult<&ProviderRecord> {
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

    fn add_credential(&mut self, hash: CredentialHash, principal: Principal) {
        self.credentials
            .entry(hash.lookup_key())
            .or_default()
            .push((hash, principal));
    }

    fn remove_credential(&mut self, hash: &CredentialHash) {
        let key = hash.lookup_key();
        if let Some(candidates) = self.credentials.get_mut(&key) {
            candidates.retain(|(stored, _)| !stored.matches(hash));
            if candidates.is_empty() {
                self.credentials.remove(&key);
            }
        }
    }

    // === shared lookups ===

    fn agent(&self, agent: AgentId) -> DomainResult<&AgentRecord> {
        self.agents
            .get(&agent)
            .ok_or_else(|| DomainError::agent_not_found(agent))
    }

    /// The agent, if `provider` may act for it; otherwise the same NOT_FOUND as for an agent
    /// that does not exist.
    fn agent_for_provider(
        &self,
        provider: ProviderId,
        agent: AgentId,
    ) -> DomainResult<&AgentRecord> {
        self.agents
            .get(&agent)
            .filter(|record| record.admits(provider))
            .ok_or_else(|| DomainError::agent_not_found(agent))
    }

    /// Closes an open session now: off its desk, readable until retention forgets it. If it
    /// had focus, focus moves to the most recently focused open session, else home. Emits the
    /// close (and the focus change) for the owner and the agent.
    fn close(&mut self, session: SessionId, now: SystemTime) {
        let record = self.sessions.get_mut(&session).expect("an open session");
        record.closed = Some(now);
        let agent = record.agent;
        let desk = &mut self.agents.get_mut(&agent).expect("its agent").desk;
        desk.open.retain(|id| *id != session);
        desk.focus_history.retain(|id| *id != session);
        let gained = (desk.focused == session).then(|| {
            let next = *desk.focus_history.last().unwrap_or(&desk.home);
            desk.focus(next);
            next
        });
        let closed = self.snapshot(session);
        self.emit(agent, now, EventKind::SessionClosed { session: closed });
        if let Some(next) = gained {
            let gained = self.snapshot(next);
            self.emit(
                agent,
                now,
                EventKind::SessionSwitched {
                    session: gained,
                    focused: true,
                },
            );
        }
        self.closed_sessions.push_back(session);
        self.enforce_retention();
    }

    /// Forgets the oldest closed sessions beyond the retention setting.
    fn enforce_retention(&mut self) {
        while self.closed_sessions.len() > self.settings.closed_session_retention {
            let Some(oldest) = self.closed_sessions.pop_front() else {
                break;
            };
            self.forget_session(oldest);
        }
    }

    fn forget_session(&mut self, session: SessionId) {
        let Some(record) = self.sessions.remove(&session) else {
            return;
        };
        if let Some(owner) = record.owner()
            && let Some(owned) = self.sessions_by_owner.get_mut(&owner)
        {
            owned.remove(&session);
            if owned.is_empty() {
                self.sessions_by_owner.remove(&owner);
                self.deleted_provider_names.remove(&owner);
            }
        }
    }
}

#[cfg(test)]
mod tests;
