//! Rules 3, 7, 10, 12, 13, 14 and 16 on the domain alone. Toast timing is driven by passing
//! later instants to `expire_toasts`, so nothing here sleeps.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use cif_sdk::ids::{NotificationId, SessionId, TabId};

use super::tests::{World, home, reason};
use super::*;
use crate::domain::Reason;
use crate::domain::desks::PanelMode;
use crate::domain::desks::{NewTab, PageKind, TabPage};
use crate::domain::events::{ClickToAct, EventKind};
use crate::domain::registry::{Presence, PresenceStatus};
use crate::domain::toasts::{Canceller, NewToast, Outcome, Raised, ToastContent, ToastKey};
use cif_sdk::ids::{AgentId, ProviderId};

pub(super) fn new_tab(session: SessionId) -> NewTab {
    NewTab {
        session,
        template: String::new(),
        title: "Customer".into(),
        page: Some(TabPage {
            kind: PageKind::ThirdPartyWebsite,
            url: "https://crm.example.com/customer/42".into(),
            parameters: "".into(),
        }),
        parameters: BTreeMap::new(),
        focus: false,
        expected_version: None,
    }
}

/// The kinds of the events since the last call, with the providers that hear each.
pub(super) fn heard(world: &mut World) -> Vec<(&'static str, Vec<ProviderId>)> {
    world
        .plane
        .take_effects()
        .events
        .into_iter()
        .map(|event| {
            let name = match event.kind {
                EventKind::SessionCreated { .. } => "created",
                EventKind::SessionSwitched { .. } => "switched",
                EventKind::SessionClosed { .. } => "closed",
                EventKind::SessionRetitled { .. } => "retitled",
                EventKind::SessionContextChanged { .. } => "context",
                EventKind::SessionMarksChanged { .. } => "marks",
                EventKind::TabCreated { .. } => "tab created",
                EventKind::TabFocused { .. } => "tab focused",
                EventKind::TabRefreshed { .. } => "tab refreshed",
                EventKind::TabRetitled { .. } => "tab retitled",
                EventKind::TabClosed { .. } => "tab closed",
                EventKind::PanelModeChanged { .. } => "mode",
                EventKind::PanelWidthChanged { .. } => "width",
                EventKind::PresenceChanged { .. } => "presence",
                EventKind::NotificationQueued { .. } => "toast queued",
                EventKind::NotificationShown { .. } => "toast shown",
                EventKind::NotificationResolved { .. } => "toast resolved",
                EventKind::ClickToAct(_) => "click",
                EventKind::CustomEvent(_) => "custom",
                EventKind::ProviderAdmissionChanged { admitted: true, .. } => "admitted",
                EventKind::ProviderAdmissionChanged {
                    admitted: false, ..
                } => "not admitted",
                EventKind::DeskWidgetsChanged { .. } => "widgets",
                EventKind::VisibleWidgetChanged { .. } => "visible widget",
            };
            (name, event.providers)
        })
        .collect()
}

// === rule 3: tabs ===

#[test]
fn rule_3_tabs_only_in_own_sessions_and_own_tabs_in_home() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let chats = world.session(chat, agent).unwrap();
    let home = home(&world, agent);
    world.plane.take_effects();

    let (tab, focused) = world.plane.create_tab(chat, new_tab(chats)).unwrap();
    assert!(focused, "a session's first tab is focused");
    assert_eq!(heard(&mut world), [("tab created", vec![chat])]);
    assert_eq!(
        reason(world.plane.create_tab(phone, new_tab(chats))),
        Reason::SessionNotFound
    );
    assert_eq!(
        reason(world.plane.provider_focus_tab(phone, tab.id)),
        Reason::TabNotFound
    );
    assert_eq!(
        reason(world.plane.provider_close_tab(phone, tab.id)),
        Reason::TabNotFound
    );

    // In home: each provider opens and touches only its own tabs.
    let (chat_home_tab, _) = world.plane.create_tab(chat, new_tab(home)).unwrap();
    let (phone_home_tab, _) = world.plane.create_tab(phone, new_tab(home)).unwrap();
    assert_eq!(
        heard(&mut world),
        [("tab created", vec![chat]), ("tab created", vec![phone])]
    );
    assert_eq!(
        reason(
            world
                .plane
                .set_tab_title(phone, chat_home_tab.id, "x".into())
        ),
        Reason::TabNotFound
    );
    assert_eq!(
        reason(
            world
                .plane
                .set_tab_title(phone, TabId::generate(), "x".into())
        ),
        Reason::TabNotFound,
        "another's tab in home and a missing tab look the same"
    );
    let phone_view = world.plane.provider_session(phone, home).unwrap();
    assert_eq!(phone_view.home_seen_by, Some(phone));
    assert!(
        world
            .plane
            .provider_focus_tab(phone, phone_home_tab.id)
            .is_ok()
    );

    // The agent may focus and close any tab.
    world.plane.take_effects();
    world
        .plane
        .agent_focus_tab(agent, chat_home_tab.id)
        .unwrap();
    world
        .plane
        .agent_close_tab(agent, chat_home_tab.id)
        .unwrap();
    assert_eq!(
        heard(&mut world),
        [
            ("tab focused", vec![]),
            ("tab closed", vec![chat]),
            ("tab focused", vec![])
        ],
        "closing the focused tab focuses the one before it; which tab has focus in home is \
         the agent's alone, since it moves with other providers' tabs (rule 19)"
    );
}

#[test]
fn rule_3_the_tab_limit_says_close_a_tab_first() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let session = world.session(chat, agent).unwrap();
    for _ in 0..10 {
        world.plane.create_tab(chat, new_tab(session)).unwrap();
    }
    let refused = world.plane.create_tab(chat, new_tab(session)).unwrap_err();
    assert_eq!(refused.reason, Reason::TabLimitReached);
    assert!(refused.message.contains("close a tab first"));
}

// === rule 7: marks ===

#[test]
fn rule_7_marks_apply_to_unfocused_sessions_and_a_switch_clears_all_but_kpi() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let chats = world.session(chat, agent).unwrap();
    let phones = world.session(phone, agent).unwrap(); // has focus now
    world.plane.take_effects();

    assert_eq!(
        world
            .plane
            .request_focus_session(phone, phones, None, 3)
            .unwrap(),
        Marked::AlreadyFocused
    );
    assert_eq!(
        world
            .plane
            .notify_new_activity(phone, phones, None, 1)
            .unwrap(),
        Marked::AlreadyFocused
    );
    assert!(
        heard(&mut world).is_empty(),
        "nothing marked on the focused session"
    );

    assert_eq!(
        world
            .plane
            .request_focus_session(chat, chats, None, 3)
            .unwrap(),
        Marked::Marked
    );
    world
        .plane
        .notify_new_activity(chat, chats, None, 0)
        .unwrap();
    world
        .plane
        .notify_kpi_breach(chat, chats, None, false, "wait > 60 s".into())
        .unwrap();
    assert_eq!(heard(&mut world), vec![("marks", vec![chat]); 3]);
    assert_eq!(
        reason(world.plane.request_focus_session(phone, chats, None, 1)),
        Reason::SessionNotFound
    );
    assert_eq!(
        reason(world.plane.notify_new_activity(chat, chats, None, -1)),
        Reason::FieldOutOfRange
    );

    world.plane.switch_session(agent, chats, None).unwrap();
    let marks = &world.plane.session(chats).unwrap().session.marks;
    assert_eq!((marks.attention, marks.new_activity), (None, None));
    assert_eq!(
        marks.kpi_breach.as_deref(),
        Some("wait > 60 s"),
        "a switch keeps the KPI flag"
    );
    world
        .plane
        .notify_kpi_breach(chat, chats, None, true, String::new())
        .unwrap();
    assert_eq!(
        world.plane.session(chats).unwrap().session.marks.kpi_breach,
        None
    );
}

// === rule 14: title and context ===

#[test]
fn rule_14_the_owner_changes_title_and_context_with_events() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let session = world.session(chat, agent).unwrap();
    world.plane.take_effects();
    world
        .plane
        .set_session_title(chat, session, None, "Maria, order 42".into())
        .unwrap();
    let set = BTreeMap::from([("order".to_string(), "42".to_string())]);
    let view = world
        .plane
        .update_session_context(chat, session, None, set, vec!["customerName".into()])
        .unwrap();
    assert_eq!(
        *view.session.context,
        [("order".into(), "42".into())].into_iter().collect()
    );
    assert_eq!(
        heard(&mut world),
        [("retitled", vec![chat]), ("context", vec![chat])]
    );
    assert_eq!(
        reason(
            world
                .plane
                .set_session_title(phone, session, None, "x".into())
        ),
        Reason::SessionNotFound
    );
    let both = BTreeMap::from([("k".to_string(), "v".to_string())]);
    assert_eq!(
        reason(
            world
                .plane
                .update_session_context(chat, session, None, both, vec!["k".into()])
        ),
        Reason::FieldMalformed
    );
    let many: BTreeMap<_, _> = (0..100).map(|i| (format!("k{i}"), String::new())).collect();
    assert_eq!(
        reason(
            world
                .plane
                .update_session_context(chat, session, None, many, vec![])
        ),
        Reason::FieldOutOfRange,
        "101 keys with the one already there"
    );
}

// === rule 10: the panel ===

#[test]
fn rule_10_the_panel_story_with_several_providers_and_with_one() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let both = world.agent(&[]);
    let only_phone = world.agent(&[phone]);
    let mode = PanelChange::Mode(PanelMode::Minimized);

    // Home, several providers: refused, with what to do.
    let refused = world
        .plane
        .provider_set_panel(phone, both, mode, None)
        .unwrap_err();
    assert_eq!(refused.reason, Reason::HomeSessionModeUnsupported);
    assert!(refused.message.contains("create your default session"));
    // The provider creates its default session; now it may.
    let default_session = world.session(phone, both).unwrap();
    world.plane.take_effects();
    assert!(
        world
            .plane
            .provider_set_panel(phone, both, mode, None)
            .is_ok()
    );
    assert_eq!(heard(&mut world), [("mode", vec![phone])]);
    // While the other provider's session has focus, it may not.
    world.session(chat, both).unwrap();
    assert_eq!(
        reason(
            world
                .plane
                .provider_set_panel(phone, both, PanelChange::Width(400), None)
        ),
        Reason::FocusedSessionNotOwned
    );
    // The agent may, at any time; the active provider (chat, focused) hears it.
    world.plane.take_effects();
    world
        .plane
        .agent_set_panel(both, PanelChange::Width(500), None)
        .unwrap();
    assert_eq!(heard(&mut world), [("width", vec![chat])]);
    assert_eq!(
        reason(
            world
                .plane
                .agent_set_panel(both, PanelChange::Width(299), None)
        ),
        Reason::FieldOutOfRange
    );
    // The agent closes phone's default session... and chat's: back home.
    world
        .plane
        .close_session_as_agent(both, default_session, None)
        .unwrap();

    // One provider: home is fine.
    assert!(
        world
            .plane
            .provider_set_panel(phone, only_phone, mode, None)
            .is_ok()
    );
    // Deactivating the other provider makes the first the only one.
    world.plane.set_provider_active(chat, false).unwrap();
    let home_both = home(&world, both);
    world.plane.switch_session(both, home_both, None).unwrap();
    assert!(
        world
            .plane
            .provider_set_panel(phone, both, PanelChange::Mode(PanelMode::Docked), None)
            .is_ok()
    );
}

// === rule 13: presence ===

pub(super) fn presence(id: &str, text: &str) -> Presence {
    Presence {
        id: id.into(),
        text: text.into(),
        base_status: PresenceStatus::Available,
        color: "#2E7D32".into(),
        managed: false,
    }
}

#[test]
fn rule_13_presence_by_text_for_providers_and_every_provider_hears_it() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let outsider = world.provider("other_x");
    let agent = world.agent(&[chat, phone]);
    world
        .plane
        .create_presence(presence("available", "Available"))
        .unwrap();
    world
        .plane
        .create_presence(presence("busy", "Busy"))
        .unwrap();
    assert_eq!(
        reason(world.plane.create_presence(presence("busy2", "Busy"))),
        Reason::PresenceTextTaken
    );
    assert_eq!(
        reason(world.plane.create_presence(presence("busy", "Busy 2"))),
        Reason::PresenceIdTaken
    );

    world.plane.take_effects();
    world
        .plane
        .provider_set_presence(chat, agent, "Busy", None)
        .unwrap();
    let mut expected = vec![chat, phone];
    expected.sort_by_key(|id| world.plane.provider(*id).unwrap().unique_name.clone());
    assert_eq!(heard(&mut world), [("presence", expected)]);
    assert_eq!(
        reason(world.plane.provider_set_presence(chat, agent, "busy", None)),
        Reason::PresenceNotFound
    );
    assert_eq!(
        reason(
            world
                .plane
                .provider_set_presence(outsider, agent, "Busy", None)
        ),
        Reason::AgentNotFound
    );
    world
        .plane
        .agent_set_presence(agent, "available", None)
        .unwrap();
    assert_eq!(
        world
            .plane
            .desk(agent)
            .unwrap()
            .desk
            .presence
            .as_ref()
            .unwrap()
            .text,
        "Available"
    );
    // Setting the presence it has changes nothing.
    world.plane.take_effects();
    world
        .plane
        .agent_set_presence(agent, "available", None)
        .unwrap();
    assert!(heard(&mut world).is_empty());
}

// === rule 16 and click-to-act ===

#[test]
fn rule_16_custom_events_go_to_the_desk_or_to_one_provider() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let phone = world.provider("contoso_phone");
    let stranger = world.provider("other_x");
    let agent = world.agent(&[chat, phone]);
    world.plane.take_effects();
    world
        .plane
        .provider_raise_event(chat, agent, "wrapup".into(), "{}".into())
        .unwrap();
    assert_eq!(heard(&mut world), [("custom", vec![])], "to the desk only");
    assert_eq!(
        world
            .plane
            .agent_raise_event(agent, Some(phone), "x".into(), String::new())
            .unwrap(),
        phone
    );
    assert_eq!(heard(&mut world), [("custom", vec![phone])]);
    // No session has focus: the default provider (channel order, then unique name) gets it.
    assert_eq!(
        world
            .plane
            .agent_raise_event(agent, None, "x".into(), String::new())
            .unwrap(),
        chat
    );
    assert_eq!(
        reason(
            world
                .plane
                .agent_raise_event(agent, Some(stranger), "x".into(), String::new())
        ),
        Reason::ProviderNotFound
    );
    let big = "x".repeat(16 * 1024 + 1);
    assert_eq!(
        reason(
            world
                .plane
                .provider_raise_event(chat, agent, "x".into(), big)
        ),
        Reason::FieldTooLong
    );
}

#[test]
fn click_to_act_reaches_the_active_provider_only_if_its_outbound_is_on() {
    let mut world = World::new();
    let chat = world.provider("contoso_chat");
    let agent = world.agent(&[]);
    let click = || ClickToAct {
        value: "+1 555 0100".into(),
        name: "mobilephone".into(),
        format: "phone".into(),
        entity_logical_name: "contact".into(),
    };
    assert_eq!(
        reason(world.plane.click_to_act(agent, click())),
        Reason::ClickToActDisabled
    );
    let patch = crate::domain::registry::ProviderPatch {
        enable_outbound: Some(true),
        ..Default::default()
    };
    world.plane.update_provider(chat, patch).unwrap();
    world.plane.take_effects();
    assert_eq!(world.plane.click_to_act(agent, click()).unwrap(), chat);
    assert_eq!(heard(&mut world), [("click", vec![chat])]);
    world.plane.set_provider_active(chat, false).unwrap();
    assert_eq!(
        reason(world.plane.click_to_act(agent, click())),
        Reason::NoActiveProvider
    );
}

// === rule 12: toasts ===

pub(super) fn toast(agent: AgentId, countdown: Option<u64>) -> NewToast {
    NewToast {
        agent,
        id: NotificationId::generate(),
        session: None,
        content: ToastContent {
            title: "Incoming call".into(),
            fields: vec![("Caller".into(), "+1 555 0100".into())],
            countdown: countdown.map(Duration::from_secs),
            accept_text: "Accept".into(),
            show_reject: true,
            reject_text: "Reject".into(),
            auto_accept: false,
        },
        template: String::new(),
        parameters: BTreeMap::new(),
    }
}

pub(super) fn pending(raised: Raised) -> ToastKey {
    match raised {
        Raised::Pending(key) => key,
        Raised::Resolved(resolution) => panic!("resolved at once: {resolution:?}"),
    }
}

pub(super) fn outcome(world: &World, key: ToastKey) -> Option<Outcome> {
    world
        .plane
        .toasts
        .resolution(&key)
        .map(|resolution| resolution.outcome)
}

/// A world with one provider and one agent whose desk is connected.
fn toast_world() -> (World, ProviderId, AgentId, SystemTime) {
    let mut world = World::new();
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let now = SystemTime::now();
    world.plane.desk_connected(agent, now);
    (world, phone, agent, now)
}

#[test]
fn rule_12_one_toast_on_screen_the_rest_wait_and_answers_move_the_queue() {
    let (mut world, phone, agent, now) = toast_world();
    let first = pending(
        world
            .plane
            .raise_toast(phone, toast(agent, Some(120)), now)
            .unwrap(),
    );
    let second = pending(
        world
            .plane
            .raise_toast(phone, toast(agent, Some(120)), now)
            .unwrap(),
    );
    let desk = world.plane.desk(agent).unwrap();
    assert!(desk.toasts[0].shown.is_some() && desk.toasts[1].shown.is_none());
    assert_eq!(
        reason(world.plane.respond_to_toast(agent, second, true, now)),
        Reason::NotificationNotShown
    );
    world.plane.take_effects();
    world
        .plane
        .respond_to_toast(agent, first, true, now)
        .unwrap();
    assert_eq!(outcome(&world, first), Some(Outcome::Accepted));
    assert_eq!(
        heard(&mut world),
        [("toast resolved", vec![phone]), ("toast shown", vec![])],
        "the outcome to the provider, the next toast to the desk"
    );
    world
        .plane
        .respond_to_toast(agent, second, false, now)
        .unwrap();
    assert_eq!(outcome(&world, second), Some(Outcome::Declined));
}

#[test]
fn rule_12_countdowns_start_on_screen_and_the_queue_has_a_time_limit() {
    let (mut world, phone, agent, now) = toast_world();
    let shown = pending(
        world
            .plane
            .raise_toast(phone, toast(agent, Some(10)), now)
            .unwrap(),
    );
    let waits = pending(
        world
            .plane
            .raise_toast(phone, toast(agent, Some(5)), now)
            .unwrap(),
    );
    let patient = pending(
        world
            .plane
            .raise_toast(phone, toast(agent, Some(60)), now)
            .unwrap(),
    );
    let mut auto = toast(agent, Some(30));
    auto.content.auto_accept = true;
    let auto = pending(world.plane.raise_toast(phone, auto, now).unwrap());
    assert_eq!(
        world.plane.next_toast_deadline(),
        Some(now + Duration::from_secs(5))
    );

    // At 6 s the second has waited past its countdown: it will never be shown.
    world.plane.expire_toasts(now + Duration::from_secs(6));
    assert_eq!(
        outcome(&world, waits),
        Some(Outcome::QueueTimeLimitExceeded)
    );
    assert_eq!(outcome(&world, shown), None);
    // At 10 s the first times out on screen; the patient one is shown, its countdown starts.
    let at_10 = now + Duration::from_secs(10);
    world.plane.expire_toasts(at_10);
    assert_eq!(outcome(&world, shown), Some(Outcome::DisplayTimeout));
    let on_screen = world.plane.desk(agent).unwrap().toasts[0].clone();
    assert_eq!(on_screen.key, patient);
    assert_eq!(on_screen.deadline(), Some(at_10 + Duration::from_secs(60)));
    world.plane.expire_toasts(at_10 + Duration::from_secs(60));
    assert_eq!(outcome(&world, patient), Some(Outcome::DisplayTimeout));
    // The auto-accepting one waited 70 s > 30 s in the queue before it could be shown.
    assert_eq!(outcome(&world, auto), Some(Outcome::QueueTimeLimitExceeded));

    let mut auto = toast(agent, Some(30));
    auto.content.auto_accept = true;
    let later = at_10 + Duration::from_secs(100);
    let auto = pending(world.plane.raise_toast(phone, auto, later).unwrap());
    world.plane.expire_toasts(later + Duration::from_secs(30));
    assert_eq!(outcome(&world, auto), Some(Outcome::AutoAccepted));
}

#[test]
fn rule_12_the_queue_limit_counts_the_toast_on_screen() {
    let (mut world, phone, agent, now) = toast_world();
    for _ in 0..10 {
        pending(
            world
                .plane
                .raise_toast(phone, toast(agent, None), now)
                .unwrap(),
        );
    }
    match world
        .plane
        .raise_toast(phone, toast(agent, None), now)
        .unwrap()
    {
        Raised::Resolved(resolution) => assert_eq!(resolution.outcome, Outcome::QueueFull),
        Raised::Pending(_) => panic!("the 11th must not queue"),
    }
}

#[test]
fn rule_12_cancellations_by_provider_session_close_and_deactivation() {
    let (mut world, phone, agent, now) = toast_world();
    let session = world.session(phone, agent).unwrap();
    let by_provider = pending(
        world
            .plane
            .raise_toast(phone, toast(agent, None), now)
            .unwrap(),
    );
    let mut about_session = toast(agent, None);
    about_session.session = Some(session);
    let about_session = pending(world.plane.raise_toast(phone, about_session, now).unwrap());
    let by_deactivation = pending(
        world
            .plane
            .raise_toast(phone, toast(agent, None), now)
            .unwrap(),
    );

    world
        .plane
        .cancel_toast(phone, by_provider.id, now)
        .unwrap();
    assert_eq!(
        outcome(&world, by_provider),
        Some(Outcome::Cancelled(Canceller::Provider))
    );
    world
        .plane
        .close_session_as_agent(agent, session, None)
        .unwrap();
    assert_eq!(
        outcome(&world, about_session),
        Some(Outcome::Cancelled(Canceller::SessionClosed))
    );
    world.plane.set_provider_active(phone, false).unwrap();
    assert_eq!(
        outcome(&world, by_deactivation),
        Some(Outcome::Cancelled(Canceller::ProviderDeactivated))
    );
    assert!(world.plane.desk(agent).unwrap().toasts.is_empty());
}

#[test]
fn rule_12_an_offline_desk_refuses_new_toasts_after_the_grace_period() {
    let mut world = World::new();
    let phone = world.provider("contoso_phone");
    let agent = world.agent(&[]);
    let now = SystemTime::now();
    assert_eq!(
        reason(world.plane.raise_toast(phone, toast(agent, None), now)),
        Reason::DeskOffline
    );
    world.plane.desk_connected(agent, now);
    world.plane.desk_disconnected(agent, now);
    // Within the grace period: accepted, but not shown until the desk is back.
    let waiting = pending(
        world
            .plane
            .raise_toast(phone, toast(agent, None), now)
            .unwrap(),
    );
    assert!(world.plane.desk(agent).unwrap().toasts[0].shown.is_none());
    world
        .plane
        .desk_connected(agent, now + Duration::from_secs(5));
    assert!(
        world.plane.desk(agent).unwrap().toasts[0].shown.is_some(),
        "shown when it is back"
    );
    world
        .plane
        .desk_disconnected(agent, now + Duration::from_secs(6));
    let after_grace = now + Duration::from_secs(6) + world.plane.settings.desk_grace;
    assert_eq!(
        reason(
            world
                .plane
                .raise_toast(phone, toast(agent, None), after_grace)
        ),
        Reason::DeskOffline
    );
    assert_eq!(
        outcome(&world, waiting),
        None,
        "what was pending stays pending"
    );
}

#[test]
fn rule_12_the_same_id_means_the_same_toast() {
    let (mut world, phone, agent, now) = toast_world();
    let request = toast(agent, None);
    let key = pending(
        world
            .plane
            .raise_toast(phone, request.clone(), now)
            .unwrap(),
    );
    assert_eq!(
        pending(
            world
                .plane
                .raise_toast(phone, request.clone(), now)
                .unwrap()
        ),
        key
    );
    let mut different = request.clone();
    different.content.title = "Another call".into();
    assert_eq!(
        reason(world.plane.raise_toast(phone, different, now)),
        Reason::NotificationIdReused
    );
    world.plane.respond_to_toast(agent, key, true, now).unwrap();
    match world.plane.raise_toast(phone, request, now).unwrap() {
        Raised::Resolved(resolution) => assert_eq!(resolution.outcome, Outcome::Accepted),
        Raised::Pending(_) => panic!("a retry after the end gets the outcome"),
    }
}
