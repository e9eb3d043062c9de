//! The state as records: what the commands since the last call changed ([`Changes`]), and the
//! whole state rebuilt from stored records ([`Records`]) with every index derived again.

use std::collections::{BTreeSet, HashMap};
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::{ControlPlane, Effects, Settings};
use crate::domain::agent::AgentRecord;
use crate::domain::catalogue::{Catalogue, Template};
use crate::domain::desk::Session;
use crate::domain::presence::Presence;
use crate::domain::principal::{CredentialHash, Principal};
use crate::domain::provider::ProviderRecord;
use crate::domain::toasts::{Resolution, Toast, ToastKey, Toasts};
use crate::domain::tracked::Tracked;

/// Records changed since the last call: each with its value now, or `None` when removed.
#[derive(Debug, Default)]
pub struct Changes {
    pub providers: Vec<(ProviderId, Option<ProviderRecord>)>,
    pub deleted_providers: Vec<(ProviderId, Option<String>)>,
    pub agents: Vec<(AgentId, Option<AgentRecord>)>,
    pub sessions: Vec<(SessionId, Option<Session>)>,
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
    pub agents: Vec<AgentRecord>,
    pub sessions: Vec<Session>,
    pub presences: Vec<Presence>,
    pub templates: Vec<Template>,
    pub toasts: Vec<Toast>,
    pub resolved_toasts: Vec<(Toast, Resolution)>,
}

fn owned<K: Ord + Clone, V: Clone>(map: &mut Tracked<K, V>) -> Vec<(K, Option<V>)> {
    map.take_touched()
        .into_iter()
        .map(|(key, value)| (key, value.cloned()))
        .collect()
}

impl ControlPlane {
    /// The records the commands since the last call changed.
    pub fn take_changes(&mut self) -> Changes {
        let toasts = self.toasts.take_changes();
        Changes {
            providers: owned(&mut self.providers),
            deleted_providers: owned(&mut self.deleted_provider_names),
            agents: owned(&mut self.agents),
            sessions: owned(&mut self.sessions)
                .into_iter()
                .map(|(id, session)| (id, session.map(|session| *session)))
                .collect(),
            presences: owned(&mut self.presences),
            templates: self.catalogue.take_changes(),
            toasts: toasts.pending,
            resolved_toasts: toasts.resolved,
        }
    }

    /// Forgets what the commands since the last call changed, for a state nothing stores:
    /// cheaper than taking copies of the changed records only to drop them.
    pub fn forget_changes(&mut self) {
        self.providers.forget_touched();
        self.deleted_provider_names.forget_touched();
        self.agents.forget_touched();
        self.sessions.forget_touched();
        self.presences.forget_touched();
        self.catalogue.forget_changes();
        self.toasts.forget_changes();
    }

    /// The state the records describe. Desks start their grace period at `now`, so desks
    /// reconnecting after a restart lose nothing.
    pub fn restore(
        settings: Settings,
        operator_credential: CredentialHash,
        records: Records,
        now: SystemTime,
    ) -> Self {
        let mut plane = ControlPlane::new(settings, operator_credential);
        for provider in &records.providers {
            plane
                .unique_names
                .insert(provider.unique_name.to_lowercase(), provider.id);
            plane.add_credential(provider.credential, Principal::Provider(provider.id));
        }
        for agent in &records.agents {
            plane.add_credential(agent.credential, Principal::Agent(agent.id));
        }
        let mut closed = BTreeSet::new();
        let mut tabs = HashMap::new();
        let mut owned_sessions: HashMap<ProviderId, BTreeSet<SessionId>> = HashMap::new();
        for session in &records.sessions {
            if let Some(owner) = session.owner() {
                owned_sessions.entry(owner).or_default().insert(session.id);
            }
            if let Some(time) = session.closed {
                closed.insert((time, session.id));
            }
            for tab in &session.tabs {
                tabs.insert(tab.id, session.id);
            }
        }
        plane.sessions_by_owner = owned_sessions;
        plane.closed_sessions = closed;
        plane.tab_sessions = tabs;
        plane.providers = Tracked::loaded(records.providers.into_iter().map(|p| (p.id, p)));
        plane.deleted_provider_names = Tracked::loaded(records.deleted_providers);
        plane.toasts = Toasts::restore(
            plane.settings.desk_grace,
            plane.settings.resolved_toast_retention,
            records.toasts,
            records.resolved_toasts,
            records.agents.iter().map(|agent| agent.id),
            now,
        );
        plane.agents = Tracked::loaded(records.agents.into_iter().map(|agent| (agent.id, agent)));
        plane.sessions = Tracked::loaded(records.sessions.into_iter().map(|s| (s.id, Box::new(s))));
        plane.presences = Tracked::loaded(records.presences.into_iter().map(|p| (p.id.clone(), p)));
        plane.catalogue = Catalogue::restore(records.templates);
        plane.effects = Effects::default();
        plane
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::World;
    use super::*;

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
            sessions: keep(changes.sessions),
            presences: keep(changes.presences),
            templates: keep(changes.templates),
            toasts: keep(changes.toasts),
            resolved_toasts: keep(changes.resolved_toasts),
        }
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
        assert_eq!(after.agent.desk.focused, first);
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
                .authenticate(&credential, crate::domain::Role::Agent)
                .is_ok()
        );
        assert!(restored.toasts.online(agent, now), "grace after a restart");
    }
}
