//! The state as records: what the commands since the last call changed ([`Changes`]), and the
//! whole state rebuilt from stored records ([`Records`]) with every index derived again. An
//! agent is stored with its desk, as one record.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use cif_sdk::ids::{AgentId, OperatorCredentialId, ProviderId, SessionId};

use super::{ControlPlane, Effects, Settings};
use crate::domain::audit::{AuditEntry, AuditTrail};
use crate::domain::catalogue::{Catalogue, Template};
use crate::domain::desks::{Desk, Desks, Session, contradiction};
use crate::domain::error::DomainError;
use crate::domain::principal::{CredentialHash, Principal};
use crate::domain::registry::Lost;
use crate::domain::registry::{
    AgentRecord, Holder, Issued, OperatorCredentialRecord, Presence, ProviderRecord, Registry,
};
use crate::domain::toasts::{Resolution, Toast, ToastKey, Toasts, toast_contradiction};

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
    pub widget_credentials: Vec<(Holder, Option<Issued>)>,
    pub operator_credentials: Vec<(OperatorCredentialId, Option<OperatorCredentialRecord>)>,
    pub audit_entries: Vec<(uuid::Uuid, Option<AuditEntry>)>,
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
            && self.widget_credentials.is_empty()
            && self.operator_credentials.is_empty()
            && self.audit_entries.is_empty()
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
    pub widget_credentials: Vec<(Holder, Issued)>,
    pub operator_credentials: Vec<OperatorCredentialRecord>,
    pub audit_entries: Vec<AuditEntry>,
}

/// Stored records that contradict each other: what, as the error says.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Damaged(pub String);

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
            widget_credentials: registry.widget_credentials,
            operator_credentials: registry.operator_credentials,
            audit_entries: self.audit.take_changes(),
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

    /// Makes the state what another process's commands made it: a follower applying, in
    /// order, the changes the writer committed. Every index follows; nothing counts as changed
    /// and nothing is announced. Which widget each desk was told is visible is worked out
    /// only when this state starts to take commands ([`ControlPlane::take_over`]). Returns
    /// whose credential no longer works, and why, so their streams end as on the writer.
    pub fn apply(&mut self, changes: Changes) -> Vec<(Principal, DomainError)> {
        let (agents, desks): (Vec<_>, Vec<_>) = changes
            .agents
            .into_iter()
            .map(|(id, stored)| match stored {
                Some(StoredAgent { agent, desk }) => ((id, Some(agent)), (id, Some(desk))),
                None => ((id, None), (id, None)),
            })
            .unzip();
        let lost = self
            .registry
            .apply(crate::domain::registry::RegistryChanges {
                providers: changes.providers,
                deleted_providers: changes.deleted_providers,
                agents,
                presences: changes.presences,
                widget_credentials: changes.widget_credentials,
                operator_credentials: changes.operator_credentials,
            });
        self.desks.apply(crate::domain::desks::DeskChanges {
            desks,
            sessions: changes.sessions,
        });
        self.toasts.apply(crate::domain::toasts::ToastChanges {
            pending: changes.toasts,
            resolved: changes.resolved_toasts,
        });
        self.catalogue.apply(changes.templates);
        self.audit.apply(changes.audit_entries);
        lost.into_iter()
            .map(|(principal, how)| {
                let why = match (how, principal) {
                    (Lost::Deactivated, Principal::Provider(id)) => {
                        self.acting_provider(id).err().unwrap_or_else(|| {
                            super::registry_commands::revoked("the provider was deactivated")
                        })
                    }
                    (Lost::Rotated, _) => {
                        super::registry_commands::revoked("the credential was rotated")
                    }
                    (Lost::Deleted, Principal::Agent(_)) => {
                        super::registry_commands::revoked("the agent was deleted")
                    }
                    (Lost::Deleted, Principal::Operator(_)) => {
                        super::registry_commands::revoked("the operator credential was revoked")
                    }
                    _ => super::registry_commands::revoked("the provider was deleted"),
                };
                (principal, why)
            })
            .collect()
    }

    /// This state starts to take commands after following another process's (a follower
    /// became the writer): every desk starts its grace period at `now` unless a stream of
    /// its desktop is open here, as after a restart, and each desk's visible widget is worked
    /// out again.
    pub fn take_over(&mut self, now: SystemTime) {
        self.toasts
            .start_grace(self.desks.agents().into_iter(), now);
        self.settle_visible_widgets();
    }

    /// The state the records describe. Desks start their grace period at `now`, so desks
    /// reconnecting after a restart lose nothing. Records that contradict each other (a
    /// damaged database) are refused, naming the first contradiction.
    pub fn restore(
        settings: Settings,
        operator_credential: CredentialHash,
        records: Records,
        now: SystemTime,
    ) -> Result<Self, Damaged> {
        let (agents, desks): (Vec<AgentRecord>, Vec<(AgentId, Desk)>) = records
            .agents
            .into_iter()
            .map(|stored| {
                let id = stored.agent.id;
                (stored.agent, (id, stored.desk))
            })
            .unzip();
        let stored_agents = agents.iter().map(|agent| agent.id).collect();
        if let Some(contradiction) = contradiction(&desks, &records.sessions).or_else(|| {
            toast_contradiction(&records.toasts, &records.resolved_toasts, &stored_agents)
        }) {
            return Err(Damaged(contradiction));
        }
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
                records.widget_credentials,
                records.operator_credentials,
            ),
            desks: Desks::restore(desks, records.sessions),
            toasts,
            catalogue: Catalogue::restore(records.templates),
            audit: AuditTrail::loaded(records.audit_entries),
            settings,
            effects: Effects::default(),
        };
        plane.registry.set_url_policy(plane.settings.urls.clone());
        plane.settle_visible_widgets();
        Ok(plane)
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
            widget_credentials: changes
                .widget_credentials
                .into_iter()
                .filter_map(|(holder, issued)| issued.map(|issued| (holder, issued)))
                .collect(),
            operator_credentials: keep(changes.operator_credentials),
            audit_entries: keep(changes.audit_entries),
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
        )
        .expect("consistent records");
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
        )
        .expect("consistent records");
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

    /// What a follower and the writer must agree on: every desk as its agent sees it, who each
    /// credential is, every provider's sessions, and when the next toast ends.
    fn observed(
        plane: &ControlPlane,
        agents: &[AgentId],
        providers: &[ProviderId],
        credentials: &[CredentialHash],
    ) -> String {
        let desks: Vec<String> = agents
            .iter()
            .map(|agent| format!("{:?}", plane.desk(*agent).map(|view| view.sessions.len())))
            .chain(agents.iter().map(|agent| {
                let view = plane.desk(*agent).unwrap();
                let sessions: Vec<String> = view
                    .sessions
                    .iter()
                    .map(|s| format!("{:?} {} {:?}", s.session, s.focused, s.session.tabs))
                    .collect();
                format!("{:?} {sessions:?}", view.desk)
            }))
            .collect();
        let principals: Vec<String> = credentials
            .iter()
            .map(|credential| {
                [
                    crate::domain::Role::Provider,
                    crate::domain::Role::Agent,
                    crate::domain::Role::Operator,
                ]
                .map(|role| {
                    format!(
                        "{:?}",
                        plane.authenticate(credential, role, SystemTime::now())
                    )
                })
                .join(" ")
            })
            .collect();
        let owned: Vec<Vec<SessionId>> = providers
            .iter()
            .map(|provider| {
                plane
                    .desks
                    .owned_after(*provider, None)
                    .map(|s| s.id)
                    .collect()
            })
            .collect();
        let audited = plane
            .audit_entries(&crate::domain::audit::AuditFilter::default(), None, 100)
            .items;
        format!(
            "{desks:?}\n{principals:?}\n{owned:?}\n{:?}\n{audited:?}",
            plane.next_toast_deadline()
        )
    }

    /// The kinds of events a command made, in order, with their desk.
    fn kinds(effects: crate::domain::control_plane::Effects) -> Vec<String> {
        effects
            .events
            .iter()
            .map(|event| {
                let kind = format!("{:?}", event.kind);
                let name = kind
                    .split([' ', '{', '('])
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                format!("{} {name}", event.agent)
            })
            .collect()
    }

    #[test]
    fn a_follower_applying_the_writers_changes_answers_and_goes_on_as_the_writer_would() {
        let mut world = World::new();
        let chat = world.provider("contoso_chat");
        let phone = world.provider("contoso_phone");
        let agent = world.agent(&[chat, phone]);
        let other = world.agent(&[chat]);
        let now = SystemTime::now();
        world.plane.desk_connected(agent, now);
        let mut follower = ControlPlane::restore(
            Settings::default(),
            super::super::tests::hash(0),
            stored(&mut world),
            now,
        )
        .expect("consistent records");
        follower.desk_connected(agent, now);
        follower.forget_changes();
        let _ = world.plane.take_effects();

        let mut credentials = vec![
            world.plane.agent_record(agent).unwrap().credential,
            world.plane.agent_record(other).unwrap().credential,
            world.plane.registry.provider(chat).unwrap().credential,
            world.plane.registry.provider(phone).unwrap().credential,
        ];
        // As the writer runs them: each command, then the changes it made, to the follower.
        let follow =
            |world: &mut World,
             follower: &mut ControlPlane,
             command: &dyn Fn(&mut ControlPlane) -> crate::domain::DomainResult<()>| {
                let (result, _) = world.plane.execute(command);
                result.unwrap();
                follower.apply(world.plane.take_changes());
            };
        let (first, second, third) = (
            world.session(chat, agent).unwrap(),
            world.session(phone, agent).unwrap(),
            world.session(chat, other).unwrap(),
        );
        follower.apply(world.plane.take_changes());
        let _ = world.plane.take_effects();
        follow(&mut world, &mut follower, &|plane| {
            for (provider, countdown) in [(phone, 60), (chat, 30)] {
                let toast = super::super::desk_tests::toast(agent, Some(countdown));
                plane.raise_toast(provider, toast, now)?;
            }
            Ok(())
        });
        follow(&mut world, &mut follower, &|plane| {
            plane.switch_session(agent, first, None)?;
            plane.close_session_as_agent(other, third, None).map(drop)
        });
        // Widget credentials (rule 21): one the rotation below revokes, one that stays.
        let (revoked_widget, widget) = (world.credential(), world.credential());
        follow(&mut world, &mut follower, &|plane| {
            plane
                .issue_widget_credential(other, chat, revoked_widget, now)
                .map(drop)
        });
        let rotated = world.credential();
        follow(&mut world, &mut follower, &|plane| {
            plane.rotate_provider_credential(chat, rotated).map(drop)
        });
        credentials.push(rotated);
        follow(&mut world, &mut follower, &|plane| {
            plane.delete_provider(phone)
        });
        follow(&mut world, &mut follower, &|plane| {
            plane
                .issue_widget_credential(agent, chat, widget, now)
                .map(drop)
        });
        credentials.extend([revoked_widget, widget]);
        // Operator credentials: one revoked, one that stays.
        let (revoked_operator, operator) = (world.credential(), world.credential());
        let mut revoked_id = None;
        for hash in [revoked_operator, operator] {
            let created = world
                .plane
                .execute(|plane| plane.create_operator_credential("ops".into(), hash, now));
            revoked_id.get_or_insert(created.0.unwrap().id);
            follower.apply(world.plane.take_changes());
        }
        follow(&mut world, &mut follower, &|plane| {
            plane.revoke_operator_credential(revoked_id.unwrap())
        });
        credentials.extend([revoked_operator, operator]);
        // Audit entries.
        follow(&mut world, &mut follower, &|plane| {
            plane.audit(
                now,
                "operator".into(),
                "UpdateAgent",
                format!("agents/{agent}"),
                None,
                None,
            );
            Ok(())
        });

        let agents = [agent, other];
        let providers = [chat, phone];
        assert_eq!(
            observed(&follower, &agents, &providers, &credentials),
            observed(&world.plane, &agents, &providers, &credentials)
        );
        assert!(
            follower.take_changes().is_empty(),
            "applying changes nothing to store"
        );
        assert!(
            follower.take_effects().events.is_empty(),
            "applying announces nothing"
        );

        // Taking over, the follower goes on exactly as the writer does.
        follower.take_over(now);
        let later = now + std::time::Duration::from_secs(3600);
        let on_both = |plane: &mut ControlPlane| {
            let (result, effects) = plane.execute(|plane| {
                plane.expire_toasts(later);
                plane.switch_session(agent, second, None).map(drop)?;
                plane.close_session_as_agent(agent, first, None).map(drop)
            });
            (format!("{result:?}"), kinds(effects))
        };
        let (writer, taken_over) = (on_both(&mut world.plane), on_both(&mut follower));
        assert!(
            !writer.1.is_empty(),
            "the commands did something: {writer:?}"
        );
        assert_eq!(taken_over, writer);
        assert_eq!(
            observed(&follower, &agents, &providers, &credentials),
            observed(&world.plane, &agents, &providers, &credentials)
        );
    }
}
