//! Click-to-act (CIF outbound): the agent's click on a click-to-act field goes to the active
//! provider when its outbound is on. The provider record's `enable_outbound` is the
//! operator's default; a provider's widget may turn it on or off for one desk (CIF
//! setClickToAct), which the desk keeps.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::ControlPlane;
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::{ClickToAct, EventKind};
use crate::domain::principal::ProviderCaller;
use crate::domain::validate::{Violations, limits};

impl ControlPlane {
    /// Whether `provider` takes click-to-act requests on `agent`'s desk: it is active, and
    /// the desk's own setting for it, or else the provider record's default, says so.
    pub(super) fn outbound_on(&self, agent: AgentId, provider: ProviderId) -> bool {
        let Ok(record) = self.registry.provider(provider) else {
            return false;
        };
        let on_this_desk = self
            .desks
            .desk(agent)
            .and_then(|desk| desk.click_to_act.get(&provider).copied());
        record.active && on_this_desk.unwrap_or(record.fields.enable_outbound)
    }

    /// ClickToAct: to the active provider, if its outbound is on.
    pub fn click_to_act(&mut self, agent: AgentId, click: ClickToAct) -> DomainResult<ProviderId> {
        let mut violations = Violations::new();
        violations.required_text("value", &click.value, limits::CLICK_TO_ACT_VALUE);
        violations.optional_text("name", &click.name, limits::NAME);
        violations.optional_text("format", &click.format, limits::NAME);
        violations.optional_text(
            "entity_logical_name",
            &click.entity_logical_name,
            limits::NAME,
        );
        violations.finish()?;
        self.agent(agent)?;
        let provider = self.require_active_provider(agent)?;
        if !self.outbound_on(agent, provider) {
            return Err(DomainError::new(
                Reason::ClickToActDisabled,
                format!(
                    "the active provider {provider} does not take outbound (click-to-act) requests; an operator can enable outbound on it, or its widget on this desk (setClickToAct)"
                ),
            )
            .with("provider_id", provider));
        }
        self.emit(
            agent,
            SystemTime::now(),
            EventKind::ClickToAct(Box::new(click)),
        );
        Ok(provider)
    }

    /// SetClickToAct by a provider (CIF setClickToAct): on or off for itself on this desk
    /// only. The desk's widgets hear the change (rule 20).
    pub fn provider_set_click_to_act(
        &mut self,
        caller: impl Into<ProviderCaller>,
        agent: AgentId,
        enabled: bool,
    ) -> DomainResult<()> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        self.agent_for_provider(caller, agent)?;
        if self.desks.set_click_to_act(agent, caller.provider, enabled) {
            self.providers_changed(agent, SystemTime::now());
        }
        Ok(())
    }

    /// GetClickToAct by a provider: whether it takes click-to-act requests on this desk.
    pub fn provider_click_to_act(
        &self,
        caller: impl Into<ProviderCaller>,
        agent: AgentId,
    ) -> DomainResult<bool> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        self.agent_for_provider(caller, agent)?;
        Ok(self.outbound_on(agent, caller.provider))
    }
}
