//! Rule 18, only while admitted: a provider acts for an agent, sees its work on that agent's
//! desk and hears of it only while the agent admits it. [`ControlPlane::admits`] is the one
//! predicate; every provider call, every event audience and every provider snapshot asks it.
//! When a registry change flips it (a profile edit, a deactivation, an activation, a
//! deletion), [`ControlPlane::settle_admissions`] applies what follows on each desk.

use std::collections::BTreeSet;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::ControlPlane;
use crate::domain::desk::{Session, SessionKind};
use crate::domain::events::EventKind;
use crate::domain::toasts::Canceller;

/// Whose admissions a registry change may flip.
#[derive(Debug, Clone, Copy)]
pub(super) enum AdmissionsOf {
    /// One agent's: its profile changed.
    Agent(AgentId),
    /// One provider's on every desk: it was activated, deactivated or deleted.
    Provider(ProviderId),
}

impl ControlPlane {
    /// Rule 18: whether `agent` admits `provider` now: the provider exists and is active, and
    /// the agent's profile names it (or is empty).
    pub fn admits(&self, agent: AgentId, provider: ProviderId) -> bool {
        self.providers
            .get(&provider)
            .is_some_and(|record| record.active)
            && self
                .agents
                .get(&agent)
                .is_some_and(|record| record.profile_includes(provider))
    }

    /// Rules 2 and 18: whether `caller` may see `session`: its own session, or the home
    /// session, on a desk that admits it. Anything else looks missing. A deleted agent's
    /// sessions are all closed and stay readable by their owners (rule 17).
    pub(super) fn provider_sees(&self, caller: ProviderId, session: &Session) -> bool {
        let visible_kind = match session.kind {
            SessionKind::Provider(owner) => owner == caller,
            SessionKind::Home => true,
        };
        let desk_gone = !self.agents.contains_key(&session.agent);
        visible_kind && (desk_gone || self.admits(session.agent, caller))
    }

    /// The (agent, provider) pairs admitted now among those `of` names.
    pub(super) fn admissions(&self, of: AdmissionsOf) -> BTreeSet<(AgentId, ProviderId)> {
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

    /// What follows a registry change, given the admissions before it. On each desk that no
    /// longer admits a provider: its pending toasts there end as cancelled (it still hears
    /// the outcome), and the desk hears the owner is no longer admitted (its sessions stay
    /// for the agent to close; its streams end if they follow only named desks and this is
    /// one). On each desk that admits it again: the desk hears so, and the provider's
    /// streams end telling it to resynchronise, since they missed what happened meanwhile.
    pub(super) fn settle_admissions(
        &mut self,
        before: BTreeSet<(AgentId, ProviderId)>,
        of: AdmissionsOf,
        now: SystemTime,
    ) {
        let after = self.admissions(of);
        for &(agent, provider) in before.difference(&after) {
            self.cancel_toasts(Canceller::ProviderNotAdmitted, now, Some(agent), |toast| {
                toast.key.provider == provider
            });
            self.emit(
                agent,
                now,
                EventKind::ProviderAdmissionChanged {
                    provider,
                    admitted: false,
                },
            );
        }
        for &(agent, provider) in after.difference(&before) {
            self.emit(
                agent,
                now,
                EventKind::ProviderAdmissionChanged {
                    provider,
                    admitted: true,
                },
            );
        }
    }
}
