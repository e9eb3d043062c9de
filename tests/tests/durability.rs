//! State on disk: a restart (clean or killed) keeps every desk, provider, agent, toast and the
//! log position; streams resume across it gap-free; retention compacts old resume points;
//! toast deadlines keep running while the server is down. The first two hold for each store:
//! the embedded one, and PostgreSQL (a throwaway cluster per test).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use cif_e2e::{
    AgentHandle, Cifd, DataDir, Harness, Options, PATIENCE, Postgres, ProviderHandle, Stop,
    ToastCall, caught_up, describe, events_until, eventually, expect_refused, next_event, raise,
    raw_event, raw_message, raw_until_caught_up, restart, session_for, shown, website,
};
use cif_sdk::{AdminClient, pb};
use tonic::Code;

fn on(data_dir: &DataDir) -> Options {
    Options {
        data_dir: Some(data_dir.path().to_owned()),
        ..Default::default()
    }
    .arg("--heartbeat-interval")
    .arg("100ms")
}

/// Where a test's servers keep the state: a data directory, or a database of a throwaway
/// PostgreSQL cluster (the password in the environment, as operators give it).
enum Storage {
    Embedded(DataDir),
    Postgres { cluster: Postgres, url: String },
}

impl Storage {
    fn embedded() -> Self {
        Storage::Embedded(DataDir::new())
    }

    fn postgres() -> Self {
        let cluster = Postgres::start();
        let url = cluster.new_database("cifd");
        Storage::Postgres { cluster, url }
    }

    /// Checks the state is where it should be (not in a data directory the harness also gives).
    fn holds_the_state(&self) {
        if let Storage::Postgres { cluster, .. } = self {
            let records = cluster.sql("cifd", "SELECT count(*) FROM cifd_records");
            let events = cluster.sql("cifd", "SELECT count(*) FROM cifd_events");
            assert!(
                records.parse::<u64>().unwrap() > 0 && events.parse::<u64>().unwrap() > 0,
                "the database holds the state: {records} records, {events} events"
            );
        }
    }

    /// Options for a server on this state (each start the same, so a restart resumes it).
    fn options(&self) -> Options {
        match self {
            Storage::Embedded(data_dir) => on(data_dir),
            Storage::Postgres { cluster, url } => Options::postgres(cluster, url)
                .arg("--heartbeat-interval")
                .arg("100ms"),
        }
    }
}

/// Everything the operator can read.
#[derive(Debug, PartialEq)]
struct Everything {
    log: (String, u64),
    providers: Vec<pb::Provider>,
    agents: Vec<pb::Agent>,
    presences: Vec<pb::Presence>,
    sessions: Vec<pb::Session>,
    desks: Vec<pb::Desk>,
}

async fn everything(admin: &AdminClient) -> Everything {
    let info = admin.get_server_info(Default::default()).await.unwrap();
    let agents = admin
        .list_agents(pb::ListAgentsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .agents;
    let mut desks = Vec::new();
    for agent in &agents {
        let read = admin
            .get_desk(pb::AdminServiceGetDeskRequest {
                agent_id: agent.id.clone(),
            })
            .await
            .unwrap();
        desks.push(read.desk.unwrap());
    }
    Everything {
        log: (info.log_id, info.sequence),
        providers: admin
            .list_providers(pb::ListProvidersRequest {
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .providers,
        agents,
        presences: admin
            .list_presences(Default::default())
            .await
            .unwrap()
            .presences,
        sessions: admin
            .list_sessions(pb::AdminServiceListSessionsRequest {
                show_closed: true,
                page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .sessions,
        desks,
    }
}

fn toast(agent: &AgentHandle, id: &str) -> pb::NotifyEventRequest {
    pb::NotifyEventRequest {
        agent_id: agent.id().into(),
        notification_id: id.into(),
        title: "Incoming call".into(),
        // No countdown: it waits for the agent.
        countdown_seconds: Some(0),
        ..Default::default()
    }
}

/// A floor with something of every kind: presences, an inactive provider, sessions with
/// context, tabs, focus and marks, a closed session, panel settings, presence, and two toasts
/// pending (one on screen, one queued).
async fn furnish(harness: &Harness) -> (ProviderHandle, ProviderHandle, AgentHandle) {
    let admin = &harness.admin;
    for (id, text) in [("available", "Available"), ("dnd", "Do not disturb")] {
        admin
            .create_presence(pb::CreatePresenceRequest {
                presence: Some(pb::Presence {
                    presence_id: id.into(),
                    text: text.into(),
                    base_status: pb::PresenceStatus::Available as i32,
                    color: String::new(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let retired = harness.provider("retired_sms").await;
    admin
        .deactivate_provider(pb::DeactivateProviderRequest {
            provider_id: retired.id().into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let ada = harness.agent("Ada", &[]).await;
    let bob = harness.agent("Bob", &[&phone]).await;

    let mut request = session_for(&ada, "Chat with Maria");
    request.context = BTreeMap::from([("customerName".into(), "Maria".into())]);
    let chats = chat
        .client
        .create_session(request)
        .await
        .unwrap()
        .session
        .unwrap();
    chat.client
        .create_tab(website(&chats.id, "Customer"))
        .await
        .unwrap();
    let second = chat
        .client
        .create_tab(website(&chats.id, "Orders"))
        .await
        .unwrap()
        .tab
        .unwrap();
    chat.client
        .focus_tab(pb::FocusTabRequest {
            tab_id: second.id,
            ..Default::default()
        })
        .await
        .unwrap();
    let calls = phone
        .client
        .create_session(session_for(&ada, "Call"))
        .await
        .unwrap()
        .session
        .unwrap();
    // Chat's session is in the background now: it collects marks.
    chat.client
        .notify_new_activity(pb::NotifyNewActivityRequest {
            session_id: chats.id.clone(),
            count: 3,
            ..Default::default()
        })
        .await
        .unwrap();
    chat.client
        .notify_kpi_breach(pb::NotifyKpiBreachRequest {
            session_id: chats.id.clone(),
            details: "first response > 60 s".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    phone
        .client
        .set_session_title(pb::SetSessionTitleRequest {
            session_id: calls.id.clone(),
            title: "Call +1 555 0100".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let done = phone
        .client
        .create_session(session_for(&bob, "Finished call"))
        .await
        .unwrap()
        .session
        .unwrap();
    bob.client
        .close_session(pb::CloseSessionRequest {
            session_id: done.id,
            ..Default::default()
        })
        .await
        .unwrap();
    phone
        .client
        .create_session(session_for(&bob, "Open call"))
        .await
        .unwrap();
    ada.client
        .set_width(pb::AgentServiceSetWidthRequest {
            width: 420,
            ..Default::default()
        })
        .await
        .unwrap();
    phone
        .client
        .set_presence(pb::SetPresenceRequest {
            agent_id: ada.id().into(),
            presence_text: "Do not disturb".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    (chat, phone, ada)
}

const FIRST_TOAST: &str = "0199f0c8-51c4-7bb0-9d8e-000000000001";
const SECOND_TOAST: &str = "0199f0c8-51c4-7bb0-9d8e-000000000002";

#[tokio::test]
async fn a_restart_clean_or_killed_keeps_everything_and_pending_toasts_end_afterwards() {
    restart_keeps_everything(Storage::embedded).await;
}

#[tokio::test]
async fn on_postgresql_a_restart_clean_or_killed_keeps_everything_and_pending_toasts_end_afterwards()
 {
    restart_keeps_everything(Storage::postgres).await;
}

async fn restart_keeps_everything(storage: fn() -> Storage) {
    for how in [Stop::Term, Stop::Kill] {
        let storage = storage();
        let harness = Harness::start_with(storage.options()).await;
        let (chat, phone, ada) = furnish(&harness).await;
        let mut desk = caught_up(ada.client.subscribe(false)).await;
        let mut phone_events = caught_up(phone.client.subscribe(vec![], false)).await;
        let first_call = raise(&phone, toast(&ada, FIRST_TOAST));
        let on_screen = shown(&mut desk).await;
        assert_eq!(on_screen.notification_id, FIRST_TOAST);
        let second_call = raise(&phone, toast(&ada, SECOND_TOAST));
        // The desk hears the second one waits; once committed, that is the state to keep.
        let (queued_at, queued) = next_event(&mut desk).await;
        assert_eq!(describe(&queued).0, "toast queued");
        let before = eventually("both toasts pending and committed", async || {
            let before = everything(&harness.admin).await;
            let pending: usize = before.desks.iter().map(|d| d.notifications.len()).sum();
            (pending == 2 && before.log.1 >= queued_at).then_some(before)
        })
        .await;

        storage.holds_the_state();
        let mut cifd = harness.cifd;
        restart(&mut cifd, how, storage.options(), &harness.admin).await;
        for call in [first_call, second_call] {
            let ended = tokio::time::timeout(PATIENCE, call)
                .await
                .expect("the waiting call ends")
                .unwrap();
            assert!(
                ended.is_err(),
                "{how:?}: the waiting call ends with the server"
            );
        }
        let after = everything(&harness.admin).await;
        assert_eq!(after, before, "{how:?}: everything is as it was");

        // The old credentials work; the toasts are still pending, and calls with the same
        // notification_id learn how they end (waiting for them if they reach the server first,
        // at once if the answer does: either way the same outcome).
        chat.client
            .list_sessions(Default::default())
            .await
            .expect("the provider's credential survives");
        let first_call = raise(&phone, toast(&ada, FIRST_TOAST));
        let second_call = raise(&phone, toast(&ada, SECOND_TOAST));
        ada.client
            .respond_to_notification(pb::RespondToNotificationRequest {
                provider_id: phone.id().into(),
                notification_id: FIRST_TOAST.into(),
                accept: true,
                ..Default::default()
            })
            .await
            .expect("the toast on screen before the restart is answered after it");
        phone
            .client
            .cancel_event(pb::CancelEventRequest {
                notification_id: SECOND_TOAST.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        let outcome = |call: ToastCall| async {
            tokio::time::timeout(PATIENCE, call)
                .await
                .unwrap()
                .unwrap()
                .unwrap()
                .result
                .unwrap()
                .outcome()
        };
        assert_eq!(outcome(first_call).await, pb::NotificationOutcome::Accepted);
        assert_eq!(
            outcome(second_call).await,
            pb::NotificationOutcome::Cancelled
        );

        // The provider's subscription went on across the restart: exactly the toasts' ends.
        let end = everything(&harness.admin).await.log;
        let events = events_until(&mut phone_events, end.1).await;
        let kinds: Vec<_> = events.iter().map(|(_, e)| describe(e)).collect();
        assert_eq!(
            kinds,
            [
                ("toast resolved", FIRST_TOAST.into(), false),
                ("toast resolved", SECOND_TOAST.into(), false),
            ],
            "{how:?}"
        );
    }
}

async fn subscribe_raw(
    provider: &ProviderHandle,
    log_id: &str,
    after_sequence: u64,
) -> Result<tonic::Streaming<pb::SubscribeResponse>, tonic::Status> {
    provider
        .client
        .generated()
        .subscribe(pb::SubscribeRequest {
            log_id: log_id.into(),
            after_sequence,
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Reads a stream up to its catch-up heartbeat: the events, as (sequence, what and which).
async fn until_caught_up(
    stream: &mut tonic::Streaming<pb::SubscribeResponse>,
) -> Vec<(u64, (&'static str, String, bool))> {
    let (events, _) = raw_until_caught_up(stream).await;
    events
        .iter()
        .map(|(sequence, event)| (*sequence, describe(event)))
        .collect()
}

#[tokio::test]
async fn a_stream_resumes_across_a_crash_with_every_missed_event_once_then_live() {
    stream_resumes_across_a_crash(Storage::embedded()).await;
}

#[tokio::test]
async fn on_postgresql_a_stream_resumes_across_a_crash_with_every_missed_event_once_then_live() {
    stream_resumes_across_a_crash(Storage::postgres()).await;
}

async fn stream_resumes_across_a_crash(storage: Storage) {
    let harness = Harness::start_with(storage.options()).await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let create = |provider: &ProviderHandle, title: &str| {
        let (client, request) = (provider.client.clone(), session_for(&ada, title));
        async move {
            let created = client.create_session(request).await.unwrap();
            (created.session.unwrap().id, created.sequence)
        }
    };

    let mut stream = subscribe_raw(&chat, "", 0).await.unwrap();
    let hello = raw_message(&mut stream).await;
    let log_id = hello.log_id.clone();
    let (first, seen) = create(&chat, "first").await;
    // A heartbeat may come first (every 100 ms): the first event is the session's.
    let (sequence, event) = raw_event(&mut stream).await;
    // The answer reflects the whole command: the creation, then the desk's widget change,
    // which only the desk hears.
    assert!(sequence <= seen, "{sequence} <= {seen}");
    assert_eq!(describe(&event), ("created", first.clone(), true));
    drop(stream);

    // Missed before the crash, and after it.
    let (second, _) = create(&chat, "second").await;
    create(&phone, "phone's").await;
    chat.client
        .set_session_title(pb::SetSessionTitleRequest {
            session_id: first.clone(),
            title: "first, renamed".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut cifd = harness.cifd;
    restart(&mut cifd, Stop::Kill, storage.options(), &harness.admin).await;
    let (third, _) = create(&chat, "third").await;

    let mut resumed = subscribe_raw(&chat, &log_id, seen).await.unwrap();
    let missed = until_caught_up(&mut resumed).await;
    let described: Vec<_> = missed.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(
        described,
        [
            ("switched", first.clone(), false),
            ("created", second.clone(), true),
            ("switched", second.clone(), false),
            ("retitled", first.clone(), false),
            ("created", third.clone(), true),
        ],
        "chat's missed events, none of phone's"
    );
    assert!(
        missed.windows(2).all(|pair| pair[0].0 < pair[1].0),
        "in order"
    );
    // Then live, with no seam.
    let (fourth, at) = create(&chat, "fourth").await;
    let mut live = Vec::new();
    while live.len() < 2 {
        let (sequence, event) = raw_event(&mut resumed).await;
        live.push((sequence, describe(&event)));
    }
    assert_eq!(
        live,
        [
            (at - 1, ("switched", third, false)),
            (at, ("created", fourth, true))
        ]
    );

    // Read, then subscribe after what the read reflects: the next change, nothing before.
    let read = chat
        .client
        .get_session(pb::GetSessionRequest {
            session_id: first.clone(),
        })
        .await
        .unwrap();
    assert_eq!(read.log_id, log_id);
    let mut after_read = subscribe_raw(&chat, &read.log_id, read.sequence)
        .await
        .unwrap();
    assert!(until_caught_up(&mut after_read).await.is_empty());
    chat.client
        .set_session_title(pb::SetSessionTitleRequest {
            session_id: first.clone(),
            title: "first, again".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (sequence, event) = raw_event(&mut after_read).await;
    assert!(sequence > read.sequence);
    assert_eq!(describe(&event), ("retitled", first, false));
}

#[tokio::test]
async fn a_resume_point_older_than_the_history_kept_is_compacted_also_after_a_restart() {
    let data_dir = DataDir::new();
    let by_count = on(&data_dir).arg("--history-events").arg("5");
    let harness = Harness::start_with(by_count.clone()).await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let mut last = 0;
    for n in 0..12 {
        last = chat
            .client
            .create_session(session_for(&ada, &format!("session {n}")))
            .await
            .unwrap()
            .sequence;
        ada.client
            .close_session(pb::CloseSessionRequest {
                session_id: chat
                    .client
                    .list_sessions(Default::default())
                    .await
                    .unwrap()
                    .sessions[0]
                    .id
                    .clone(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let log_id = harness
        .admin
        .get_server_info(Default::default())
        .await
        .unwrap()
        .log_id;
    let mut cifd = harness.cifd;
    restart(&mut cifd, Stop::Term, by_count, &harness.admin).await;
    let info = harness
        .admin
        .get_server_info(Default::default())
        .await
        .unwrap();
    assert_eq!(info.log_id, log_id);

    let refused = subscribe_raw(&chat, &log_id, 1).await.unwrap_err();
    let refused = cif_sdk::Error::from(refused);
    assert_eq!(refused.code(), Code::OutOfRange);
    assert_eq!(refused.reason(), Some("RESUME_POINT_COMPACTED"));
    assert!(refused.message().contains("snapshot"), "{refused}");
    // Within the five kept: the rest, in order (the operator sees every event).
    let kept = watch_raw(&harness.admin, &log_id, info.sequence - 4)
        .await
        .unwrap();
    assert_eq!(
        kept,
        (info.sequence - 3..=info.sequence).collect::<Vec<_>>()
    );
    assert!(last < info.sequence);

    // By age: after a restart with a one-second history, older events are gone too. What this
    // waits for is time itself: every event must be more than a second old.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let by_age = on(&data_dir).arg("--history-age").arg("1s");
    restart(&mut cifd, Stop::Term, by_age, &harness.admin).await;
    expect_refused(
        subscribe_raw(&chat, &log_id, info.sequence - 1)
            .await
            .map_err(cif_sdk::Error::from),
        Code::OutOfRange,
        Some("RESUME_POINT_COMPACTED"),
    );
    // Resuming from the newest sequence misses nothing, so it still works.
    let mut newest = subscribe_raw(&chat, &log_id, info.sequence).await.unwrap();
    assert!(until_caught_up(&mut newest).await.is_empty());
}

/// The sequences an operator's Watch resumed after `after_sequence` yields until it has
/// caught up.
async fn watch_raw(
    admin: &AdminClient,
    log_id: &str,
    after_sequence: u64,
) -> Result<Vec<u64>, tonic::Status> {
    let mut stream = admin
        .generated()
        .watch(pb::WatchRequest {
            log_id: log_id.into(),
            after_sequence,
            ..Default::default()
        })
        .await?
        .into_inner();
    let (events, _) = raw_until_caught_up(&mut stream).await;
    Ok(events.into_iter().map(|(sequence, _)| sequence).collect())
}

#[tokio::test]
async fn a_toast_times_out_at_its_original_deadline_although_the_server_was_down() {
    let data_dir = DataDir::new();
    let harness = Harness::start_with(on(&data_dir)).await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[]).await;
    let mut desk = caught_up(ada.client.subscribe(false)).await;
    let mut request = toast(&ada, FIRST_TOAST);
    request.countdown_seconds = Some(3);
    let call = raise(&phone, request.clone());
    let on_screen = shown(&mut desk).await;
    let show_time = SystemTime::try_from(on_screen.show_time.unwrap()).unwrap();

    // Down for two of its three seconds.
    let mut cifd = harness.cifd;
    cifd.kill();
    let ended = tokio::time::timeout(PATIENCE, call).await;
    assert!(ended.expect("the waiting call ends").unwrap().is_err());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarted_at = SystemTime::now();
    let cifd = Cifd::start_with(Options {
        listen: Some(cifd.address),
        ..on(&data_dir)
    });

    let result = tokio::time::timeout(PATIENCE, phone.client.notify_event(request))
        .await
        .unwrap()
        .expect("the same notification_id learns the outcome")
        .result
        .unwrap();
    assert_eq!(
        result.outcome(),
        pb::NotificationOutcome::DisplayTimeout,
        "{result:?}"
    );
    let resolved = SystemTime::try_from(result.resolve_time.unwrap()).unwrap();
    assert!(
        resolved >= show_time + Duration::from_secs(3),
        "not before its deadline"
    );
    assert!(
        resolved < restarted_at + Duration::from_secs(3),
        "at its original deadline, not three seconds after the restart: shown {show_time:?}, restarted {restarted_at:?}, resolved {resolved:?}"
    );
    drop(cifd);
}
