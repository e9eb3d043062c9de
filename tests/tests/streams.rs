//! Streams under stress and at their ends: a subscriber that stops reading, resuming by the
//! SDK across lag and restarts, heartbeats, revocations and shutdown.

use std::time::Duration;

use cif_e2e::{
    Cifd, Harness, Options, PATIENCE, caught_up, describe, ending, events_until, next_event,
    raw_ending, raw_events_until, raw_message, session_for, skip_heartbeats, update_where,
};
use cif_sdk::{AdminClient, Update, pb};
use tonic::Code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_stops_reading_is_ended_alone_and_resumes_with_nothing_lost() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--subscriber-queue")
            .arg("16")
            .arg("--heartbeat-interval")
            .arg("100ms"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;

    // The slow one reads its catch-up heartbeat on a connection of its own, then nothing.
    let slow_channel = harness.cifd.channel().await;
    let slow_client = cif_sdk::ProviderClient::new(slow_channel, &chat.credential).unwrap();
    let mut slow = slow_client
        .generated()
        .subscribe(pb::SubscribeRequest::default())
        .await
        .unwrap()
        .into_inner();
    let hello = raw_message(&mut slow).await;
    let log_id = hello.log_id.clone();

    // The fast one reads everything as it comes, in a task of its own. Each event carries a
    // session with a large context, so the slow stream's backlog outgrows every buffer between
    // the server and the slow client (HTTP/2 windows, sockets) and reaches its queue.
    const ROUNDS: usize = 120;
    let mut fast = caught_up(chat.client.subscribe(vec![], false)).await;
    let fast_reader = tokio::spawn(async move {
        let mut events = Vec::new();
        while events.len() < ROUNDS * 2 {
            events.push(next_event(&mut fast).await);
        }
        events
    });

    // The writer creates and closes sessions flat out.
    let writer = {
        let (chat, ada) = (chat.client.clone(), ada.client.clone());
        let agent_id = ada_id(&harness, &ada).await;
        tokio::spawn(async move {
            let mut last = 0;
            for round in 0..ROUNDS {
                let session = chat
                    .create_session(pb::CreateSessionRequest {
                        agent_id: agent_id.clone(),
                        title: format!("round {round}"),
                        context: large_context(),
                        ..Default::default()
                    })
                    .await
                    .expect("the writer is never slowed into failing")
                    .session
                    .unwrap();
                last = ada
                    .close_session(pb::CloseSessionRequest {
                        session_id: session.id,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .sequence;
            }
            last
        })
    };
    let last = writer.await.unwrap();
    let everything = fast_reader.await.unwrap();
    assert_eq!(
        everything.len(),
        ROUNDS * 2,
        "created and closed, per round"
    );

    // The slow stream holds what was queued, then says it lagged.
    let mut received = Vec::new();
    let lagged = loop {
        match tokio::time::timeout(PATIENCE, slow.message())
            .await
            .expect("the slow stream answers")
        {
            Ok(Some(response)) => {
                let message = response.message.unwrap();
                match message.kind {
                    Some(pb::stream_message::Kind::Event(event)) => {
                        received.push((message.sequence, event))
                    }
                    Some(pb::stream_message::Kind::Heartbeat(_)) => {
                        assert!(message.sequence < last, "caught up without ever lagging")
                    }
                    _ => {}
                }
            }
            Ok(None) => panic!("the slow stream ended without a reason"),
            Err(status) => break cif_sdk::Error::from(status),
        }
    };
    assert_eq!(
        (lagged.code(), lagged.reason()),
        (Code::ResourceExhausted, Some("SUBSCRIBER_LAGGED"))
    );
    assert!(received.len() < everything.len(), "it fell behind");

    // Resuming after the last event it got delivers exactly the rest.
    let after = received
        .last()
        .map_or(hello.sequence, |(sequence, _)| *sequence);
    let mut resumed = slow_client
        .generated()
        .subscribe(pb::SubscribeRequest {
            log_id,
            after_sequence: after,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    received.extend(raw_events_until(&mut resumed, last).await);
    assert_eq!(received.len(), everything.len(), "no gap, no duplicate");
    assert_eq!(received, everything);
}

/// A context near its limits: 50 keys of 2000 characters, some 100 KB per event.
fn large_context() -> std::collections::BTreeMap<String, String> {
    (0..50)
        .map(|key| (format!("key{key}"), "v".repeat(2000)))
        .collect()
}

async fn ada_id(harness: &Harness, _ada: &cif_sdk::AgentClient) -> String {
    let agents = harness
        .admin
        .list_agents(pb::ListAgentsRequest::default())
        .await
        .unwrap();
    agents.agents[0].id.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_resumes_across_lag_by_itself_and_yields_each_event_once() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--subscriber-queue")
            .arg("4")
            .arg("--heartbeat-interval")
            .arg("100ms"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    // Its own connection: a stream nobody reads holds HTTP/2 window that calls sharing the
    // connection would wait for.
    let own_channel = harness.cifd.channel().await;
    let subscriber = cif_sdk::ProviderClient::new(own_channel, &chat.credential).unwrap();
    let mut sdk = caught_up(subscriber.subscribe(vec![], false)).await;
    let mut last = 0;
    for round in 0..300 {
        let session = chat
            .client
            .create_session(session_for(&ada, &format!("r{round}")))
            .await
            .unwrap()
            .session
            .unwrap();
        last = ada
            .client
            .close_session(pb::CloseSessionRequest {
                session_id: session.id,
                ..Default::default()
            })
            .await
            .unwrap()
            .sequence;
    }
    // The queue of 4 overflowed long ago; the SDK reconnected and resumed on its own.
    let events = events_until(&mut sdk, last).await;
    assert_eq!(events.len(), 300 * 2, "created and closed, per round");
    assert!(
        events.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "in order, never repeated"
    );
    let created = events
        .iter()
        .filter(|(_, event)| describe(event).0 == "created")
        .count();
    assert_eq!(created, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_its_resume_point_is_compacted_the_sdk_resynchronises_from_a_snapshot() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--subscriber-queue")
            .arg("2")
            .arg("--history-events")
            .arg("3"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let own_channel = harness.cifd.channel().await;
    let subscriber = cif_sdk::ProviderClient::new(own_channel, &chat.credential).unwrap();
    let mut sdk = caught_up(subscriber.subscribe(vec![], false)).await;
    // Far more than the queue and the history hold, while the subscriber does not read.
    for round in 0..40 {
        chat.client
            .create_session(pb::CreateSessionRequest {
                context: large_context(),
                ..session_for(&ada, &format!("r{round}"))
            })
            .await
            .unwrap();
        let desk = ada
            .client
            .get_desk(pb::GetDeskRequest {})
            .await
            .unwrap()
            .desk
            .unwrap();
        if desk.sessions.len() > 3 {
            let oldest = desk.sessions[0].id.clone();
            ada.client
                .close_session(pb::CloseSessionRequest {
                    session_id: oldest,
                    ..Default::default()
                })
                .await
                .unwrap();
        }
    }
    let last = harness
        .admin
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .unwrap()
        .sequence;
    // Reading now: what was queued, then a resume that finds its point gone, then a
    // snapshot that says so.
    let (sequence, items) = update_where(&mut sdk, "resynchronising snapshot", |update| {
        match update {
            Update::Snapshot {
                sequence,
                items,
                resynchronized,
                ..
            } => {
                assert!(resynchronized, "the caller is told it was resynchronised");
                return Some((sequence, items));
            }
            Update::Event { sequence, .. } => assert!(sequence <= last),
            Update::Heartbeat { sequence, .. } => {
                assert!(
                    sequence < last,
                    "caught up without needing a resynchronisation"
                )
            }
        }
        None
    })
    .await;
    assert_eq!(sequence, last, "nothing happened since the last write");
    let open = chat
        .client
        .list_sessions(pb::ListSessionsRequest::default())
        .await
        .unwrap();
    assert_eq!(open.sequence, sequence);
    let snapshot: Vec<_> = items
        .into_iter()
        .map(|item| match item.item {
            Some(pb::snapshot_item::Item::Session(session)) => session,
            other => panic!("a session, not {other:?}"),
        })
        .collect();
    assert_eq!(
        snapshot, open.sessions,
        "the snapshot is the state at its sequence"
    );
}

#[tokio::test]
async fn after_a_restart_the_sdk_resynchronises_from_a_snapshot_equal_to_the_state() {
    let first = Cifd::start();
    let address = first.address;
    let admin = first.admin().await;
    let mut watch = caught_up(admin.watch(false)).await;
    drop(first); // the in-memory state is gone with the process

    let second = Cifd::start_with(Options {
        listen: Some(address),
        ..Default::default()
    });
    let harness_admin = second.admin().await;
    let chat = create_provider(&harness_admin).await;
    let ada = harness_admin
        .create_agent(pb::CreateAgentRequest {
            agent: Some(pb::Agent {
                display_name: "Ada".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    let ada_id = ada.agent.unwrap().id;
    let provider = cif_sdk::ProviderClient::new(second.channel().await, &chat).unwrap();
    provider
        .create_session(pb::CreateSessionRequest {
            agent_id: ada_id.clone(),
            title: "after the restart".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    // The watch finds its connection gone, resumes with the old log_id, hears LOG_CHANGED and
    // starts again from a snapshot.
    let Update::Snapshot {
        sequence,
        items,
        resynchronized,
        log_id,
    } = skip_heartbeats(&mut watch).await
    else {
        panic!("a resynchronising snapshot");
    };
    assert!(resynchronized, "the caller is told");
    let read = harness_admin
        .get_desk(pb::AdminServiceGetDeskRequest {
            agent_id: ada_id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(
        (read.log_id.as_str(), read.sequence),
        (log_id.as_str(), sequence)
    );
    assert_eq!(
        items,
        [pb::SnapshotItem {
            item: Some(pb::snapshot_item::Item::Desk(read.desk.unwrap()))
        }]
    );
}

async fn create_provider(admin: &AdminClient) -> String {
    admin
        .create_provider(pb::CreateProviderRequest {
            provider: Some(cif_e2e::provider_spec("contoso_chat")),
            ..Default::default()
        })
        .await
        .unwrap()
        .credential
}

#[tokio::test]
async fn idle_streams_get_heartbeats_with_the_current_sequence() {
    let harness =
        Harness::start_with(Options::default().arg("--heartbeat-interval").arg("100ms")).await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let mut idle = caught_up(phone.client.subscribe(vec![], false)).await;
    let sequence = chat
        .client
        .create_session(session_for(&ada, "x"))
        .await
        .unwrap()
        .sequence;
    // Phone sees none of chat's events, but its watermark moves past them.
    update_where(
        &mut idle,
        "heartbeat past chat's event",
        |update| match update {
            Update::Heartbeat {
                sequence: watermark,
                ..
            } => (watermark >= sequence).then_some(()),
            other => panic!("phone must see nothing of chat's: {other:?}"),
        },
    )
    .await;
}

#[tokio::test]
async fn revoking_a_principal_ends_its_streams_with_the_reason() {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let bob = harness.agent("Bob", &[]).await;
    let session = chat
        .client
        .create_session(session_for(&ada, "x"))
        .await
        .unwrap()
        .session
        .unwrap();
    let mut chat_stream = caught_up(chat.client.subscribe(vec![], false)).await;
    let mut phone_stream = caught_up(phone.client.subscribe(vec![], false)).await;
    let mut bob_stream = caught_up(bob.client.subscribe(false)).await;

    // A forced agent delete tells the owner its session closed.
    harness
        .admin
        .delete_agent(pb::DeleteAgentRequest {
            agent_id: ada.id().into(),
            force: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let (_, event) = next_event(&mut chat_stream).await;
    assert_eq!(describe(&event), ("closed", session.id.clone(), false));

    harness
        .admin
        .deactivate_provider(pb::DeactivateProviderRequest {
            provider_id: chat.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (heard, error) = ending(&mut chat_stream).await;
    assert!(heard.is_empty(), "{heard:?}");
    assert_eq!(
        (error.code(), error.reason()),
        (Code::PermissionDenied, Some("PROVIDER_INACTIVE"))
    );
    assert!(
        chat_stream.next().await.is_none(),
        "the SDK does not retry a refusal"
    );

    harness
        .admin
        .delete_provider(pb::DeleteProviderRequest {
            provider_id: phone.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (heard, error) = ending(&mut phone_stream).await;
    assert!(heard.is_empty(), "{heard:?}");
    assert_eq!(
        (error.code(), error.reason()),
        (Code::Unauthenticated, Some("CREDENTIAL_INVALID"))
    );

    harness
        .admin
        .rotate_agent_credential(pb::RotateAgentCredentialRequest {
            agent_id: bob.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // Bob's desk heard that it no longer admits chat (deactivated) nor phone (deleted); then
    // its stream ends.
    let (heard, error) = ending(&mut bob_stream).await;
    let heard: Vec<_> = heard.iter().map(|(_, event)| describe(event)).collect();
    assert_eq!(
        heard,
        [
            ("not admitted", chat.id().to_owned(), false),
            ("widgets", phone.id().to_owned(), false),
            ("not admitted", phone.id().to_owned(), false),
            ("widgets", String::new(), false)
        ]
    );
    assert_eq!(error.reason(), Some("CREDENTIAL_INVALID"));
}

#[tokio::test]
async fn sigterm_with_open_streams_ends_them_and_exits_promptly() {
    // A grace period far longer than the exit may take, so open streams holding the shutdown
    // until it ends would fail the test.
    let mut cifd = Cifd::start_with(Options::default().arg("--shutdown-grace").arg("60s"));
    let admin = cifd.admin().await;
    let mut raw = admin
        .generated()
        .watch(pb::WatchRequest::default())
        .await
        .unwrap()
        .into_inner();
    raw_message(&mut raw).await;
    let _sdk = caught_up(admin.watch(false)).await;
    let status = cifd.terminate(Duration::from_secs(20)).await;
    assert!(status.success(), "exit status {status}");
    let error = cif_sdk::Error::from(raw_ending(&mut raw).await);
    assert_eq!(
        (error.code(), error.reason()),
        (Code::Unavailable, Some("SERVER_SHUTTING_DOWN"))
    );
}
