//! Desk-wide state: the communication panel (rule 10), presence (rule 13), click-to-act and
//! custom events (rule 16).

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::ControlPlane;
use crate::domain::desks::{Desk, PanelChange, Session};
use crate::domain::error::{DomainError, DomainResult, Reason};
use crate::domain::events::{CustomEvent, EventKind};
use crate::domain::principal::ProviderCaller;
use crate::domain::registry::{Presence, PresencePatch};
use crate::domain::validate::{Violations, limits};

/// A panel change's value, checked: a width within its range.
fn validate_panel(change: PanelChange) -> DomainResult<()> {
    let mut violations = Violations::new();
    if let PanelChange::Width(width) = change {
        violations.range(
            "width",
            width,
            limits::PANEL_WIDTH_MIN,
            limits::PANEL_WIDTH_MAX,
        );
    }
    violations.finish()
}

/// A custom event's name and payload, checked.
fn validate_custom_event(name: &str, payload: &str) -> DomainResult<()> {
    let mut violations = Violations::new();
    violations.required_text("name", name, limits::EVENT_NAME);
    if payload.len() > limits::EVENT_PAYLOAD_BYTES {
        violations.add(
            "payload",
            Reason::FieldTooLong,
            format!(
                "payload is {} bytes; the limit is {} (16 KiB), send less or a reference to it",
                payload.len(),
                limits::EVENT_PAYLOAD_BYTES
            ),
        );
    }
    violations.finish()
}

impl ControlPlane {
    // === the panel (rule 10) ===

    /// Whether `caller` may set the agent's panel now: one of its sessions has focus, or home
    /// has focus and it is the agent's only provider.
    fn check_panel_owner(&self, caller: ProviderCaller, agent: AgentId) -> DomainResult<()> {
        self.agent(agent)?;
        let desk = self.desks.desk(agent).expect("every agent has a desk");
        if desk.focused == desk.home {
            let providers = self.available_providers(agent);
            if providers == [caller.provider] {
                return Ok(());
            }
            return Err(DomainError::new(
                Reason::HomeSessionModeUnsupported,
                format!(
                    "the home session has focus and agent {agent} has {} providers, so the desk shows no provider's widget there; create your default session (CreateSession), then set the panel",
                    providers.len()
                ),
            )
            .with("agent_id", agent)
            .with("providers", providers.len()));
        }
        if self.desks.session(desk.focused).and_then(Session::owner) == Some(caller.provider) {
            return Ok(());
        }
        Err(DomainError::new(
            Reason::FocusedSessionNotOwned,
            format!(
                "another provider's session has focus on agent {agent}'s desk, so its widget is shown; set the panel while one of your sessions has focus"
            ),
        )
        .with("agent_id", agent))
    }

    pub(super) fn apply_panel(&mut self, agent: AgentId, change: PanelChange) -> &Desk {
        if self.desks.set_panel(agent, change) {
            let kind = match change {
                PanelChange::Mode(mode) => EventKind::PanelModeChanged { mode },
                PanelChange::Width(width) => EventKind::PanelWidthChanged { width },
            };
            self.emit(agent, SystemTime::now(), kind);
        }
        self.desks.desk(agent).expect("checked by the caller")
    }

    /// SetMode / SetWidth by a provider, under rule 10. A provider has no desk version to
    /// expect (rule 19).
    pub fn provider_set_panel(
        &mut self,
        caller: impl Into<ProviderCaller>,
        agent: AgentId,
        change: PanelChange,
        expected_version: Option<u64>,
    ) -> DomainResult<&Desk> {
        let caller: ProviderCaller = caller.into();
        validate_panel(change)?;
        Self::refuse_shared_version("the desk", expected_version)?;
        self.acting_provider(caller.provider)?;
        self.agent_for_provider(caller, agent)?;
        self.check_panel_owner(caller, agent)?;
        Ok(self.apply_panel(agent, change))
    }

    /// SetMode / SetWidth by the agent: at any time.
    pub fn agent_set_panel(
        &mut self,
        agent: AgentId,
        change: PanelChange,
        expected_version: Option<u64>,
    ) -> DomainResult<&Desk> {
        validate_panel(change)?;
        self.agent(agent)?;
        self.check_desk_version(agent, expected_version)?;
        Ok(self.apply_panel(agent, change))
    }

    /// GetMode / GetWidth / GetPresence by a provider of the agent.
    pub fn provider_desk(
        &self,
        caller: impl Into<ProviderCaller>,
        agent: AgentId,
    ) -> DomainResult<&Desk> {
        let caller: ProviderCaller = caller.into();
        self.acting_provider(caller.provider)?;
        self.agent_for_provider(caller, agent)?;
        Ok(self.desks.desk(agent).expect("every agent has a desk"))
    }

    // === presence (rule 13) ===

    /// The configured presences, by id.
    pub fn presences(&self) -> impl Iterator<Item = &Presence> {
        self.registry.presences()
    }

    pub fn create_presence(&mut self, presence: Presence) -> DomainResult<Presence> {
        self.registry.create_presence(presence)
    }

    pub fn update_presence(&mut self, id: &str, patch: PresencePatch) -> DomainResult<Presence> {
        self.registry.update_presence(id, patch)
    }

    pub fn delete_presence(&mut self, id: &str) -> DomainResult<()> {
        self.registry.delete_presence(id)
    }

    fn set_presence(
        &mut self,
        agent: AgentId,
        presence: Presence,
        set_by: Option<ProviderId>,
    ) -> Presence {
        if self.desks.set_presence(agent, &presence) {
            self.emit(
                agent,
                SystemTime::now(),
                EventKind::PresenceChanged {
                    presence: Box::new(presence.clone()),
                    set_by,
                },
            );
        }
        presence
    }

    /// SetPresence by a provider: the text must match a configured presence exactly. A
    /// provider has no desk version to expect (rule 19).
    pub fn provider_set_presence(
        &mut self,
        caller: impl Into<ProviderCaller>,
        agent: AgentId,
        text: &str,
        expected_version: Option<u64>,
    ) -> DomainResult<Presence> {
        let caller: ProviderCaller = caller.into();
        let mut violations = Violations::new();
        violations.required_text("presence_text", text, limits::NAME);
        violations.finish()?;
        Self::refuse_shared_version("the desk", expected_version)?;
        self.acting_provider(caller.provider)?;
        self.agent_for_provider(caller, agent)?;
        let presence = self.registry.presence_by_text(text)?.clone();
        Ok(self.set_presence(agent, presence, Some(caller.provider)))
    }

    /// SetPresence by the agent, by id.
    pub fn agent_set_presence(
        &mut self,
        agent: AgentId,
        id: &str,
        expected_version: Option<u64>,
    ) -> DomainResult<Presence> {
        let mut violations = Violations::new();
        violations.required_text("presence_id", id, limits::NAME);
        violations.finish()?;
        self.agent(agent)?;
        self.check_desk_version(agent, expected_version)?;
        let presence = self.registry.presence(id)?.clone();
        Ok(self.set_presence(agent, presence, None))
    }

    // === click-to-act and custom events (rule 16) ===

    /// The active provider, or why there is none.
    pub(super) fn require_active_provider(&self, agent: AgentId) -> DomainResult<ProviderId> {
        self.active_provider(agent).ok_or_else(|| {
            DomainError::new(
                Reason::NoActiveProvider,
                format!("agent {agent} has no active provider to send this to"),
            )
            .with("agent_id", agent)
        })
    }

    /// RaiseEvent by a provider: to the desk of an agent it may act for.
    pub fn provider_raise_event(
        &mut self,
        caller: impl Into<ProviderCaller>,
        agent: AgentId,
        name: String,
        payload: String,
    ) -> DomainResult<()> {
        let caller: ProviderCaller = caller.into();
        validate_custom_event(&name, &payload)?;
        self.acting_provider(caller.provider)?;
        self.agent_for_provider(caller, agent)?;
        let event = CustomEvent {
            name,
            payload,
            from: Some(caller.provider),
            to: None,
        };
        self.emit(
            agent,
            SystemTime::now(),
            EventKind::CustomEvent(Box::new(event)),
        );
        Ok(())
    }

    /// RaiseEvent by the agent: to the provider it names (one of its providers), else to the
    /// active provider.
    pub fn agent_raise_event(
        &mut self,
        agent: AgentId,
        to: Option<ProviderId>,
        name: String,
        payload: String,
    ) -> DomainResult<ProviderId> {
        validate_custom_event(&name, &payload)?;
        self.agent(agent)?;
        let provider = match to {
            Some(provider) if self.available_providers(agent).contains(&provider) => provider,
            Some(provider) => return Err(DomainError::provider_not_found(provider)),
            None => self.require_active_provider(agent)?,
        };
        let event = CustomEvent {
            name,
            payload,
            from: None,
            to: Some(provider),
        };
        self.emit(
            agent,
            SystemTime::now(),
            EventKind::CustomEvent(Box::new(event)),
        );
        Ok(provider)
    }
}
