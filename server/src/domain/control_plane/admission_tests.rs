//! Rules 18 (only while admitted) and 19 (no side channels) on the domain alone.

use std::time::SystemTime;

use cif_sdk::ids::{AgentId, ProviderId, SessionId, TabId};

use super::desk_tests::{heard, new_tab, outcome, pending, presence, toast};
use super::tests::{World, home, reason};
use super::*;
use crate::domain::Reason;
use crate::domain::desks::PanelMode;
use crate::domain::events::EventKind;
use crate::domain::events::{Event, Passage, Scope};
use crate::domain::registry::AgentPatch;
use crate::domain::toasts::{Canceller, Outcome, ToastKey};

/// Sets the agent's profile, as an operator's UpdateAgent does.
fn set_profile(world: &mut World, agent: AgentId, profile: &[ProviderId]) {
    world
        .plane
        .update_agent(
            agent,
            AgentPatch {
                profile: Some(profile.to_vec()),
                ..AgentPatch::default()
            },
        )
        .unwrap();
}

/// A desk with two providers in its profile: chat with an open session (a tab in it, a tab in
/// home) and a toast waiting, and phone.
struct Desk {
    world: World,
    chat: ProviderId,
    phone: ProviderId,
    agent: AgentId,
    session: SessionId,
    tab: TabId,
    home_tab: TabId,
    toast: ToastKey,
}

fn desk() -> Desk {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[chat, phone]);
    world.plane.desk_connected(agent, SystemTime::now());
    let session = world.session(chat, agent).unwrap();
    let tab = world.plane.create_tab(chat, new_tab(session)).unwrap().0.id;
    let home_tab = world
        .plane
        .create_tab(chat, new_tab(home(&world, agent)))
        .unwrap()
        .0
        .id;
    let toast = pending(
        world
            .plane
            .raise_toast(chat, toast(agent, Some(120)), SystemTime::now())
            .unwrap(),
    );
    world.plane.take_effects();
    Desk {
        world,
        chat,
        phone,
        agent,
        session,
        tab,
        home_tab,
        toast,
    }
}

#[test]
fn rule_18_a_desk_admits_active_providers_its_profile_names() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let everyone = world.agent(&[]);
    let chat_only = world.agent(&[chat]);
    let plane = &world.plane;
    assert!(plane.admits(everyone, chat) && plane.admits(everyone, phone));
    assert!(plane.admits(chat_only, chat));
    assert!(!plane.admits(chat_only, phone), "not in the profile");
    assert!(!plane.admits(AgentId::generate(), chat), "no such agent");
    assert!(
        !plane.admits(everyone, ProviderId::generate()),
        "no such provider"
    );

    world.plane.set_provider_active(chat, false).unwrap();
    assert!(!world.plane.admits(everyone, chat), "inactive");
    assert!(!world.plane.admits(chat_only, chat), "inactive");
    world.plane.set_provider_active(chat, true).unwrap();
    world.plane.delete_provider(chat).unwrap();
    assert!(!world.plane.admits(chat_only, chat), "deleted");
}

#[test]
fn rule_18_taken_off_the_profile_the_provider_finds_nothing_of_that_desk() {
    let Desk {
        mut world,
        chat,
        phone,
        agent,
        session,
        tab,
        home_tab,
        toast: raised,
    } = desk();
    set_profile(&mut world, agent, &[phone]);

    // Its pending toast ended as cancelled, and it still hears so; then the desk hears the
    // provider is no longer admitted.
    assert_eq!(
        outcome(&world, raised),
        Some(Outcome::Cancelled(Canceller::ProviderNotAdmitted))
    );
    assert_eq!(
        heard(&mut world),
        [
            ("toast resolved", vec![chat]),
            ("not admitted", vec![chat]),
            ("widgets", vec![])
        ]
    );

    // Everything about that desk answers as for what does not exist.
    let plane = &mut world.plane;
    let missing_session = plane
        .provider_session(chat, SessionId::generate())
        .unwrap_err();
    let hidden = plane.provider_session(chat, session).unwrap_err();
    assert_eq!(hidden.reason, Reason::SessionNotFound);
    assert_eq!(
        hidden.message.replace(&session.to_string(), "ID"),
        missing_session
            .message
            .replace(&missing_session.metadata[0].1, "ID")
    );
    let home = home(&world, agent);
    let plane = &mut world.plane;
    assert_eq!(
        reason(plane.provider_session(chat, home)),
        Reason::SessionNotFound
    );
    assert_eq!(
        reason(plane.set_session_title(chat, session, None, "x".into())),
        Reason::SessionNotFound
    );
    assert_eq!(
        reason(plane.request_focus_session(chat, session, None, 1)),
        Reason::SessionNotFound
    );
    assert_eq!(
        reason(plane.create_tab(chat, new_tab(session))),
        Reason::SessionNotFound
    );
    assert_eq!(
        reason(plane.create_tab(chat, new_tab(home))),
        Reason::SessionNotFound
    );
    for tab in [tab, home_tab] {
        assert_eq!(
            reason(plane.provider_focus_tab(chat, tab)),
            Reason::TabNotFound
        );
        assert_eq!(reason(plane.refresh_tab(chat, tab)), Reason::TabNotFound);
        assert_eq!(
            reason(plane.provider_close_tab(chat, tab)),
            Reason::TabNotFound
        );
    }
    assert_eq!(
        reason(plane.cancel_toast(chat, raised.id, SystemTime::now())),
        Reason::NotificationNotFound
    );
    assert_eq!(
        reason(plane.create_session(chat, super::tests::new_session(agent))),
        Reason::AgentNotFound
    );
    assert_eq!(
        reason(plane.provider_desk(chat, agent)),
        Reason::AgentNotFound
    );
    assert_eq!(
        reason(plane.focused_session(chat, agent)),
        Reason::AgentNotFound
    );
    assert!(
        plane
            .provider_sessions(chat, None, true, None, 10)
            .unwrap()
            .items
            .is_empty()
    );
    assert!(plane.provider_open_sessions(chat, None).unwrap().is_empty());
    assert!(plane.provider_home_tabs(chat, None).is_empty());
    assert!(plane.provider_pending_toasts(chat).is_empty());

    // The session stays on the desk for the agent, its owner shown as not admitted.
    let desk = plane.desk(agent).unwrap();
    let owner = desk.sessions[0].owner.unwrap();
    assert_eq!((owner.id, owner.admitted), (chat, false));
    // What happens to it now is the agent's alone: its owner hears nothing of it.
    plane.switch_session(agent, home, None).unwrap();
    plane.close_session_as_agent(agent, session, None).unwrap();
    assert_eq!(
        heard(&mut world),
        [
            ("switched", vec![]),
            ("switched", vec![]),
            ("closed", vec![]),
            // In home, the only provider it admits shows: phone (rule 20).
            ("visible widget", vec![])
        ]
    );
}

#[test]
fn rule_18_admitted_again_the_provider_has_its_sessions_back_and_its_streams_resynchronise() {
    let Desk {
        mut world,
        chat,
        phone,
        agent,
        session,
        ..
    } = desk();
    set_profile(&mut world, agent, &[phone]);
    world.plane.take_effects();
    set_profile(&mut world, agent, &[phone, chat]);
    assert_eq!(
        heard(&mut world),
        [("admitted", vec![chat]), ("widgets", vec![])]
    );
    let back = world.plane.provider_session(chat, session).unwrap();
    assert!(back.owner.unwrap().admitted);
    world
        .plane
        .set_session_title(chat, session, None, "Back".into())
        .unwrap();
    assert_eq!(heard(&mut world), [("retitled", vec![chat])]);

    // An empty profile admits every provider: the same as naming it.
    set_profile(&mut world, agent, &[]);
    assert_eq!(heard(&mut world), []);
}

#[test]
fn rule_18_deactivation_and_activation_flip_admission_on_every_desk_that_names_it() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let first = world.agent(&[]);
    let second = world.agent(&[chat]);
    let elsewhere = world.agent(&[phone]);
    world.plane.take_effects();

    world.plane.set_provider_active(chat, false).unwrap();
    let desks = |world: &mut World| {
        let mut desks: Vec<(AgentId, bool)> = world
            .plane
            .take_effects()
            .events
            .into_iter()
            .filter_map(|event| match event.kind {
                EventKind::ProviderAdmissionChanged { provider, admitted } => {
                    assert_eq!((provider, event.providers), (chat, vec![chat]));
                    Some((event.agent, admitted))
                }
                _ => None,
            })
            .collect();
        desks.sort();
        desks
    };
    let mut expected = vec![(first, false), (second, false)];
    expected.sort();
    assert_eq!(desks(&mut world), expected, "not {elsewhere}");
    world.plane.set_provider_active(chat, true).unwrap();
    let mut expected = vec![(first, true), (second, true)];
    expected.sort();
    assert_eq!(desks(&mut world), expected);
    world.plane.delete_provider(chat).unwrap();
    let mut expected = vec![(first, false), (second, false)];
    expected.sort();
    assert_eq!(desks(&mut world), expected);
}

#[test]
fn rule_18_a_provider_not_admitted_is_never_the_active_provider() {
    let Desk {
        mut world,
        chat,
        phone,
        agent,
        session,
        ..
    } = desk();
    assert_eq!(
        world.plane.active_provider(agent),
        Some(chat),
        "its session has focus"
    );
    set_profile(&mut world, agent, &[phone]);
    assert_eq!(
        world.plane.focused_session(phone, agent).unwrap(),
        FocusedSession::Elsewhere,
        "chat's session keeps the focus"
    );
    assert_eq!(
        world.plane.active_provider(agent),
        Some(phone),
        "the default takes over"
    );
    world.plane.take_effects();
    world
        .plane
        .agent_set_panel(agent, PanelChange::Mode(PanelMode::Minimized), None)
        .unwrap();
    assert_eq!(heard(&mut world), [("mode", vec![phone])]);
    world
        .plane
        .agent_raise_event(agent, None, "ping".into(), "{}".into())
        .unwrap();
    assert_eq!(heard(&mut world), [("custom", vec![phone])]);
    assert_eq!(
        reason(
            world
                .plane
                .agent_raise_event(agent, Some(chat), "ping".into(), "{}".into())
        ),
        Reason::ProviderNotFound
    );
    let _ = session;
}

#[test]
fn rule_18_a_provider_stream_never_carries_its_own_admission() {
    let (chat, agent, other) = (
        ProviderId::generate(),
        AgentId::generate(),
        AgentId::generate(),
    );
    let change = |admitted| Event {
        agent,
        time: SystemTime::now(),
        providers: vec![chat],
        kind: EventKind::ProviderAdmissionChanged {
            provider: chat,
            admitted,
        },
    };
    let every_desk = Scope::Provider {
        provider: chat,
        agents: None,
    };
    let named = Scope::Provider {
        provider: chat,
        agents: Some([agent, other].into()),
    };
    assert_eq!(every_desk.passage(&change(false)), Passage::Skip);
    let Passage::End(ended) = named.passage(&change(false)) else {
        panic!("a stream naming the desk ends");
    };
    assert_eq!(ended.reason, Reason::AgentNotFound);
    for scope in [&every_desk, &named] {
        let Passage::End(ended) = scope.passage(&change(true)) else {
            panic!("admitted again, the stream ends");
        };
        assert_eq!(ended.reason, Reason::ProviderReadmitted);
    }
    for scope in [
        Scope::Agent(agent),
        Scope::Everything(crate::domain::Operator::Configured),
    ] {
        assert_eq!(scope.passage(&change(false)), Passage::Deliver);
        assert_eq!(scope.passage(&change(true)), Passage::Deliver);
    }
}

#[test]
fn rule_19_a_provider_cannot_expect_a_desk_version() {
    let Desk {
        mut world,
        chat,
        agent,
        ..
    } = desk();
    world
        .plane
        .create_presence(presence("busy", "Busy"))
        .unwrap();
    let plane = &mut world.plane;
    let width = PanelChange::Width(400);
    for version in [Some(0), Some(u64::MAX)] {
        for refused in [
            plane
                .provider_set_panel(chat, agent, width, version)
                .map(drop),
            plane
                .provider_set_presence(chat, agent, "Busy", version)
                .map(drop),
        ] {
            let refused = refused.unwrap_err();
            assert_eq!(refused.reason, Reason::FieldNotAllowed);
            assert_eq!(refused.violations[0].field, "expected_version");
        }
    }
    assert!(plane.provider_set_panel(chat, agent, width, None).is_ok());
    assert!(
        plane
            .provider_set_presence(chat, agent, "Busy", None)
            .is_ok()
    );
}

#[test]
fn rule_19_home_shows_providers_no_version_no_focus_and_no_count() {
    let Desk {
        mut world,
        chat,
        phone,
        agent,
        ..
    } = desk();
    let home = home(&world, agent);
    let plane = &mut world.plane;
    let mut in_home = new_tab(home);
    in_home.expected_version = Some(0);
    let refused = plane.create_tab(phone, in_home).unwrap_err();
    assert_eq!(refused.reason, Reason::FieldNotAllowed);

    // Phone's tab in home is not focused (chat's is), and phone is not told either way.
    let (phone_tab, focused) = plane.create_tab(phone, new_tab(home)).unwrap();
    assert!(!focused);
    let view = plane.provider_session(phone, home).unwrap();
    assert_eq!(view.home_seen_by, Some(phone));
    plane.provider_focus_tab(phone, phone_tab.id).unwrap();
    assert!(!plane.tab_focus_shown_to_provider(&phone_tab));

    // Home full: the answer says so, and nothing of how many tabs others hold there.
    for _ in 0..8 {
        plane.create_tab(phone, new_tab(home)).unwrap();
    }
    let full = plane.create_tab(phone, new_tab(home)).unwrap_err();
    assert_eq!(full.reason, Reason::TabLimitReached);
    let without_id = full.message.replace(&home.to_string(), "HOME");
    assert!(
        !without_id.chars().any(|c| c.is_ascii_digit()),
        "no count: {without_id}"
    );
    let _ = chat;
}

#[test]
fn rule_19_a_session_version_is_checked_after_visibility_and_before_state() {
    let Desk {
        mut world,
        chat,
        phone,
        agent,
        session,
        ..
    } = desk();
    let plane = &mut world.plane;
    // Someone else's session with a stale version: missing, not ABORTED.
    assert_eq!(
        reason(plane.set_session_title(phone, session, Some(u64::MAX), "x".into())),
        Reason::SessionNotFound
    );
    plane.close_session_as_agent(agent, session, None).unwrap();
    // Its own closed session with a stale version: the version answers first.
    assert_eq!(
        reason(plane.set_session_title(chat, session, Some(u64::MAX), "x".into())),
        Reason::VersionMismatch
    );
    let version = plane
        .provider_session(chat, session)
        .unwrap()
        .session
        .version;
    assert_eq!(
        reason(plane.set_session_title(chat, session, Some(version), "x".into())),
        Reason::SessionNotOpen
    );
}
