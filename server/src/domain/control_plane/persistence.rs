//! The state as records: what the commands since the last call changed ([`Changes`]), and the
//! whole state rebuilt from stored records ([`Records`]) with every index derived again. An
//! agent is stored with its desk, as one record.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::{ControlPlane, Effects, Settings};
use crate::domain::catalogue::{Catalogue, Template};
use crate::domain::desks::{Desk, Desks, Session};
use crate::domain::principal::CredentialHash;
use crate::domain::registry::{AgentRecord, Presence, ProviderRecord, Registry};
use crate::domain::toasts::{Resolution, Toast, ToastKey, Toasts};

/// An agent as stored: its record and its desk.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredAgent {
    #[serde(flatten)]
    pub agent: AgentRecord,
    pub desk: Desk,
}

/// Records changed since the last call: each with its value now, or `None` when removed.
#[derive(Debug, Default)]
pub struct Changes {
    pub providers: Vec<(ProviderId, Option<ProviderRecord>)>,
    pub deleted_providers: Vec<(ProviderId, Option<String>)>,
    pub agents: Vec<(AgentId, Option<StoredAgent>)>,
    pub sessions: Vec<(SessionId, Option<Arc<Session>>)>,
    pub presences: Vec<(String, Option<Presence>)>,
    pub templates: Vec<(String, Option<Template>)>,
    pub toasts: Vec<(ToastKey, Option<Toast>)>,
    pub resolved_toasts: Vec<(ToastKey, Option<(Toast, Resolution)>)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.providers.is_empty()
            && self.deleted_providers.is_empty()
            && self.agents.is_empty()
            && self.sessions.is_empty()
            && self.presences.is_empty()
            && self.templates.is_empty()
            && self.toasts.is_empty()
            && self.resolved_toasts.is_empty()
    }
}

/// Every stored record, as loaded.
#[derive(Debug, Default)]
pub struct Records {
    pub providers: Vec<ProviderRecord>,
    pub deleted_providers: Vec<(ProviderId, String)>,
    pub agents: Vec<StoredAgent>,
    pub sessions: Vec<Session>,
    pub presences: Vec<Presence>,
    pub templates: Vec<Template>,
    pub toasts: Vec<Toast>,
    pub resolved_toasts: Vec<(Toast, Resolution)>,
}

impl ControlPlane {
    /// The records the commands since the last call changed.
    pub fn take_changes(&mut self) -> Changes {
        let registry = self.registry.take_changes();
        let desks = self.desks.take_changes();
        let toasts = self.toasts.take_changes();
        // An agent whose record or desk changed is written whole, as it is now.
        let agents: BTreeSet<AgentId> = registry
            .agents
            .iter()
            .map(|(id, _)| *id)
            .chain(desks.desks.iter().map(|(id, _)| *id))
            .collect();
        let agents = agents
            .into_iter()
            .map(|id| {
                let stored = self.registry.agent(id).ok().and_then(|agent| {
                    Some(StoredAgent {
                        agent: agent.clone(),
                        desk: self.desks.desk(id)?.clone(),
                    })
                });
                (id, stored)
            })
            .collect();
        Changes {
            providers: registry.providers,
            deleted_providers: registry.deleted_providers,
            agents,
            sessions: desks.sessions,
            presences: registry.presences,
            templates: self.catalogue.take_changes(),
            toasts: toasts.pending,
            resolved_toasts: toasts.resolved,
        }
    }

    /// Forgets what the commands since the last call changed, for a state nothing stores:
    /// cheaper than taking copies of the changed records only to drop them.
    pub fn forget_changes(&mut self) {
        self.registry.forget_changes();
        self.desks.forget_changes();
        self.toasts.forget_changes();
        self.catalogue.forget_changes();
    }

    /// The state the records describe. Desks start their grace period at `now`, so desks
    /// reconnecting after a restart lose nothing.
    pub fn restore(
        settings: Settings,
        operator_credential: CredentialHash,
        records: Records,
        now: SystemTime,
    ) -> Self {
        let (agents, desks): (Vec<AgentRecord>, Vec<(AgentId, Desk)>) = records
            .agents
            .into_iter()
            .map(|stored| {
                let id = stored.agent.id;
                (stored.agent, (id, stored.desk))
            })
            .unzip();
        let toasts = Toasts::restore(
            settings.desk_grace,
            settings.resolved_toast_retention,
            records.toasts,
            records.resolved_toasts,
            agents.iter().map(|agent| agent.id),
            now,
        );
        let mut plane = Self {
            registry: Registry::restore(
                operator_credential,
                records.providers,
                records.deleted_providers,
                agents,
                records.presences,
            ),
            desks: Desks::restore(desks, records.sessions),
            toasts,
            catalogue: Catalogue::restore(records.templates),
            settings,
            effects: Effects::default(),
        };
        plane.registry.set_url_policy(plane.settings.urls.clone());
        plane.settle_visible_widgets();
        plane
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::World;
    use super::*;
    use crate::domain::events::EventKind;

    /// Every record a state has, as the store would hold them after writing every change.
    fn keep<K, V>(values: Vec<(K, Option<V>)>) -> Vec<V> {
        values.into_iter().filter_map(|(_, value)| value).collect()
    }

    fn stored(world: &mut World) -> Records {
        let changes = world.plane.take_changes();
        Records {
            providers: keep(changes.providers),
            deleted_providers: changes
                .deleted_providers
                .into_iter()
                .filter_map(|(id, name)| name.map(|name| (id, name)))
                .collect(),
            agents: keep(changes.agents),
            sessions: keep(changes.sessions)
                .into_iter()
                .map(Arc::unwrap_or_clone)
                .collect(),
            presences: keep(changes.presences),
            templates: keep(changes.templates),
            toasts: keep(changes.toasts),
            resolved_toasts: keep(changes.resolved_toasts),
        }
    }

    #[test]
    fn a_restored_desk_knows_its_visible_widget_and_announces_only_changes() {
        let mut world = World::new();
        let chat = world.provider("contoso_chat");
        let agent = world.agent(&[chat]);
        let records = stored(&mut world);
        let mut restored = ControlPlane::restore(
            Settings::default(),
            super::super::tests::hash(0),
            records,
            SystemTime::now(),
        );
        // Home with one provider shows its widget; chat's own session shows the same one.
        assert_eq!(restored.widgets(agent).unwrap().visible, Some(chat));
        let (created, effects) = restored.execute(|plane| {
            plane
                .create_session(chat, super::super::tests::new_session(agent))
                .map(drop)
        });
        created.unwrap();
        assert!(
            effects
                .events
                .iter()
                .all(|event| !matches!(event.kind, EventKind::DeskWidgetsChanged { .. })),
            "nothing changed for the desk's widgets"
        );
    }

    #[test]
    fn a_state_rebuilt_from_its_records_answers_the_same() {
        let mut world = World::new();
        let chat = world.provider("contoso_chat");
        let phone = world.provider("contoso_phone");
        let agent = world.agent(&[]);
        let first = world.session(chat, agent).unwrap();
        let second = world.session(phone, agent).unwrap();
        world.plane.switch_session(agent, first, None).unwrap();
        world.plane.delete_provider(phone).unwrap();
        let credential = world.plane.agent_record(agent).unwrap().credential;
        let records = stored(&mut world);
        assert!(
            world.plane.take_changes().is_empty(),
            "taking changes starts afresh"
        );

        let now = SystemTime::now();
        let restored = ControlPlane::restore(
            Settings::default(),
            super::super::tests::hash(0),
            records,
            now,
        );
        let before = world.plane.desk(agent).unwrap();
        let after = restored.desk(agent).unwrap();
        assert_eq!(after.desk.focused, first);
        assert_eq!(
            after
                .sessions
                .iter()
                .map(|v| (v.session.id, v.focused))
                .collect::<Vec<_>>(),
            before
                .sessions
                .iter()
                .map(|v| (v.session.id, v.focused))
                .collect::<Vec<_>>()
        );
        let orphan = restored.session(second).unwrap();
        assert!(
            orphan.owner.unwrap().deleted,
            "the deleted owner is still named"
        );
        assert!(
            restored
                .authenticate(&credential, crate::domain::Role::Agent, SystemTime::now())
                .is_ok()
        );
        assert!(restored.toasts.online(agent, now), "grace after a restart");
    }
}
