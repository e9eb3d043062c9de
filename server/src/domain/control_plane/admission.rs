//! Rule 18, only while admitted: a provider acts for an agent, sees its work on that agent's
//! desk and hears of it only while the agent admits it. `Registry::admits` is the one
//! predicate; every provider call, every event audience and every provider snapshot asks it.
//! When a registry change flips it (a profile edit, a deactivation, an activation, a
//! deletion), [`ControlPlane::settle_admissions`] applies what follows on each desk.

use std::collections::BTreeSet;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::ControlPlane;
use crate::domain::desks::{Session, SessionKind};
use crate::domain::events::EventKind;
use crate::domain::principal::ProviderCaller;
use crate::domain::registry::AdmissionsOf;
use crate::domain::toasts::Canceller;

impl ControlPlane {
    /// Rules 2, 18 and 21: whether `caller` may see `session`: its own session, or the home
    /// session, on a desk that admits it (a widget: on its own desk only). Anything else looks
    /// missing. A deleted agent's sessions are all closed and stay readable by their owners
    /// (rule 17).
    pub(super) fn provider_sees(&self, caller: ProviderCaller, session: &Session) -> bool {
        let visible_kind = match session.kind {
            SessionKind::Provider(owner) => owner == caller.provider,
            SessionKind::Home => true,
        };
        let desk_gone = self.desks.desk(session.agent).is_none();
        visible_kind
            && caller.reaches(session.agent)
            && (desk_gone || self.admits(session.agent, caller.provider))
    }

    /// The (agent, provider) pairs admitted now among those `of` names.
    pub(super) fn admissions(&self, of: AdmissionsOf) -> BTreeSet<(AgentId, ProviderId)> {
        self.registry.admissions(of)
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
            self.registry
                .revoke_widget_credentials(|a, p| a == agent && p == provider);
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
