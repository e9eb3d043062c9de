//! Rule 20, the desk's widgets: every provider the agent admits hosts its widget in the
//! communication panel, and at most one is visible. Both follow from the rest of the state
//! (the registry's admissions and providers, the desk's focus), so a command never sets them;
//! it notes which desks it may have changed, and [`ControlPlane::announce_widgets`] tells
//! each desk whose widgets did change, once per command: the whole widgets when its providers
//! changed, only the visible one when the focus moved.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::ControlPlane;
use super::plane::WidgetCheck;
use crate::domain::desks::{Session, visible_provider};
use crate::domain::events::{EventKind, WidgetProvider, Widgets};
use crate::domain::registry::AdmissionsOf;

impl ControlPlane {
    /// The desk's widgets now, if the agent has a desk.
    pub fn widgets(&self, agent: AgentId) -> Option<Widgets> {
        let visible = self.visible_widget(agent)?;
        let providers = self
            .available_providers(agent)
            .iter()
            .filter_map(|id| self.registry.provider(*id).ok())
            .map(|record| WidgetProvider {
                id: record.id,
                label: record.fields.label.clone(),
                channel_url: record.fields.channel_url.clone(),
                trusted_domain: record.fields.trusted_domain.clone(),
                channel_order: record.fields.channel_order,
                enable_outbound: self.outbound_on(agent, record.id),
            })
            .collect();
        Some(Widgets { providers, visible })
    }

    /// The provider whose widget the desk shows now (`None` inside: none), if the agent has a
    /// desk. Cheaper than [`Self::widgets`]: every focus change asks it.
    fn visible_widget(&self, agent: AgentId) -> Option<Option<ProviderId>> {
        let desk = self.desks.desk(agent)?;
        let owner = self.desks.session(desk.focused).and_then(Session::owner);
        let owner_admitted = owner.is_some_and(|owner| self.admits(agent, owner));
        let only_admitted = match owner {
            None => self.registry.only_admitted(agent),
            Some(_) => None,
        };
        Some(visible_provider(owner, owner_admitted, only_admitted))
    }

    /// The focus of the agent's desk moved: the visible widget may have changed.
    pub(super) fn focus_moved(&mut self, agent: AgentId, time: SystemTime) {
        self.note_widgets(agent, time, false);
    }

    /// The agent's providers changed: admitted or no longer, or what the desk shows of one.
    pub(super) fn providers_changed(&mut self, agent: AgentId, time: SystemTime) {
        self.note_widgets(agent, time, true);
    }

    /// Every desk that admits `provider` hosts its widget, which changed.
    pub(super) fn provider_widget_changed(&mut self, provider: ProviderId, time: SystemTime) {
        for (agent, _) in self.admissions(AdmissionsOf::Provider(provider)) {
            self.providers_changed(agent, time);
        }
    }

    fn note_widgets(&mut self, agent: AgentId, time: SystemTime, providers_changed: bool) {
        let check = self
            .effects
            .widget_checks
            .0
            .entry(agent)
            .or_insert(WidgetCheck {
                time,
                providers_changed: false,
            });
        check.time = time;
        check.providers_changed |= providers_changed;
    }

    /// Tells each desk the command changed the widgets of (its providers, or the visible one)
    /// how they are now, after the command's other events.
    pub(super) fn announce_widgets(&mut self) {
        let checks = std::mem::take(&mut self.effects.widget_checks.0);
        for (agent, check) in checks {
            let Some(visible) = self.visible_widget(agent) else {
                continue; // The desk is gone (its agent was deleted).
            };
            let visible_changed = self.desks.show_widget(agent, visible);
            if check.providers_changed {
                if let Some(widgets) = self.widgets(agent) {
                    self.emit(
                        agent,
                        check.time,
                        EventKind::DeskWidgetsChanged {
                            widgets: Box::new(widgets),
                        },
                    );
                }
            } else if visible_changed {
                // Focus moves often: the desk is told only which widget shows now.
                self.emit(
                    agent,
                    check.time,
                    EventKind::VisibleWidgetChanged { visible },
                );
            }
        }
    }

    /// Works out which widget each desk shows, after the state was restored.
    pub(super) fn settle_visible_widgets(&mut self) {
        for agent in self.desks.agents() {
            self.settle_visible_widget(agent);
        }
    }

    /// Records which widget a desk shows without announcing it: a new or restored desk is
    /// read whole.
    pub(super) fn settle_visible_widget(&mut self, agent: AgentId) {
        let visible = self.visible_widget(agent).flatten();
        self.desks.show_widget(agent, visible);
    }
}
