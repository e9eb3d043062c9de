//! The whole desk through a real cifd and the SDK, one test per rule: tabs (3), attention
//! (7), the panel (10), presence (13), context (14), custom events (16) and click-to-act.
//! Toasts (rule 12) have their own file.

use std::collections::BTreeMap;

use cif_e2e::{
    AgentHandle, Harness, Options, ProviderHandle, caught_up, describe, events_until,
    expect_refused, session_for, website,
};
use cif_sdk::pb;
use tonic::Code;

async fn harness() -> Harness {
    Harness::start_with(Options::default().arg("--heartbeat-interval").arg("100ms")).await
}

async fn create(provider: &ProviderHandle, agent: &AgentHandle, title: &str) -> pb::Session {
    provider
        .client
        .create_session(session_for(agent, title))
        .await
        .expect("session created")
        .session
        .unwrap()
}

async fn home_id(agent: &AgentHandle) -> String {
    let desk = agent
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    desk.home_session.unwrap().id
}

async fn last_sequence(harness: &Harness) -> u64 {
    harness
        .admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap()
        .sequence
}

#[tokio::test]
async fn rule_3_tabs_only_in_your_sessions_and_your_own_in_home() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let mut phone_events = caught_up(phone.client.subscribe(vec![], false)).await;
    let chats = create(&chat, &ada, "Chat").await;
    let home = home_id(&ada).await;

    let tab = chat
        .client
        .create_tab(website(&chats.id, "Customer"))
        .await
        .unwrap()
        .tab
        .unwrap();
    assert!(tab.focused, "the first tab of a session is focused");
    let second = chat
        .client
        .create_tab(website(&chats.id, "Orders"))
        .await
        .unwrap()
        .tab
        .unwrap();
    chat.client
        .focus_tab(pb::FocusTabRequest {
            tab_id: second.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    chat.client
        .refresh_tab(pb::RefreshTabRequest {
            tab_id: second.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let retitled = chat
        .client
        .set_tab_title(pb::SetTabTitleRequest {
            tab_id: tab.id.clone(),
            title: "Maria".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .tab
        .unwrap();
    assert_eq!(retitled.title, "Maria");
    let listed = chat
        .client
        .list_tabs(pb::ListTabsRequest {
            session_id: chats.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        listed
            .tabs
            .iter()
            .map(|t| t.title.as_str())
            .collect::<Vec<_>>(),
        ["Maria", "Orders"]
    );
    let focused = chat
        .client
        .get_focused_tab(pb::GetFocusedTabRequest {
            session_id: chats.id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(focused.tab.unwrap().id, second.id);

    // Another provider's session: as if it did not exist.
    expect_refused(
        phone.client.create_tab(website(&chats.id, "x")).await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    expect_refused(
        phone
            .client
            .close_tab(pb::CloseTabRequest {
                tab_id: tab.id.clone(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("TAB_NOT_FOUND"),
    );

    // Home: both open tabs there; each sees and touches only its own.
    let chat_home = chat
        .client
        .create_tab(website(&home, "Chat queue"))
        .await
        .unwrap()
        .tab
        .unwrap();
    let phone_home = phone
        .client
        .create_tab(website(&home, "Dialer"))
        .await
        .unwrap()
        .tab
        .unwrap();
    let phone_sees = phone
        .client
        .list_tabs(pb::ListTabsRequest {
            session_id: home.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        phone_sees
            .tabs
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        [phone_home.id.as_str()]
    );
    let foreign = expect_refused(
        phone
            .client
            .set_tab_title(pb::SetTabTitleRequest {
                tab_id: chat_home.id.clone(),
                title: "x".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("TAB_NOT_FOUND"),
    );
    let missing = expect_refused(
        phone
            .client
            .set_tab_title(pb::SetTabTitleRequest {
                tab_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
                title: "x".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("TAB_NOT_FOUND"),
    );
    assert_eq!(
        foreign.message().replace(&chat_home.id, "ID"),
        missing
            .message()
            .replace("0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11", "ID")
    );
    // The agent sees every tab and may focus and close any.
    let desk = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    assert_eq!(desk.home_session.unwrap().tabs.len(), 2);
    ada.client
        .focus_tab(pb::AgentServiceFocusTabRequest {
            tab_id: phone_home.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let after = ada
        .client
        .close_tab(pb::AgentServiceCloseTabRequest {
            tab_id: second.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(after.tabs.len(), 1);
    assert_eq!(after.focused_tab_id, tab.id, "focus goes to the tab before");

    // The limit: 10 tabs per session, then "close a tab first".
    for index in 0..9 {
        chat.client
            .create_tab(website(&chats.id, &format!("t{index}")))
            .await
            .unwrap();
    }
    let full = expect_refused(
        chat.client.create_tab(website(&chats.id, "eleventh")).await,
        Code::ResourceExhausted,
        Some("TAB_LIMIT_REACHED"),
    );
    assert!(full.message().contains("close a tab first"));

    // Phone heard only its own: its home tab being opened. Which tab has focus in home is
    // never told to a provider (it moves with other providers' tabs there, rule 19), so not
    // the agent focusing it either.
    let phone_saw = events_until(&mut phone_events, last_sequence(&harness).await).await;
    let kinds: Vec<_> = phone_saw.iter().map(|(_, e)| describe(e)).collect();
    assert_eq!(kinds, [("tab created", phone_home.id.clone(), false)]);
}

#[tokio::test]
async fn rule_7_attention_marks_and_what_a_switch_clears() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let chats = create(&chat, &ada, "Chat").await;
    let phones = create(&phone, &ada, "Call").await; // focused
    let mut chat_events = caught_up(chat.client.subscribe(vec![], false)).await;

    let on_focused = phone
        .client
        .request_focus_session(pb::RequestFocusSessionRequest {
            session_id: phones.id.clone(),
            messages_count: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        on_focused.already_focused,
        "the session is already in focus: nothing to mark"
    );
    assert!(
        !on_focused
            .session
            .unwrap()
            .marks
            .unwrap()
            .attention_requested
    );

    let marked = chat
        .client
        .request_focus_session(pb::RequestFocusSessionRequest {
            session_id: chats.id.clone(),
            messages_count: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!marked.already_focused);
    let marks = marked.session.unwrap().marks.unwrap();
    assert!(marks.attention_requested && marks.messages_count == 3);
    chat.client
        .notify_new_activity(pb::NotifyNewActivityRequest {
            session_id: chats.id.clone(),
            count: 4,
            ..Default::default()
        })
        .await
        .unwrap();
    chat.client
        .notify_kpi_breach(pb::NotifyKpiBreachRequest {
            session_id: chats.id.clone(),
            reset: false,
            details: "first response > 60 s".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    expect_refused(
        phone
            .client
            .notify_kpi_breach(pb::NotifyKpiBreachRequest {
                session_id: chats.id.clone(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    // Nothing switched: phone's session still has focus.
    let desk = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    assert_eq!(desk.focused_session_id, phones.id);
    let marks = desk.sessions[0].marks.clone().unwrap();
    assert!(
        marks.attention_requested
            && marks.new_activity
            && marks.new_activity_count == 4
            && marks.kpi_breached
    );

    // The agent switches: attention and activity clear, the KPI flag stays until reset.
    ada.client
        .switch_session(pb::SwitchSessionRequest {
            session_id: chats.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let session = chat
        .client
        .get_session(pb::GetSessionRequest {
            session_id: chats.id.clone(),
        })
        .await
        .unwrap();
    let marks = session.session.unwrap().marks.unwrap();
    assert!(!marks.attention_requested && !marks.new_activity);
    assert!(marks.kpi_breached && marks.kpi_details == "first response > 60 s");
    let reset = chat
        .client
        .notify_kpi_breach(pb::NotifyKpiBreachRequest {
            session_id: chats.id.clone(),
            reset: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(!reset.session.unwrap().marks.unwrap().kpi_breached);

    let events = events_until(&mut chat_events, last_sequence(&harness).await).await;
    let kinds: Vec<_> = events.iter().map(|(_, e)| describe(e).0).collect();
    assert_eq!(
        kinds,
        ["marks", "marks", "marks", "switched", "marks", "marks"],
        "set x3, gain focus, cleared, reset"
    );
}

#[tokio::test]
async fn rule_10_the_panel_in_home_with_several_providers_and_with_one() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await; // both providers
    let solo = harness.agent("Solo", &[&phone]).await; // phone only
    let set_mode = |agent: &AgentHandle, mode: pb::PanelMode| pb::SetModeRequest {
        agent_id: agent.id().into(),
        mode: mode as i32,
        ..Default::default()
    };
    let mut phone_events = caught_up(phone.client.subscribe(vec![], false)).await;

    // Several providers, home focused: refused, saying what to do.
    let refused = expect_refused(
        phone
            .client
            .set_mode(set_mode(&ada, pb::PanelMode::Docked))
            .await,
        Code::FailedPrecondition,
        Some("HOME_SESSION_MODE_UNSUPPORTED"),
    );
    assert!(
        refused.message().contains("create your default session"),
        "{refused}"
    );
    // The provider creates its default session; then SetMode works and it hears the change.
    let default = create(&phone, &ada, "Dialer").await;
    let answer = phone
        .client
        .set_mode(set_mode(&ada, pb::PanelMode::Minimized))
        .await
        .unwrap();
    assert_eq!(answer.mode(), pb::PanelMode::Minimized);
    phone
        .client
        .set_width(pb::SetWidthRequest {
            agent_id: ada.id().into(),
            width: 420,
            ..Default::default()
        })
        .await
        .unwrap();
    let read = phone
        .client
        .get_width(pb::GetWidthRequest {
            agent_id: ada.id().into(),
        })
        .await
        .unwrap();
    assert_eq!(read.width, 420);
    // Chat may read the panel, not set it while phone's session has focus.
    let mode = chat
        .client
        .get_mode(pb::GetModeRequest {
            agent_id: ada.id().into(),
        })
        .await
        .unwrap();
    assert_eq!(mode.mode(), pb::PanelMode::Minimized);
    create(&chat, &ada, "Chat").await;
    expect_refused(
        phone
            .client
            .set_mode(set_mode(&ada, pb::PanelMode::Docked))
            .await,
        Code::FailedPrecondition,
        Some("FOCUSED_SESSION_NOT_OWNED"),
    );
    // The agent may at any time.
    ada.client
        .set_mode(pb::AgentServiceSetModeRequest {
            mode: pb::PanelMode::Hidden as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let events = events_until(&mut phone_events, last_sequence(&harness).await).await;
    let kinds: Vec<_> = events.iter().map(|(_, e)| describe(e).0).collect();
    assert_eq!(
        kinds,
        ["created", "mode", "width", "switched"],
        "phone hears its panel changes while it is the active provider, not the agent's later one (chat is active then)"
    );
    assert_eq!(
        describe(&events[3].1),
        ("switched", default.id.clone(), false)
    );

    // A single provider may set the panel in home...
    phone
        .client
        .set_mode(set_mode(&solo, pb::PanelMode::Docked))
        .await
        .unwrap();
    // ...and after the agent closes its session, it hears so and shows itself again in home.
    let call = create(&phone, &solo, "Call").await;
    phone
        .client
        .set_mode(set_mode(&solo, pb::PanelMode::Minimized))
        .await
        .unwrap();
    solo.client
        .close_session(pb::CloseSessionRequest {
            session_id: call.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let events = events_until(&mut phone_events, last_sequence(&harness).await).await;
    assert!(
        events
            .iter()
            .any(|(_, e)| describe(e) == ("closed", call.id.clone(), false))
    );
    let shown = phone
        .client
        .set_mode(set_mode(&solo, pb::PanelMode::Docked))
        .await
        .unwrap();
    assert_eq!(shown.mode(), pb::PanelMode::Docked);
}

#[tokio::test]
async fn rule_13_presence_set_by_text_or_id_and_every_provider_hears_it() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let other = harness.provider("other_x").await;
    let ada = harness.agent("Ada", &[&chat, &phone]).await;
    for (id, text, status) in [
        ("available", "Available", pb::PresenceStatus::Available),
        ("dnd", "Do not disturb", pb::PresenceStatus::BusyDnd),
    ] {
        harness
            .admin
            .create_presence(pb::CreatePresenceRequest {
                presence: Some(pb::Presence {
                    presence_id: id.into(),
                    text: text.into(),
                    base_status: status as i32,
                    color: String::new(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let mut chat_events = caught_up(chat.client.subscribe(vec![], false)).await;
    let mut other_events = caught_up(other.client.subscribe(vec![], false)).await;

    let set = phone
        .client
        .set_presence(pb::SetPresenceRequest {
            agent_id: ada.id().into(),
            presence_text: "Do not disturb".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .presence
        .unwrap();
    assert_eq!(
        (set.presence_id.as_str(), set.base_status()),
        ("dnd", pb::PresenceStatus::BusyDnd)
    );
    assert_eq!(set.color, "#808080", "the default colour");
    let refused = expect_refused(
        phone
            .client
            .set_presence(pb::SetPresenceRequest {
                agent_id: ada.id().into(),
                presence_text: "Lunch".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("PRESENCE_NOT_FOUND"),
    );
    assert!(
        refused.message().contains("Available"),
        "lists the texts: {refused}"
    );
    let listed = ada
        .client
        .list_presences(pb::AgentServiceListPresencesRequest {})
        .await
        .unwrap();
    assert_eq!(listed.presences.len(), 2);
    ada.client
        .set_presence(pb::AgentServiceSetPresenceRequest {
            presence_id: "available".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let read = chat
        .client
        .get_presence(pb::GetPresenceRequest {
            agent_id: ada.id().into(),
        })
        .await
        .unwrap();
    assert_eq!(read.presence.unwrap().text, "Available");

    let last = last_sequence(&harness).await;
    let chat_saw = events_until(&mut chat_events, last).await;
    assert_eq!(
        chat_saw
            .iter()
            .map(|(_, e)| describe(e))
            .collect::<Vec<_>>(),
        [
            ("presence", "dnd".to_string(), false),
            ("presence", "available".to_string(), false)
        ]
    );
    assert!(
        events_until(&mut other_events, last).await.is_empty(),
        "not a provider of Ada's"
    );
}

#[tokio::test]
async fn rule_14_the_owner_updates_and_deletes_context_keys() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let mut request = session_for(&ada, "Chat");
    request.context = BTreeMap::from([
        ("customerName".into(), "Maria".into()),
        ("queue".into(), "billing".into()),
    ]);
    let session = chat
        .client
        .create_session(request)
        .await
        .unwrap()
        .session
        .unwrap();
    let mut chat_events = caught_up(chat.client.subscribe(vec![], false)).await;

    let updated = chat
        .client
        .update_session_context(pb::UpdateSessionContextRequest {
            session_id: session.id.clone(),
            set: BTreeMap::from([
                ("orderId".into(), "42".into()),
                ("customerName".into(), "Maria Garcia".into()),
            ]),
            delete: vec!["queue".into(), "absent".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(
        updated.context,
        BTreeMap::from([
            ("customerName".into(), "Maria Garcia".into()),
            ("orderId".into(), "42".into())
        ])
    );
    chat.client
        .set_session_title(pb::SetSessionTitleRequest {
            session_id: session.id.clone(),
            title: "Maria Garcia".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    expect_refused(
        phone
            .client
            .update_session_context(pb::UpdateSessionContextRequest {
                session_id: session.id.clone(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    let events = events_until(&mut chat_events, last_sequence(&harness).await).await;
    let pb::event::Kind::SessionContextChanged(changed) = events[0].1.kind.clone().unwrap() else {
        panic!("a context change first: {events:?}")
    };
    let mut set = changed.set_keys.clone();
    set.sort();
    assert_eq!(
        (set, changed.deleted_keys.clone()),
        (
            vec!["customerName".to_string(), "orderId".to_string()],
            vec!["queue".to_string()]
        )
    );
    assert_eq!(describe(&events[1].1).0, "retitled");
}

#[tokio::test]
async fn rule_16_custom_events_both_ways_and_click_to_act() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let mut phone_spec = cif_e2e::provider_spec("fabrikam_phone");
    phone_spec.enable_outbound = true;
    phone_spec.channel_order = 1;
    let phone_created = harness
        .admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(phone_spec),
            ..Default::default()
        })
        .await
        .unwrap();
    let phone_handle = ProviderHandle {
        client: cif_sdk::ProviderClient::new(harness.channel.clone(), &phone_created.credential)
            .unwrap(),
        record: phone_created.provider.unwrap(),
        credential: phone_created.credential,
    };
    let phone = phone_handle.client.clone();
    let phone_id = phone_handle.id().to_owned();
    let stranger = harness.provider("other_x").await;
    let ada = harness.agent("Ada", &[&chat, &phone_handle]).await;
    let mut desk_events = caught_up(ada.client.subscribe(false)).await;
    let mut phone_events = caught_up(phone.subscribe(vec![], false)).await;
    let mut chat_events = caught_up(chat.client.subscribe(vec![], false)).await;

    chat.client
        .raise_event(pb::RaiseEventRequest {
            agent_id: ada.id().into(),
            name: "wrapup".into(),
            payload: r#"{"code":7}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let named = ada
        .client
        .raise_event(pb::AgentServiceRaiseEventRequest {
            provider_id: phone_id.clone(),
            name: "dial".into(),
            payload: "{}".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(named.provider_id, phone_id);
    // Unnamed: to the active provider; with home focused that is the default provider, the
    // lowest channel order: chat (0) before phone (1).
    let unnamed = ada
        .client
        .raise_event(pb::AgentServiceRaiseEventRequest {
            name: "hello".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(unnamed.provider_id, chat.id());
    expect_refused(
        ada.client
            .raise_event(pb::AgentServiceRaiseEventRequest {
                provider_id: stranger.id().into(),
                name: "x".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("PROVIDER_NOT_FOUND"),
    );
    // Click-to-act: to the active provider if its outbound is on. Chat's is off.
    let click = || pb::ClickToActRequest {
        value: "+1 555 0100".into(),
        name: "mobilephone".into(),
        format: "phone".into(),
        entity_logical_name: "contact".into(),
        ..Default::default()
    };
    expect_refused(
        ada.client.click_to_act(click()).await,
        Code::FailedPrecondition,
        Some("CLICK_TO_ACT_DISABLED"),
    );
    phone
        .create_session(pb::CreateSessionRequest {
            agent_id: ada.id().into(),
            title: "Dialer".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let clicked = ada.client.click_to_act(click()).await.unwrap();
    assert_eq!(clicked.provider_id, phone_id);

    let last = last_sequence(&harness).await;
    let desk = events_until(&mut desk_events, last).await;
    let customs: Vec<_> = desk
        .iter()
        .filter(|(_, e)| describe(e).0 == "custom")
        .map(|(_, e)| describe(e).1)
        .collect();
    assert_eq!(customs, ["wrapup", "dial", "hello"]);
    let phone_saw: Vec<_> = events_until(&mut phone_events, last)
        .await
        .iter()
        .map(|(_, e)| describe(e))
        .collect();
    assert!(phone_saw.contains(&("custom", "dial".into(), false)));
    assert!(phone_saw.contains(&("click to act", "+1 555 0100".into(), false)));
    assert!(
        !phone_saw
            .iter()
            .any(|(_, id, _)| id == "wrapup" || id == "hello")
    );
    let chat_saw: Vec<_> = events_until(&mut chat_events, last)
        .await
        .iter()
        .map(|(_, e)| describe(e))
        .collect();
    assert_eq!(
        chat_saw,
        [("custom", "hello".to_string(), false)],
        "chat hears only what was sent to it"
    );

    let environment = phone
        .get_environment(pb::GetEnvironmentRequest {})
        .await
        .unwrap();
    assert_eq!(
        (
            environment.cif_version.as_str(),
            environment.unique_name.as_str()
        ),
        ("2.0", "fabrikam_phone")
    );
}

#[tokio::test]
async fn switch_and_close_answer_with_as_much_of_the_desk_as_asked() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let first = create(&chat, &ada, "Maria Garcia").await;
    let second = create(&chat, &ada, "Ravi Patel").await;

    let full = ada
        .client
        .switch_session(pb::SwitchSessionRequest {
            session_id: first.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .desk
        .unwrap();
    assert_eq!(full.sessions.len(), 2, "unset: the whole desk");
    assert!(full.home_session.is_some());

    let basic = ada
        .client
        .switch_session(pb::SwitchSessionRequest {
            session_id: second.id.clone(),
            view: pb::DeskView::Basic as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .desk
        .unwrap();
    assert!(basic.sessions.is_empty() && basic.home_session.is_none());
    assert_eq!(basic.focused_session_id, second.id);
    assert_eq!(basic.agent_id, ada.id());
    assert!(basic.version > full.version, "the desk changed since");

    let closed = ada
        .client
        .close_session(pb::CloseSessionRequest {
            session_id: second.id.clone(),
            view: pb::DeskView::Basic as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .desk
        .unwrap();
    assert!(closed.sessions.is_empty());
    assert_eq!(closed.focused_session_id, first.id, "focus went back");

    let refused = ada
        .client
        .switch_session(pb::SwitchSessionRequest {
            session_id: first.id.clone(),
            view: 99,
            ..Default::default()
        })
        .await;
    let error = expect_refused(refused, Code::InvalidArgument, Some("FIELD_OUT_OF_RANGE"));
    assert!(error.to_string().contains("view"), "{error}");
}
