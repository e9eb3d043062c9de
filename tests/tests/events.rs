//! Events through a real cifd and the SDK: who hears what (rules 6, 8, 9, 11), snapshots,
//! resuming, lagging, limits, heartbeats, and streams ending when they must.

use cif_e2e::{
    AgentHandle, Harness, Options, ProviderHandle, caught_up, describe, events_until,
    expect_refused, next_update, raw_message, raw_until_caught_up, session_for,
};
use cif_sdk::{Update, pb};
use tonic::Code;

/// A server whose idle streams get heartbeats often, so tests see watermarks quickly.
async fn harness() -> Harness {
    Harness::start_with(Options::default().arg("--heartbeat-interval").arg("100ms")).await
}

async fn create(provider: &ProviderHandle, agent: &AgentHandle, title: &str) -> (pb::Session, u64) {
    let created = provider
        .client
        .create_session(session_for(agent, title))
        .await
        .expect("session created");
    (created.session.unwrap(), created.sequence)
}

async fn switch(agent: &AgentHandle, session: &str) -> u64 {
    agent
        .client
        .switch_session(pb::SwitchSessionRequest {
            session_id: session.into(),
            ..Default::default()
        })
        .await
        .expect("switched")
        .sequence
}

async fn close(agent: &AgentHandle, session: &str) -> u64 {
    agent
        .client
        .close_session(pb::CloseSessionRequest {
            session_id: session.into(),
            ..Default::default()
        })
        .await
        .expect("closed")
        .sequence
}

fn short(events: &[(u64, pb::Event)]) -> Vec<(&'static str, String, bool)> {
    events.iter().map(|(_, event)| describe(event)).collect()
}

#[tokio::test]
async fn switch_and_close_events_reach_exactly_the_right_owners() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let home = ada.home_session_id().await;
    let mut chat_events = caught_up(chat.client.subscribe(vec![], false)).await;
    let mut phone_events = caught_up(phone.client.subscribe(vec![], false)).await;
    let mut desk_events = caught_up(ada.client.subscribe(false)).await;

    let (a, _) = create(&chat, &ada, "Chat with Maria").await;
    let (b, _) = create(&phone, &ada, "Call from +1 555 0100").await; // chat's A loses focus
    switch(&ada, &a.id).await; // phone's B loses focus, chat's A gains it
    let last = close(&ada, &a.id).await; // chat hears A closed; focus goes back to phone's B

    let chat_saw = events_until(&mut chat_events, last).await;
    assert_eq!(
        short(&chat_saw),
        [
            ("created", a.id.clone(), true),
            ("switched", a.id.clone(), false),
            ("switched", a.id.clone(), true),
            ("closed", a.id.clone(), false),
        ]
    );
    let phone_saw = events_until(&mut phone_events, last).await;
    assert_eq!(
        short(&phone_saw),
        [
            ("created", b.id.clone(), true),
            ("switched", b.id.clone(), false),
            ("switched", b.id.clone(), true),
        ]
    );
    let desk_saw = events_until(&mut desk_events, last).await;
    assert_eq!(
        short(&desk_saw),
        [
            ("switched", home.clone(), false),
            ("created", a.id.clone(), true),
            ("visible widget", chat.id().to_owned(), false),
            ("switched", a.id.clone(), false),
            ("created", b.id.clone(), true),
            ("visible widget", phone.id().to_owned(), false),
            ("switched", b.id.clone(), false),
            ("switched", a.id.clone(), true),
            ("visible widget", chat.id().to_owned(), false),
            ("closed", a.id.clone(), false),
            ("switched", b.id.clone(), true),
            ("visible widget", phone.id().to_owned(), false),
        ]
    );
    // Every stream is in sequence order, and the switch carries the context.
    for events in [&chat_saw, &phone_saw, &desk_saw] {
        assert!(events.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
    let pb::event::Kind::SessionSwitched(switched) = chat_saw[2].1.kind.clone().unwrap() else {
        panic!("a switch")
    };
    assert_eq!(switched.session.unwrap().title, "Chat with Maria");

    // The agent's last answer reflects the same state the events describe.
    let desk = ada.client.get_desk(pb::GetDeskRequest {}).await.unwrap();
    assert_eq!(desk.sequence, last);
    assert_eq!(desk.desk.unwrap().focused_session_id, b.id);
}

#[tokio::test]
async fn only_the_agent_switches_and_closes() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let bob = harness.agent("Bob", &[]).await;
    let (session, _) = create(&chat, &ada, "Chat").await;
    let home = ada.home_session_id().await;

    // Rule 4: a provider credential on the agent's calls is refused.
    let provider_as_agent =
        cif_sdk::AgentClient::new(harness.channel.clone(), &chat.credential).unwrap();
    expect_refused(
        provider_as_agent
            .switch_session(pb::SwitchSessionRequest {
                session_id: home.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        Some("ROLE_NOT_ALLOWED"),
    );
    expect_refused(
        provider_as_agent
            .close_session(pb::CloseSessionRequest {
                session_id: session.id.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        Some("ROLE_NOT_ALLOWED"),
    );

    expect_refused(
        ada.client
            .close_session(pb::CloseSessionRequest {
                session_id: home.clone(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("HOME_SESSION_NOT_CLOSABLE"),
    );
    expect_refused(
        bob.client
            .switch_session(pb::SwitchSessionRequest {
                session_id: session.id.clone(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );
    expect_refused(
        ada.client
            .switch_session(pb::SwitchSessionRequest {
                session_id: "nope".into(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("FIELD_MALFORMED"),
    );
    expect_refused(
        ada.client
            .close_session(pb::CloseSessionRequest {
                session_id: String::new(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("FIELD_REQUIRED"),
    );
    let closed = ada
        .client
        .close_session(pb::CloseSessionRequest {
            session_id: session.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .desk
        .unwrap();
    assert!(closed.sessions.is_empty());
    assert_eq!(closed.focused_session_id, home);
    expect_refused(
        ada.client
            .switch_session(pb::SwitchSessionRequest {
                session_id: session.id.clone(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        Some("SESSION_NOT_OPEN"),
    );
    let switched = ada
        .client
        .switch_session(pb::SwitchSessionRequest {
            session_id: home.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        switched.desk.unwrap().focused_session_id,
        home,
        "switching to the focus is a no-op"
    );
}

#[tokio::test]
async fn snapshots_equal_the_state_read_at_the_same_sequence() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let bob = harness.agent("Bob", &[]).await;
    let (a, _) = create(&chat, &ada, "a").await;
    create(&phone, &ada, "b").await;
    let (c, _) = create(&chat, &bob, "c").await;

    let mut desk_stream = ada.client.subscribe(true);
    let Update::Snapshot {
        sequence,
        items,
        resynchronized,
        ..
    } = next_update(&mut desk_stream).await
    else {
        panic!("a snapshot first");
    };
    assert!(!resynchronized);
    let read = ada.client.get_desk(pb::GetDeskRequest {}).await.unwrap();
    assert_eq!(read.sequence, sequence);
    assert_eq!(
        items,
        [
            pb::SnapshotItem {
                item: Some(pb::snapshot_item::Item::Desk(read.desk.unwrap()))
            },
            pb::SnapshotItem {
                item: Some(pb::snapshot_item::Item::Widgets(read.widgets.unwrap()))
            }
        ]
    );

    let mut chat_stream = chat.client.subscribe(vec![], true);
    let Update::Snapshot { items, .. } = next_update(&mut chat_stream).await else {
        panic!("a snapshot first");
    };
    let ids: Vec<_> = items
        .iter()
        .map(|item| match &item.item {
            Some(pb::snapshot_item::Item::Session(session)) => session.id.clone(),
            other => panic!("a session, not {other:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        [a.id.clone(), c.id.clone()],
        "only chat's own sessions"
    );

    let mut only_bob = chat.client.subscribe(vec![bob.id().to_owned()], true);
    let Update::Snapshot { items, .. } = next_update(&mut only_bob).await else {
        panic!("a snapshot first");
    };
    assert_eq!(items.len(), 1);

    let mut everything = harness.admin.watch(true);
    let Update::Snapshot { items, .. } = next_update(&mut everything).await else {
        panic!("a snapshot first");
    };
    assert_eq!(items.len(), 2, "one desk per agent");

    // A provider cannot follow a desk it may not act for.
    let narrowed =
        cif_sdk::ProviderClient::new(harness.channel.clone(), &phone.credential).unwrap();
    let restricted = harness.agent("Cy", &[&chat]).await;
    let mut refused = narrowed.subscribe(vec![restricted.id().to_owned()], false);
    let error = refused.next().await.unwrap().unwrap_err();
    assert_eq!(
        (error.code(), error.reason()),
        (Code::NotFound, Some("AGENT_NOT_FOUND"))
    );
    assert!(
        refused.next().await.is_none(),
        "a refusal ends the subscription"
    );
}

#[tokio::test]
async fn a_resumed_stream_gets_exactly_the_missed_events() {
    let harness = harness().await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let mut stream = chat
        .client
        .generated()
        .subscribe(pb::SubscribeRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = raw_message(&mut stream).await;
    assert!(matches!(
        first.kind,
        Some(pb::stream_message::Kind::Heartbeat(_))
    ));
    let (log_id, seen) = (first.log_id.clone(), first.sequence);
    drop(stream);

    let (a, _) = create(&chat, &ada, "a").await;
    let (b, _) = create(&chat, &ada, "b").await;
    let last = close(&ada, &a.id).await; // not focused: focus stays on b

    let mut resumed = chat
        .client
        .generated()
        .subscribe(pb::SubscribeRequest {
            log_id: log_id.clone(),
            after_sequence: seen,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let (missed, caught_up_at) = raw_until_caught_up(&mut resumed).await;
    assert_eq!(caught_up_at, last, "caught up at the newest sequence");
    assert_eq!(
        short(&missed),
        [
            ("created", a.id.clone(), true),
            ("switched", a.id.clone(), false),
            ("created", b.id.clone(), true),
            ("closed", a.id.clone(), false),
        ]
    );
    assert!(
        missed
            .iter()
            .all(|(sequence, _)| *sequence > seen && *sequence <= last)
    );

    // A point in the future, another log, or a bad request.
    let future = chat
        .client
        .generated()
        .subscribe(pb::SubscribeRequest {
            log_id: log_id.clone(),
            after_sequence: last + 100,
            ..Default::default()
        })
        .await;
    let error = cif_sdk::Error::from(future.unwrap_err());
    assert_eq!(
        (error.code(), error.reason()),
        (Code::OutOfRange, Some("RESUME_POINT_AHEAD"))
    );
    let other_log = chat
        .client
        .generated()
        .subscribe(pb::SubscribeRequest {
            log_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
            after_sequence: 1,
            ..Default::default()
        })
        .await;
    let error = cif_sdk::Error::from(other_log.unwrap_err());
    assert_eq!(
        (error.code(), error.reason()),
        (Code::OutOfRange, Some("LOG_CHANGED"))
    );
    assert!(error.message().contains("snapshot = true"), "{error}");
    for (request, field) in [
        (
            pb::SubscribeRequest {
                log_id: log_id.clone(),
                snapshot: true,
                ..Default::default()
            },
            "snapshot",
        ),
        (
            pb::SubscribeRequest {
                log_id: "x".into(),
                ..Default::default()
            },
            "log_id",
        ),
        (
            pb::SubscribeRequest {
                agent_ids: vec!["x".into()],
                ..Default::default()
            },
            "agent_ids[0]",
        ),
    ] {
        let error = cif_sdk::Error::from(
            chat.client
                .generated()
                .subscribe(request)
                .await
                .unwrap_err(),
        );
        assert_eq!(error.code(), Code::InvalidArgument, "{error}");
        assert_eq!(error.field_violations()[0].field, field);
    }
}

#[tokio::test]
async fn a_resume_point_older_than_the_history_is_compacted() {
    let harness = Harness::start_with(Options::default().arg("--history-events").arg("4")).await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let log_id = harness
        .admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap()
        .log_id;
    for index in 0..5 {
        create(&chat, &ada, &format!("s{index}")).await;
    }
    let compacted = chat
        .client
        .generated()
        .subscribe(pb::SubscribeRequest {
            log_id,
            after_sequence: 1,
            ..Default::default()
        })
        .await;
    let error = cif_sdk::Error::from(compacted.unwrap_err());
    assert_eq!(
        (error.code(), error.reason()),
        (Code::OutOfRange, Some("RESUME_POINT_COMPACTED"))
    );
    assert!(error.message().contains("snapshot = true"), "{error}");
    assert_eq!(
        error.metadata()["oldest_sequence"],
        "7",
        "10 events, 4 kept"
    );
}

#[tokio::test]
async fn the_open_stream_limit_is_per_principal() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--max-streams-per-principal")
            .arg("2"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let first = caught_up(chat.client.subscribe(vec![], false)).await;
    let _second = caught_up(chat.client.subscribe(vec![], false)).await;
    let mut third = chat.client.subscribe(vec![], false);
    let error = third.next().await.unwrap().unwrap_err();
    assert_eq!(
        (error.code(), error.reason()),
        (Code::ResourceExhausted, Some("STREAM_LIMIT_REACHED"))
    );
    let _other_provider = caught_up(phone.client.subscribe(vec![], false)).await;

    // Closing one frees its place (the server learns of it from the connection).
    drop(first);
    let deadline = tokio::time::Instant::now() + cif_e2e::PATIENCE;
    loop {
        match chat
            .client
            .generated()
            .subscribe(pb::SubscribeRequest::default())
            .await
        {
            Ok(_stream) => break,
            Err(status) => {
                let error = cif_sdk::Error::from(status);
                assert_eq!(error.reason(), Some("STREAM_LIMIT_REACHED"));
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the place was never freed"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
