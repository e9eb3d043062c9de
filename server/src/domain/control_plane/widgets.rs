//! Rule 20, the desk's widgets: every provider the agent admits hosts its widget in the
//! communication panel, and at most one is visible. Both follow from the rest of the state
//! (the registry's admissions and providers, the desk's focus), so a command never sets them;
//! it notes which desks it may have changed, and [`ControlPlane::announce_widgets`] tells
//! each desk whose widgets did change, once per command.

use std::collections::BTreeMap;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId};

use super::ControlPlane;
use crate::domain::desks::{Session, visible_provider};
use crate::domain::events::{EventKind, WidgetProvider, Widgets};
use crate::domain::registry::AdmissionsOf;

/// The desks a command may have changed the widgets of, with when.
#[derive(Debug, Default)]
pub struct WidgetChecks(BTreeMap<AgentId, Check>);

#[derive(Debug, Clone, Copy)]
struct Check {
    time: SystemTime,
    /// The list of providers changed, not only (perhaps) the visible one.
    providers_changed: bool,
}

impl ControlPlane {
    /// The desk's widgets now, if the agent has a desk.
    pub fn widgets(&self, agent: AgentId) -> Option<Widgets> {
        let desk = self.desks.desk(agent)?;
        let admitted = self.available_providers(agent);
        let focused_owner = self.desks.session(desk.focused).and_then(Session::owner);
        let providers = admitted
            .iter()
            .filter_map(|id| self.registry.provider(*id).ok())
            .map(|record| WidgetProvider {
                id: record.id,
                label: record.fields.label.clone(),
                channel_url: record.fields.channel_url.clone(),
                trusted_domain: record.fields.trusted_domain.clone(),
                channel_order: record.fields.channel_order,
                enable_outbound: record.fields.enable_outbound,
            })
            .collect();
        Some(Widgets {
            providers,
            visible: visible_provider(focused_owner, &admitted),
        })
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
        let check = self.effects.widget_checks.0.entry(agent).or_insert(Check {
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
            let Some(widgets) = self.widgets(agent) else {
                continue; // The desk is gone (its agent was deleted).
            };
            let visible_changed = self.desks.show_widget(agent, widgets.visible);
            if visible_changed || check.providers_changed {
                self.emit(agent, check.time, EventKind::DeskWidgetsChanged { widgets });
            }
        }
    }

    /// Works out which widget each desk shows, after the state was restored.
    pub(super) fn settle_visible_widgets(&mut self) {
        for agent in self.desks.agents() {
            let visible = self.widgets(agent).and_then(|widgets| widgets.visible);
            self.desks.show_widget(agent, visible);
        }
    }
}
