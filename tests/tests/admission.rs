//! Rules 18 (only while admitted) and 19 (no side channels) through a real cifd: what a
//! provider taken off an agent's profile can still do and hear (nothing of that desk), what
//! happens when it is admitted again, and what a provider is never told of other providers'
//! work on a desk.

use std::time::Instant;

use cif_e2e::{
    AgentHandle, Harness, Options, PATIENCE, ProviderHandle, caught_up, describe, events_until,
    expect_refused, raise, raw_until_caught_up, session_for, shown, website,
};
use cif_sdk::{Update, pb};
use tonic::{Code, Streaming};

async fn harness() -> Harness {
    Harness::start_with(Options::default().arg("--heartbeat-interval").arg("100ms")).await
}

async fn last_sequence(harness: &Harness) -> u64 {
    harness
        .admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap()
        .sequence
}

/// A provider's raw stream (no SDK: it must not resynchronise by itself), read up to its
/// catch-up heartbeat.
async fn raw_stream(
    provider: &ProviderHandle,
    request: pb::SubscribeRequest,
) -> Streaming<pb::SubscribeResponse> {
    let mut stream = provider
        .client
        .generated()
        .subscribe(request)
        .await
        .expect("a stream")
        .into_inner();
    let (before, _) = raw_until_caught_up(&mut stream).await;
    assert!(
        before.is_empty(),
        "a live stream starts at its catch-up heartbeat"
    );
    stream
}

/// The events a raw stream carries until the server ends it, and how it ended (heartbeats
/// skipped).
async fn until_it_ends(
    stream: &mut Streaming<pb::SubscribeResponse>,
) -> (Vec<pb::Event>, Code, String) {
    let deadline = Instant::now() + PATIENCE;
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout_at(deadline.into(), stream.message())
            .await
            .expect("the stream ends in time");
        match next {
            Ok(Some(response)) => {
                if let Some(pb::stream_message::Kind::Event(event)) = response.message.unwrap().kind
                {
                    events.push(event);
                }
            }
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => {
                let error = cif_sdk::Error::from(status);
                let reason = error.reason().unwrap_or_default().to_owned();
                return (events, error.code(), reason);
            }
        }
    }
}

fn names(events: &[pb::Event]) -> Vec<&'static str> {
    events.iter().map(|event| describe(event).0).collect()
}

#[tokio::test]
async fn rule_18_a_provider_taken_off_a_profile_loses_that_desk_at_once_and_has_it_back_when_admitted_again()
 {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[&chat, &phone]).await;
    let bob = harness.agent("Bob", &[&chat]).await;
    let mut desk = caught_up(ada.client.subscribe(false)).await;

    // Chat's work on Ada's desk: a session with a tab (it has focus), a tab in home, and a
    // toast on screen; and one session on Bob's desk.
    let session = chat
        .client
        .create_session(session_for(&ada, "Chat with Maria"))
        .await
        .unwrap()
        .session
        .unwrap();
    let tab = chat
        .client
        .create_tab(website(&session.id, "Customer"))
        .await
        .unwrap()
        .tab
        .unwrap();
    let home = ada.home_session_id().await;
    let home_tab = chat
        .client
        .create_tab(website(&home, "Search"))
        .await
        .unwrap()
        .tab
        .unwrap();
    let bobs = chat
        .client
        .create_session(session_for(&bob, "Chat with Ed"))
        .await
        .unwrap()
        .session
        .unwrap();
    let toast_id = "0199f0c8-51c4-7bb0-9d8e-000000000018";
    let toast = raise(
        &chat,
        pb::NotifyEventRequest {
            agent_id: ada.id().into(),
            notification_id: toast_id.into(),
            title: "Incoming chat".into(),
            ..Default::default()
        },
    );
    shown(&mut desk).await;

    // Chat follows every desk (the SDK, which resynchronises by itself), Ada's desk only, and
    // Bob's desk only.
    let mut everywhere = caught_up(chat.client.subscribe(vec![], false)).await;
    let mut on_ada = raw_stream(
        &chat,
        pb::SubscribeRequest {
            agent_ids: vec![ada.id().into()],
            ..Default::default()
        },
    )
    .await;
    let mut on_bob = caught_up(chat.client.subscribe(vec![bob.id().into()], false)).await;
    let before_removal = last_sequence(&harness).await;

    harness.set_profile(&ada, &[&phone]).await;

    // The pending toast ends, cancelled because chat is no longer admitted, and chat hears
    // it: the waiting call, the stream of every desk and the stream of Ada's desk, which then
    // ends as opening it now would.
    let outcome = tokio::time::timeout(PATIENCE, toast)
        .await
        .expect("the toast ends in time")
        .unwrap()
        .unwrap()
        .result
        .unwrap();
    assert_eq!(
        (outcome.outcome(), outcome.cancelled_by()),
        (
            pb::NotificationOutcome::Cancelled,
            pb::NotificationCanceller::ProviderNotAdmitted
        )
    );
    let (heard, code, reason) = until_it_ends(&mut on_ada).await;
    assert_eq!(names(&heard), ["toast resolved"]);
    assert_eq!((code, reason.as_str()), (Code::NotFound, "AGENT_NOT_FOUND"));
    let opened = chat
        .client
        .generated()
        .subscribe(pb::SubscribeRequest {
            agent_ids: vec![ada.id().into()],
            ..Default::default()
        })
        .await;
    let error = cif_sdk::Error::from(opened.map(drop).unwrap_err());
    assert_eq!(
        (error.code(), error.reason()),
        (Code::NotFound, Some("AGENT_NOT_FOUND"))
    );

    // Everything about Ada's desk answers as for what does not exist.
    let missing = expect_refused(
        chat.client
            .get_session(pb::GetSessionRequest {
                session_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    let hidden = expect_refused(
        chat.client
            .get_session(pb::GetSessionRequest {
                session_id: session.id.clone(),
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    assert_eq!(
        hidden.message().replace(&session.id, "ID"),
        missing
            .message()
            .replace("0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11", "ID")
    );
    expect_refused(
        chat.client
            .set_session_title(pb::SetSessionTitleRequest {
                session_id: session.id.clone(),
                title: "x".into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    expect_refused(
        chat.client
            .update_session_context(pb::UpdateSessionContextRequest {
                session_id: session.id.clone(),
                set: [("k".to_owned(), "v".to_owned())].into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    for session_id in [&session.id, &home] {
        expect_refused(
            chat.client.create_tab(website(session_id, "x")).await,
            Code::NotFound,
            Some("SESSION_NOT_FOUND"),
        );
    }
    for tab_id in [&tab.id, &home_tab.id] {
        expect_refused(
            chat.client
                .focus_tab(pb::FocusTabRequest {
                    tab_id: tab_id.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
            Some("TAB_NOT_FOUND"),
        );
        expect_refused(
            chat.client
                .close_tab(pb::CloseTabRequest {
                    tab_id: tab_id.clone(),
                    ..Default::default()
                })
                .await,
            Code::NotFound,
            Some("TAB_NOT_FOUND"),
        );
    }
    expect_refused(
        chat.client
            .cancel_event(pb::CancelEventRequest {
                notification_id: toast_id.into(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("NOTIFICATION_NOT_FOUND"),
    );
    expect_refused(
        chat.client.create_session(session_for(&ada, "again")).await,
        Code::NotFound,
        Some("AGENT_NOT_FOUND"),
    );
    expect_refused(
        chat.client
            .get_mode(pb::GetModeRequest {
                agent_id: ada.id().into(),
            })
            .await,
        Code::NotFound,
        Some("AGENT_NOT_FOUND"),
    );
    let listed = chat
        .client
        .list_sessions(pb::ListSessionsRequest {
            show_closed: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .sessions;
    assert_eq!(
        listed.iter().map(|s| &s.id).collect::<Vec<_>>(),
        [&bobs.id],
        "only Bob's desk is chat's now"
    );

    // The session stays on Ada's desk for her to close, its owner shown as not admitted.
    let on_desk = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap();
    let owner = on_desk.sessions[0].owner.clone().unwrap();
    assert_eq!(
        (owner.provider_id.as_str(), owner.provider_not_admitted),
        (chat.id(), true)
    );

    // Its session still has focus, but chat is no longer the active provider: phone, the
    // default provider now, hears the agent's panel changes; chat hears nothing of them, nor
    // of the agent's closing its session.
    let mut phone_events = caught_up(phone.client.subscribe(vec![], false)).await;
    ada.client
        .set_mode(pb::AgentServiceSetModeRequest {
            mode: pb::PanelMode::Minimized as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    ada.client
        .close_session(pb::CloseSessionRequest {
            session_id: session.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let now = last_sequence(&harness).await;
    let phone_heard = events_until(&mut phone_events, now).await;
    assert_eq!(
        names(&phone_heard.into_iter().map(|(_, e)| e).collect::<Vec<_>>()),
        ["mode"]
    );
    let chat_heard: Vec<pb::Event> = events_until(&mut everywhere, now)
        .await
        .into_iter()
        .map(|(_, event)| event)
        .collect();
    assert_eq!(
        names(&chat_heard),
        ["toast resolved"],
        "after its toast's end, nothing of Ada's desk"
    );
    let desk_heard: Vec<pb::Event> = events_until(&mut desk, now)
        .await
        .into_iter()
        .map(|(_, event)| event)
        .collect();
    assert_eq!(
        names(&desk_heard),
        [
            "toast resolved",
            "not admitted",
            // Chat's widget leaves the desk; in home, phone is the only one and shows.
            "widgets",
            "mode",
            "closed",
            "switched",
            "visible widget"
        ]
    );
    assert_eq!(describe(&desk_heard[1]).1, chat.id());

    // Admitted again: chat has Ada's desk back; its streams that follow that desk were told to
    // resynchronise (the SDK does, by itself), and a resume from before that point is too.
    let mut resuming = raw_stream(&chat, pb::SubscribeRequest::default()).await;
    harness.set_profile(&ada, &[&chat, &phone]).await;
    let (_, code, reason) = until_it_ends(&mut resuming).await;
    assert_eq!(
        (code, reason.as_str()),
        (Code::OutOfRange, "PROVIDER_READMITTED")
    );
    let log_id = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .log_id;
    let mut resumed = chat
        .client
        .generated()
        .subscribe(pb::SubscribeRequest {
            log_id,
            after_sequence: before_removal,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let (replayed, code, reason) = until_it_ends(&mut resumed).await;
    assert_eq!(names(&replayed), ["toast resolved"]);
    assert_eq!(
        (code, reason.as_str()),
        (Code::OutOfRange, "PROVIDER_READMITTED")
    );

    let deadline = Instant::now() + PATIENCE;
    let items = loop {
        assert!(Instant::now() < deadline, "no resynchronisation in time");
        match tokio::time::timeout(PATIENCE, everywhere.next()).await {
            Ok(Some(Ok(Update::Snapshot {
                items,
                resynchronized,
                ..
            }))) => {
                assert!(resynchronized);
                break items;
            }
            Ok(Some(Ok(Update::Heartbeat { .. }))) => {}
            other => panic!("expected a resynchronising snapshot, got {other:?}"),
        }
    };
    let sessions: Vec<String> = items
        .into_iter()
        .filter_map(|item| match item.item {
            Some(pb::snapshot_item::Item::Session(session)) => Some(session.id),
            _ => None,
        })
        .collect();
    assert_eq!(
        sessions,
        [bobs.id.clone(), home.clone()],
        "its open session on Bob's desk and its tab in Ada's home"
    );
    let back = chat
        .client
        .get_session(pb::GetSessionRequest {
            session_id: session.id.clone(),
        })
        .await
        .unwrap()
        .session
        .unwrap();
    assert_eq!(
        back.state(),
        pb::SessionState::Closed,
        "readable again, closed by Ada"
    );
    assert!(!back.owner.unwrap().provider_not_admitted);

    // The stream that follows only Bob's desk went on through all of it, hearing nothing.
    let bob_heard = events_until(&mut on_bob, last_sequence(&harness).await).await;
    assert!(bob_heard.is_empty(), "{bob_heard:?}");
}

#[tokio::test]
async fn rule_19_a_provider_is_told_nothing_that_moves_with_another_providers_work() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness
        .admin
        .create_agent(pb::CreateAgentRequest {
            agent: Some(pb::Agent {
                display_name: "Ada".into(),
                limits: Some(pb::AgentLimits {
                    max_tabs_per_session: 3,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let ada = AgentHandle {
        client: cif_sdk::AgentClient::new(harness.channel.clone(), &ada.credential).unwrap(),
        record: ada.agent.unwrap(),
        credential: ada.credential,
    };
    harness
        .presence("busy", "Busy", pb::PresenceStatus::Busy)
        .await;
    let mut desk = caught_up(ada.client.subscribe(false)).await;
    let mut chat_events = caught_up(chat.client.subscribe(vec![], false)).await;

    // No desk version to expect on a provider's desk-wide call, stale or not.
    for version in [0, 1_000] {
        // The deprecated field is what this checks is refused.
        #[allow(deprecated)]
        let refusals = [
            chat.client
                .set_mode(pb::SetModeRequest {
                    agent_id: ada.id().into(),
                    mode: pb::PanelMode::Docked as i32,
                    expected_version: Some(version),
                    ..Default::default()
                })
                .await
                .map(drop),
            chat.client
                .set_width(pb::SetWidthRequest {
                    agent_id: ada.id().into(),
                    width: 400,
                    expected_version: Some(version),
                    ..Default::default()
                })
                .await
                .map(drop),
            chat.client
                .set_presence(pb::SetPresenceRequest {
                    agent_id: ada.id().into(),
                    presence_text: "Busy".into(),
                    expected_version: Some(version),
                    ..Default::default()
                })
                .await
                .map(drop),
        ];
        for refused in refusals {
            let error = expect_refused(refused, Code::InvalidArgument, Some("FIELD_NOT_ALLOWED"));
            assert_eq!(error.field_violations()[0].field, "expected_version");
            assert!(
                error.message().contains("no version for providers"),
                "{error}"
            );
        }
    }

    // Home: no version, no tab focus, and a full home says only that it is full.
    let home = ada.home_session_id().await;
    let mut with_version = website(&home, "Search");
    with_version.expected_version = Some(0);
    expect_refused(
        chat.client.create_tab(with_version).await,
        Code::InvalidArgument,
        Some("FIELD_NOT_ALLOWED"),
    );
    let chat_tab = chat
        .client
        .create_tab(website(&home, "Search"))
        .await
        .unwrap()
        .tab
        .unwrap();
    assert!(!chat_tab.focused, "home's focus is not told to providers");
    let read_home = || async {
        chat.client
            .get_session(pb::GetSessionRequest {
                session_id: home.clone(),
            })
            .await
            .unwrap()
            .session
            .unwrap()
    };
    let before = read_home().await;
    for title in ["Phone search", "Dialer"] {
        phone
            .client
            .create_tab(website(&home, title))
            .await
            .unwrap();
    }
    let after = read_home().await;
    assert_eq!(
        before, after,
        "phone's tabs in home change nothing chat reads"
    );
    let focused = chat
        .client
        .get_focused_tab(pb::GetFocusedTabRequest {
            session_id: home.clone(),
        })
        .await
        .unwrap();
    assert_eq!(focused.tab, None, "in home, never told");
    assert_eq!((after.version, after.focused_tab_id.as_str()), (0, ""));
    assert_eq!(after.tabs.len(), 1);
    let full = expect_refused(
        chat.client.create_tab(website(&home, "One more")).await,
        Code::ResourceExhausted,
        Some("TAB_LIMIT_REACHED"),
    );
    let message = full.message().replace(&home, "HOME");
    assert!(
        !message.chars().any(|c| c.is_ascii_digit()),
        "no count of others' tabs: {message}"
    );
    let agent_view = ada
        .client
        .get_desk(pb::GetDeskRequest {})
        .await
        .unwrap()
        .desk
        .unwrap()
        .home_session
        .unwrap();
    assert_eq!(agent_view.tabs.len(), 3, "the agent sees every tab");
    assert!(agent_view.version > 0);

    // Presence: every provider hears the change, not who made it; the desk does.
    phone
        .client
        .set_presence(pb::SetPresenceRequest {
            agent_id: ada.id().into(),
            presence_text: "Busy".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let now = last_sequence(&harness).await;
    let presence_set_by = |events: Vec<(u64, pb::Event)>| -> Vec<String> {
        events
            .into_iter()
            .filter_map(|(_, event)| match event.kind {
                Some(pb::event::Kind::PresenceChanged(changed)) => Some(changed.set_by_provider_id),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        presence_set_by(events_until(&mut chat_events, now).await),
        [""]
    );
    assert_eq!(
        presence_set_by(events_until(&mut desk, now).await),
        [phone.id()]
    );

    // A stale version on another provider's session: missing, as without a version.
    let phones = phone
        .client
        .create_session(session_for(&ada, "Call"))
        .await
        .unwrap()
        .session
        .unwrap();
    expect_refused(
        chat.client
            .set_session_title(pb::SetSessionTitleRequest {
                session_id: phones.id,
                title: "x".into(),
                expected_version: Some(1_000),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
}
