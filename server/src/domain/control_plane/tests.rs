//! The rules of this slice, tested on the domain alone (no network).

use std::collections::BTreeMap;

use cif_sdk::ids::{AgentId, ProviderId, SessionId};

use super::session_commands::CanCreate;
use super::*;
use crate::domain::registry::{AgentPatch, LimitsPatch, NewAgent};
use crate::domain::registry::{NewProvider, ProviderFields, ProviderPatch};
use crate::domain::{CredentialHash, DomainResult, Principal, Reason};
use crate::domain::{ErrorClass, Role};

pub(super) fn hash(seed: u8) -> CredentialHash {
    CredentialHash([seed; 32])
}

pub(super) struct World {
    pub(super) plane: ControlPlane,
    next_credential: u8,
}

impl World {
    pub(super) fn new() -> Self {
        Self {
            plane: ControlPlane::new(Settings::default(), hash(0)),
            next_credential: 1,
        }
    }

    pub(super) fn credential(&mut self) -> CredentialHash {
        self.next_credential += 1;
        hash(self.next_credential)
    }

    pub(super) fn provider(&mut self, unique_name: &str) -> ProviderId {
        let credential = self.credential();
        self.plane
            .create_provider(new_provider(unique_name), credential)
            .unwrap()
            .id
    }

    pub(super) fn agent(&mut self, profile: &[ProviderId]) -> AgentId {
        let credential = self.credential();
        self.plane
            .create_agent(
                NewAgent {
                    display_name: "Ada".into(),
                    profile: profile.to_vec(),
                    limits: LimitsPatch::default(),
                },
                credential,
            )
            .unwrap()
            .id
    }

    pub(super) fn session(
        &mut self,
        provider: ProviderId,
        agent: AgentId,
    ) -> DomainResult<SessionId> {
        self.plane
            .create_session(provider, new_session(agent))
            .map(|view| view.session.id)
    }
}

pub(super) fn new_provider(unique_name: &str) -> NewProvider {
    NewProvider {
        unique_name: unique_name.into(),
        active: true,
        fields: ProviderFields {
            display_name: "Contoso".into(),
            label: "Phone".into(),
            channel_url: "https://phone.contoso.com/".into(),
            enable_outbound: false,
            channel_order: 0,
            api_version: String::new(),
            trusted_domain: String::new(),
            custom_parameters: String::new(),
            enable_analytics: false,
        },
    }
}

pub(super) fn new_session(agent: AgentId) -> NewSession {
    NewSession {
        agent,
        template: String::new(),
        title: "Call from +1 555 0100".into(),
        parameters: BTreeMap::new(),
        context: BTreeMap::from([("customerName".into(), "Maria".into())]),
        tab_parameters: BTreeMap::new(),
    }
}

pub(super) fn reason<T: std::fmt::Debug>(result: DomainResult<T>) -> Reason {
    result.expect_err("expected a refusal").reason
}

#[test]
fn rule_1_the_creating_provider_owns_the_session() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let session = world.session(chat, agent).unwrap();
    let view = world.plane.provider_session(chat, session).unwrap();
    assert_eq!(view.session.owner(), Some(chat));
    assert_eq!(view.owner.unwrap().unique_name, "contoso_chat");
}

#[test]
fn rule_2_another_providers_session_looks_missing() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let session = world.session(chat, agent).unwrap();

    let foreign = world.plane.provider_session(phone, session).unwrap_err();
    let missing = world
        .plane
        .provider_session(phone, SessionId::generate())
        .unwrap_err();
    assert_eq!(foreign.reason, Reason::SessionNotFound);
    assert_eq!(missing.reason, Reason::SessionNotFound);
    // Same message shape: only the id the caller gave differs.
    assert_eq!(
        foreign.message.replace(&session.to_string(), "ID"),
        missing.message.replace(&missing.metadata[0].1, "ID")
    );

    let listed = world
        .plane
        .provider_sessions(phone, None, true, None, 100)
        .unwrap();
    assert!(
        listed.items.is_empty(),
        "phone lists none of chat's sessions"
    );
    let listed = world
        .plane
        .provider_sessions(chat, Some(agent), false, None, 100)
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

#[test]
fn rule_2_focus_is_reported_only_when_own_or_home() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let home = world.plane.desk(agent).unwrap().desk.home;
    assert_eq!(
        world.plane.focused_session(phone, agent).unwrap(),
        FocusedSession::Home(home)
    );
    let session = world.session(chat, agent).unwrap();
    assert_eq!(
        world.plane.focused_session(chat, agent).unwrap(),
        FocusedSession::Own(session)
    );
    assert_eq!(
        world.plane.focused_session(phone, agent).unwrap(),
        FocusedSession::Elsewhere
    );
    // The home session is readable by any provider of the agent.
    assert!(world.plane.provider_session(phone, home).is_ok());
}

#[test]
fn agents_outside_the_profile_look_missing() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[chat]);
    assert_eq!(reason(world.session(phone, agent)), Reason::AgentNotFound);
    assert_eq!(
        reason(world.session(phone, AgentId::generate())),
        Reason::AgentNotFound
    );
    assert_eq!(
        reason(world.plane.can_create_session(phone, agent)),
        Reason::AgentNotFound
    );
    assert_eq!(
        reason(world.plane.focused_session(phone, agent)),
        Reason::AgentNotFound
    );
    assert!(world.session(chat, agent).is_ok());
}

#[test]
fn rule_5_the_session_limit_counts_open_sessions_only() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    for created in 0..10 {
        let room = world.plane.can_create_session(chat, agent).unwrap();
        assert_eq!(
            room,
            CanCreate {
                remaining: 10 - created,
                limit: 10
            }
        );
        world.session(chat, agent).unwrap();
    }
    assert_eq!(
        world
            .plane
            .can_create_session(chat, agent)
            .unwrap()
            .remaining,
        0
    );
    let refused = world.session(chat, agent).unwrap_err();
    assert_eq!(refused.reason, Reason::SessionLimitReached);
    assert_eq!(refused.class(), ErrorClass::ResourceExhausted);
    assert_eq!(
        world.plane.desk(agent).unwrap().sessions.len(),
        10,
        "nothing half-applied"
    );

    let raised = AgentPatch {
        limits: LimitsPatch {
            max_open_sessions: Some(11),
            ..Default::default()
        },
        ..Default::default()
    };
    world.plane.update_agent(agent, raised).unwrap();
    assert!(world.session(chat, agent).is_ok());
}

#[test]
fn rule_6_a_new_session_takes_focus() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let first = world.session(chat, agent).unwrap();
    let second = world.session(phone, agent).unwrap();
    let desk = world.plane.desk(agent).unwrap();
    assert_eq!(desk.desk.focused, second);
    let order: Vec<_> = desk.sessions.iter().map(|view| view.session.id).collect();
    assert_eq!(order, [first, second], "sessions in creation order");
    assert!(desk.sessions[1].focused && !desk.sessions[0].focused && !desk.home.focused);
}

#[test]
fn rule_17_an_inactive_provider_is_refused_and_its_sessions_stay() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let session = world.session(chat, agent).unwrap();
    let credential = world.plane.provider(chat).unwrap().credential;
    world.plane.set_provider_active(chat, false).unwrap();

    assert_eq!(
        reason(
            world
                .plane
                .authenticate(&credential, Role::Provider, std::time::SystemTime::now())
        ),
        Reason::ProviderInactive
    );
    assert_eq!(reason(world.session(chat, agent)), Reason::ProviderInactive);
    assert_eq!(
        world.plane.desk(agent).unwrap().sessions[0].session.id,
        session
    );

    world.plane.set_provider_active(chat, true).unwrap();
    assert!(
        world
            .plane
            .authenticate(&credential, Role::Provider, std::time::SystemTime::now())
            .is_ok()
    );
}

#[test]
fn rule_17_deleting_a_provider_revokes_it_and_marks_its_sessions() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[chat]);
    let session = world.session(chat, agent).unwrap();
    let credential = world.plane.provider(chat).unwrap().credential;
    world.plane.delete_provider(chat).unwrap();

    assert_eq!(
        reason(
            world
                .plane
                .authenticate(&credential, Role::Provider, std::time::SystemTime::now())
        ),
        Reason::CredentialInvalid
    );
    let view = world.plane.session(session).unwrap();
    let owner = view.owner.unwrap();
    assert!(owner.deleted);
    assert_eq!(owner.unique_name, "contoso_chat");
    // The profile still names the deleted provider, so it does not widen to every provider.
    assert_eq!(world.plane.agent_record(agent).unwrap().profile, [chat]);
    // The unique name is free again.
    world.provider("contoso_chat");
}

#[test]
fn rule_17_deleting_an_agent_with_sessions_needs_force() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let session = world.session(chat, agent).unwrap();
    let credential = world.plane.agent_record(agent).unwrap().credential;

    assert_eq!(
        reason(world.plane.delete_agent(agent, false)),
        Reason::AgentHasOpenSessions
    );
    assert!(
        world.plane.desk(agent).is_ok(),
        "a refused delete changes nothing"
    );

    assert_eq!(world.plane.delete_agent(agent, true).unwrap(), [session]);
    assert_eq!(
        reason(
            world
                .plane
                .authenticate(&credential, Role::Agent, std::time::SystemTime::now())
        ),
        Reason::CredentialInvalid
    );
    assert_eq!(reason(world.plane.desk(agent)), Reason::AgentNotFound);
    let closed = world.plane.provider_session(chat, session).unwrap();
    assert!(
        !closed.session.is_open(),
        "a closed session stays readable by its owner"
    );
    let open_only = world
        .plane
        .provider_sessions(chat, None, false, None, 10)
        .unwrap();
    assert!(open_only.items.is_empty());
}

#[test]
fn closed_sessions_are_forgotten_after_the_retention_period() {
    let mut world = World::new();
    world.plane.settings.closed_session_retention = std::time::Duration::from_secs(3600);
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let session = world.session(chat, agent).unwrap();
    world.plane.delete_agent(agent, true).unwrap();
    let now = std::time::SystemTime::now();
    world
        .plane
        .forget_expired_sessions(now + std::time::Duration::from_secs(1800));
    assert!(
        world.plane.provider_session(chat, session).is_ok(),
        "still within 1 h"
    );
    world
        .plane
        .forget_expired_sessions(now + std::time::Duration::from_secs(3601));
    assert_eq!(
        reason(world.plane.provider_session(chat, session)),
        Reason::SessionNotFound
    );
}

#[test]
fn credentials_authenticate_for_their_own_role_only() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let provider_credential = world.plane.provider(chat).unwrap().credential;
    let agent_credential = world.plane.agent_record(agent).unwrap().credential;

    assert_eq!(
        world
            .plane
            .authenticate(&hash(0), Role::Operator, std::time::SystemTime::now())
            .unwrap(),
        Principal::Operator(crate::domain::Operator::Configured)
    );
    assert_eq!(
        world
            .plane
            .authenticate(
                &provider_credential,
                Role::Provider,
                std::time::SystemTime::now()
            )
            .unwrap(),
        Principal::Provider(chat)
    );
    assert_eq!(
        reason(world.plane.authenticate(
            &provider_credential,
            Role::Agent,
            std::time::SystemTime::now()
        )),
        Reason::RoleNotAllowed
    );
    assert_eq!(
        reason(world.plane.authenticate(
            &agent_credential,
            Role::Provider,
            std::time::SystemTime::now()
        )),
        Reason::RoleNotAllowed
    );
    assert_eq!(
        reason(
            world
                .plane
                .authenticate(&hash(0), Role::Agent, std::time::SystemTime::now())
        ),
        Reason::RoleNotAllowed
    );
    assert_eq!(
        reason(
            world
                .plane
                .authenticate(&hash(200), Role::Provider, std::time::SystemTime::now())
        ),
        Reason::CredentialInvalid
    );
}

#[test]
fn rotation_revokes_the_old_credential_at_once() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let old = world.plane.provider(chat).unwrap().credential;
    let new = world.credential();
    world.plane.rotate_provider_credential(chat, new).unwrap();
    assert_eq!(
        reason(
            world
                .plane
                .authenticate(&old, Role::Provider, std::time::SystemTime::now())
        ),
        Reason::CredentialInvalid
    );
    assert!(
        world
            .plane
            .authenticate(&new, Role::Provider, std::time::SystemTime::now())
            .is_ok()
    );
}

#[test]
fn unique_names_are_unique_regardless_of_case() {
    let mut world = World::new();
    world.provider("contoso_chat");
    let credential = world.credential();
    let taken = world
        .plane
        .create_provider(new_provider("Contoso_Chat"), credential);
    assert_eq!(reason(taken), Reason::UniqueNameTaken);
}

#[test]
fn malformed_input_is_refused_before_anything_is_looked_up() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    // An unknown agent and a bad title: the bad title answers, since it needs no lookup.
    let mut bad = new_session(AgentId::generate());
    bad.title = "x".repeat(201);
    assert_eq!(
        reason(world.plane.create_session(chat, bad)),
        Reason::FieldTooLong
    );
    // A bad patch for a missing provider: the patch answers.
    let patch = ProviderPatch {
        channel_url: Some("http://insecure.example.com".into()),
        ..Default::default()
    };
    assert_eq!(
        reason(world.plane.update_provider(ProviderId::generate(), patch)),
        Reason::FieldMalformed
    );
}

#[test]
fn profiles_name_existing_providers_only() {
    let mut world = World::new();
    let credential = world.credential();
    let unknown = ProviderId::generate();
    let refused = world.plane.create_agent(
        NewAgent {
            display_name: "Ada".into(),
            profile: vec![unknown],
            limits: LimitsPatch::default(),
        },
        credential,
    );
    assert_eq!(reason(refused), Reason::ProviderNotFound);
}

#[test]
fn updates_change_only_what_they_name() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let patch = ProviderPatch {
        label: Some("Chat".into()),
        channel_order: Some(5),
        ..Default::default()
    };
    let updated = world.plane.update_provider(chat, patch).unwrap();
    assert_eq!(updated.fields.label, "Chat");
    assert_eq!(updated.fields.channel_order, 5);
    assert_eq!(updated.fields.display_name, "Contoso");
    assert_eq!(updated.fields.api_version, "2");
}

// === events (rules 6, 8, 9, 11) ===

use crate::domain::events::{EventKind, Scope};

/// The events of the commands since the last call, as (session, what, focused).
fn events(world: &mut World) -> Vec<(SessionId, &'static str, bool)> {
    world
        .plane
        .take_effects()
        .events
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::SessionCreated { session } => {
                Some((session.session.id, "created", session.focused))
            }
            EventKind::SessionSwitched { session, focused } => {
                Some((session.session.id, "switched", focused))
            }
            EventKind::SessionClosed { session } => {
                Some((session.session.id, "closed", session.focused))
            }
            EventKind::SessionMarksChanged { session } => {
                Some((session.session.id, "marks", session.focused))
            }
            // Which widget shows follows the focus: rule 20's own tests check it.
            EventKind::DeskWidgetsChanged { .. } | EventKind::VisibleWidgetChanged { .. } => None,
            other => panic!("not a session event: {other:?}"),
        })
        .collect()
}

pub(super) fn home(world: &World, agent: AgentId) -> SessionId {
    world.plane.desk(agent).unwrap().desk.home
}

#[test]
fn rule_6_creating_tells_the_previous_owner_it_lost_focus() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let home = home(&world, agent);
    let first = world.session(chat, agent).unwrap();
    assert_eq!(
        events(&mut world),
        [(home, "switched", false), (first, "created", true)]
    );
    let second = world.session(phone, agent).unwrap();
    assert_eq!(
        events(&mut world),
        [(first, "switched", false), (second, "created", true)]
    );
}

#[test]
fn rule_8_a_switch_tells_both_owners_with_context() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let first = world.session(chat, agent).unwrap();
    let second = world.session(phone, agent).unwrap();
    world.plane.take_effects();
    world.plane.switch_session(agent, first, None).unwrap();
    let effects = world.plane.take_effects();
    assert_eq!(effects.events.len(), 3);
    let owners: Vec<_> = effects
        .events
        .iter()
        .map(|event| event.providers.first().copied())
        .collect();
    // Then the desk hears chat's widget shows instead of phone's (rule 20), no provider does.
    assert_eq!(owners, [Some(phone), Some(chat), None]);
    assert!(matches!(
        &effects.events[2].kind,
        EventKind::VisibleWidgetChanged { visible } if *visible == Some(chat)
    ));
    let EventKind::SessionSwitched { session, focused } = &effects.events[1].kind else {
        panic!("a switch");
    };
    assert!(*focused);
    assert_eq!(
        session
            .session
            .context
            .get("customerName")
            .map(|value| value.as_str()),
        Some("Maria"),
        "with the context"
    );
    let EventKind::SessionSwitched { session, focused } = &effects.events[0].kind else {
        panic!("a switch");
    };
    assert_eq!((session.session.id, *focused), (second, false));

    // Switching to the focused session changes nothing; home is a target too.
    world.plane.switch_session(agent, first, None).unwrap();
    assert!(events(&mut world).is_empty());
    let home = home(&world, agent);
    world.plane.switch_session(agent, home, None).unwrap();
    assert_eq!(
        events(&mut world),
        [(first, "switched", false), (home, "switched", true)]
    );
}

#[test]
fn rule_9_closing_moves_focus_to_the_most_recently_focused_open_session() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let a = world.session(chat, agent).unwrap();
    let b = world.session(chat, agent).unwrap();
    let c = world.session(chat, agent).unwrap();
    world.plane.switch_session(agent, a, None).unwrap();
    world.plane.switch_session(agent, c, None).unwrap();
    world.plane.take_effects();
    // Focus history: b, a, c. Closing c goes back to a, not to b (created later than a).
    world.plane.close_session_as_agent(agent, c, None).unwrap();
    assert_eq!(
        events(&mut world),
        [(c, "closed", false), (a, "switched", true)]
    );
    // Closing an unfocused session moves nothing.
    world.plane.close_session_as_agent(agent, b, None).unwrap();
    assert_eq!(events(&mut world), [(b, "closed", false)]);
    world.plane.close_session_as_agent(agent, a, None).unwrap();
    let home = home(&world, agent);
    assert_eq!(
        events(&mut world),
        [(a, "closed", false), (home, "switched", true)]
    );
    assert!(world.plane.desk(agent).unwrap().sessions.is_empty());
}

#[test]
fn rule_9_home_cannot_be_closed_and_closed_sessions_cannot_be_used() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let other_agent = world.agent(&[]);
    let session = world.session(chat, agent).unwrap();
    let home = home(&world, agent);
    assert_eq!(
        reason(world.plane.close_session_as_agent(agent, home, None)),
        Reason::HomeSessionNotClosable
    );
    world
        .plane
        .close_session_as_agent(agent, session, None)
        .unwrap();
    assert_eq!(
        reason(world.plane.close_session_as_agent(agent, session, None)),
        Reason::SessionNotOpen
    );
    assert_eq!(
        reason(world.plane.switch_session(agent, session, None)),
        Reason::SessionNotOpen
    );
    // Another agent's session is not this agent's business.
    let theirs = world.session(chat, other_agent).unwrap();
    world.plane.take_effects();
    assert_eq!(
        reason(world.plane.switch_session(agent, theirs, None)),
        Reason::SessionNotFound
    );
    assert_eq!(
        reason(world.plane.close_session_as_agent(agent, theirs, None)),
        Reason::SessionNotFound
    );
    assert!(events(&mut world).is_empty(), "refusals emit nothing");
}

#[test]
fn rule_11_each_stream_scope_sees_only_its_share() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let ada = world.agent(&[]);
    let bob = world.agent(&[]);
    world.session(chat, ada).unwrap();
    world.session(phone, ada).unwrap();
    world.session(chat, bob).unwrap();
    let all = world.plane.take_effects().events;
    let count = |scope: Scope| all.iter().filter(|event| scope.sees(event)).count();
    // chat: its two created, plus the lost focus when phone's session came (ada).
    assert_eq!(
        count(Scope::Provider {
            provider: chat,
            agents: None
        }),
        3
    );
    assert_eq!(
        count(Scope::Provider {
            provider: phone,
            agents: None
        }),
        1
    );
    let only_bob = Scope::Provider {
        provider: chat,
        agents: Some([bob].into()),
    };
    assert_eq!(count(only_bob), 1);
    assert_eq!(
        count(Scope::Agent(ada)),
        5,
        "home lost focus, created, lost focus, created, the widget shown (rule 20)"
    );
    assert_eq!(count(Scope::Agent(bob)), 3);
    assert_eq!(
        count(Scope::Everything(crate::domain::Operator::Configured)),
        8
    );
}

#[test]
fn rule_17_a_forced_delete_tells_each_owner_and_revocations_end_streams() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let a = world.session(chat, agent).unwrap();
    let b = world.session(phone, agent).unwrap();
    world.plane.take_effects();
    world.plane.delete_agent(agent, true).unwrap();
    let effects = world.plane.take_effects();
    let closed: Vec<_> = effects
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::SessionClosed { session } => {
                Some((session.session.id, event.providers.first().copied()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        closed,
        [(a, Some(chat)), (b, Some(phone))],
        "the focused one last"
    );
    assert_eq!(effects.revoked.len(), 1);
    assert_eq!(effects.revoked[0].0, Principal::Agent(agent));

    world.plane.set_provider_active(chat, false).unwrap();
    let revoked = world.plane.take_effects().revoked;
    assert_eq!(revoked[0].0, Principal::Provider(chat));
    assert_eq!(revoked[0].1.reason, Reason::ProviderInactive);
    world.plane.delete_provider(phone).unwrap();
    assert_eq!(
        world.plane.take_effects().revoked[0].1.reason,
        Reason::CredentialInvalid
    );
}
