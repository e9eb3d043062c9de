//! The crash test: writers create sessions, tabs, marks and toasts while subscribers follow;
//! cifd is killed with SIGKILL at random moments and restarted on the same data directory.
//! Writers retry every unanswered call with the same request_id until it is answered.
//! Afterwards every acknowledged call is there exactly once, state and log agree, and every
//! subscriber has exactly the events a fresh read of the log gives it.
//!
//! Seeded: the seed is printed; set CIF_TEST_SEED to replay a run.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cif_e2e::random::{Rng, test_seed};
use cif_e2e::{
    AgentHandle, Cifd, DataDir, Harness, Options, ProviderHandle, describe, events_until,
    next_update,
};
use cif_sdk::subscription::Backoff;
use cif_sdk::{AgentClient, ProviderClient, Subscription, Update, pb};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::Code;

/// How many times the server is killed in one run.
const CRASHES: u64 = 6;

/// The request id of one call: unique per writer, cycle and step.
fn request_id(writer: usize, cycle: u64, step: u64) -> String {
    format!("{writer:08x}-0000-4000-8000-{:012x}", cycle * 16 + step)
}

/// How many calls needed more than one attempt.
static RETRIED: AtomicU64 = AtomicU64::new(0);

/// Calls until the server answers, retrying the same request (and request_id) while the server
/// is down or restarting. Any refusal is a failure.
async fn until_answered<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, cif_sdk::Error>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut first = true;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), call()).await {
            Ok(Ok(answer)) => {
                if !first {
                    RETRIED.fetch_add(1, Ordering::Relaxed);
                }
                return answer;
            }
            // The connection broke under the call: the server is gone or going.
            Ok(Err(error))
                if matches!(
                    error.code(),
                    Code::Unavailable | Code::Unknown | Code::Cancelled
                ) => {}
            Ok(Err(error)) => panic!("{what} was refused: {error}"),
            Err(_elapsed) => {}
        }
        first = false;
        assert!(
            Instant::now() < deadline,
            "{what}: no answer within a minute"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What a writer was told.
#[derive(Default)]
struct Acknowledged {
    /// (session id, title)
    sessions: Vec<(String, String)>,
    /// (session id, tab id)
    tabs: Vec<(String, String)>,
    closed: Vec<String>,
    toasts: Vec<(String, pb::NotificationResult)>,
}

/// Creates sessions with a tab and a mark, closing each one when the next exists.
async fn session_writer(
    writer: usize,
    provider: ProviderClient,
    agent: AgentClient,
    agent_id: String,
    stop: Arc<AtomicBool>,
) -> Acknowledged {
    let mut acknowledged = Acknowledged::default();
    let mut previous: Option<String> = None;
    let mut cycle = 0;
    while !stop.load(Ordering::Relaxed) {
        let create = pb::CreateSessionRequest {
            agent_id: agent_id.clone(),
            title: format!("writer {writer} cycle {cycle}"),
            context: [("cycle".to_owned(), cycle.to_string())].into(),
            request_id: request_id(writer, cycle, 0),
            ..Default::default()
        };
        let session = until_answered("CreateSession", || provider.create_session(create.clone()))
            .await
            .session
            .unwrap();
        acknowledged
            .sessions
            .push((session.id.clone(), create.title.clone()));

        let tab = pb::CreateTabRequest {
            session_id: session.id.clone(),
            title: "Case".into(),
            page: Some(pb::TabPage {
                kind: pb::PageKind::ThirdPartyWebsite as i32,
                url: format!("https://crm.example.com/case/{cycle}"),
                parameters: String::new(),
            }),
            request_id: request_id(writer, cycle, 1),
            ..Default::default()
        };
        let tab = until_answered("CreateTab", || provider.create_tab(tab.clone()))
            .await
            .tab
            .unwrap();
        acknowledged.tabs.push((session.id.clone(), tab.id));

        let activity = pb::NotifyNewActivityRequest {
            session_id: session.id.clone(),
            count: 1,
            request_id: request_id(writer, cycle, 2),
            ..Default::default()
        };
        until_answered("NotifyNewActivity", || {
            provider.notify_new_activity(activity.clone())
        })
        .await;

        if let Some(previous) = previous.replace(session.id) {
            let close = pb::CloseSessionRequest {
                session_id: previous.clone(),
                request_id: request_id(writer, cycle, 3),
                ..Default::default()
            };
            until_answered("CloseSession", || agent.close_session(close.clone())).await;
            acknowledged.closed.push(previous);
        }
        cycle += 1;
    }
    acknowledged
}

/// Raises toasts that time out after a second on screen, one after the other.
async fn toast_writer(
    writer: usize,
    provider: ProviderClient,
    agent_id: String,
    stop: Arc<AtomicBool>,
) -> Acknowledged {
    let mut acknowledged = Acknowledged::default();
    let mut cycle = 0;
    while !stop.load(Ordering::Relaxed) {
        let toast = pb::NotifyEventRequest {
            agent_id: agent_id.clone(),
            notification_id: request_id(writer, cycle, 0),
            title: format!("Call {cycle}"),
            countdown_seconds: Some(1),
            ..Default::default()
        };
        let answer = until_answered("NotifyEvent", || provider.notify_event(toast.clone())).await;
        acknowledged
            .toasts
            .push((toast.notification_id, answer.result.unwrap()));
        cycle += 1;
    }
    acknowledged
}

/// A subscriber reading in the background until it has seen `until`.
struct Follower {
    name: String,
    /// The position it started after.
    start: (String, u64),
    events: JoinHandle<Vec<(u64, pb::Event)>>,
}

async fn follow(
    name: &str,
    mut subscription: Subscription,
    until: watch::Receiver<Option<u64>>,
) -> Follower {
    let fast = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    subscription = subscription.with_backoff(fast);
    assert!(matches!(
        next_update(&mut subscription).await,
        Update::Heartbeat { .. }
    ));
    let (log_id, sequence) = subscription.position().unwrap();
    let start = (log_id.to_owned(), sequence);
    let label = name.to_owned();
    let events = tokio::spawn(async move {
        let mut events = Vec::new();
        loop {
            let reached = subscription.position().map_or(0, |(_, sequence)| sequence);
            if until.borrow().is_some_and(|until| reached >= until) {
                return events;
            }
            match next_update(&mut subscription).await {
                Update::Event {
                    sequence, event, ..
                } => events.push((sequence, *event)),
                Update::Heartbeat { .. } => {}
                Update::Snapshot { .. } => {
                    panic!("{label} had to resynchronise: its resume point was lost")
                }
            }
        }
    });
    Follower {
        name: name.to_owned(),
        start,
        events,
    }
}

fn restart(address: SocketAddr, data_dir: &DataDir) -> Cifd {
    Cifd::start_with(Options {
        listen: Some(address),
        data_dir: Some(data_dir.path().to_owned()),
        ..server_options()
    })
}

fn server_options() -> Options {
    Options::default().arg("--heartbeat-interval").arg("100ms")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_nothing_acknowledged_is_lost_or_doubled_and_every_subscriber_resumes_exactly()
 {
    let mut rng = Rng::new(test_seed("crash test"));
    let data_dir = DataDir::new();
    let first = Harness::start_with(Options {
        data_dir: Some(data_dir.path().to_owned()),
        ..server_options()
    })
    .await;
    let address = first.cifd.address;
    let chat = first.provider("contoso_chat").await;
    let phone = first.provider("fabrikam_phone").await;
    let ada = first.agent("Ada", &[]).await;
    let bob = first.agent("Bob", &[]).await;
    let admin = first.admin.clone();
    let mut cifd = first.cifd;

    // Subscribers on a channel of their own, as the README advises.
    let streams = cifd.channel().await;
    let (until, until_rx) = watch::channel(None);
    let as_provider = |p: &ProviderHandle| ProviderClient::new(streams.clone(), &p.credential);
    let as_agent = |a: &AgentHandle| AgentClient::new(streams.clone(), &a.credential);
    let followers = vec![
        follow(
            "chat",
            as_provider(&chat).unwrap().subscribe(vec![], false),
            until_rx.clone(),
        )
        .await,
        follow(
            "phone",
            as_provider(&phone).unwrap().subscribe(vec![], false),
            until_rx.clone(),
        )
        .await,
        follow(
            "ada's desk",
            as_agent(&ada).unwrap().subscribe(false),
            until_rx.clone(),
        )
        .await,
        follow(
            "bob's desk",
            as_agent(&bob).unwrap().subscribe(false),
            until_rx.clone(),
        )
        .await,
        follow(
            "operator",
            cif_sdk::AdminClient::new(streams.clone(), &cifd.operator_token)
                .unwrap()
                .watch(false),
            until_rx.clone(),
        )
        .await,
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for (writer, (provider, agent)) in
        [(&chat, &ada), (&chat, &bob), (&phone, &ada), (&phone, &bob)]
            .into_iter()
            .enumerate()
    {
        writers.push(tokio::spawn(session_writer(
            writer,
            provider.client.clone(),
            agent.client.clone(),
            agent.id().to_owned(),
            stop.clone(),
        )));
    }
    for (writer, agent) in [(10, &ada), (11, &bob)] {
        writers.push(tokio::spawn(toast_writer(
            writer,
            phone.client.clone(),
            agent.id().to_owned(),
            stop.clone(),
        )));
    }

    for crash in 1..=CRASHES {
        let after = Duration::from_millis(300 + rng.below(1200));
        tokio::time::sleep(after).await;
        let reached = admin.get_server_info(Default::default()).await.unwrap();
        println!(
            "crash {crash}: SIGKILL {after:?} after the start, at sequence {}",
            reached.sequence
        );
        cifd.kill();
        tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
        cifd = restart(address, &data_dir);
    }
    tokio::time::sleep(Duration::from_millis(500 + rng.below(500))).await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Acknowledged::default();
    for writer in writers {
        let done = writer.await.expect("a writer finishes");
        acknowledged.sessions.extend(done.sessions);
        acknowledged.tabs.extend(done.tabs);
        acknowledged.closed.extend(done.closed);
        acknowledged.toasts.extend(done.toasts);
    }
    let end = admin.get_server_info(Default::default()).await.unwrap();
    println!(
        "after {CRASHES} crashes: {} sessions, {} toasts, {} events, {} calls retried",
        acknowledged.sessions.len(),
        acknowledged.toasts.len(),
        end.sequence,
        RETRIED.load(Ordering::Relaxed)
    );
    assert!(
        RETRIED.load(Ordering::Relaxed) >= CRASHES,
        "each crash caught calls in flight"
    );
    assert!(
        acknowledged.sessions.len() >= CRASHES as usize,
        "the writers made progress"
    );
    until.send_replace(Some(end.sequence));

    // The whole log, read afresh: every sequence once, in order, under the same log id.
    let mut whole = admin.watch(false).resuming_after(end.log_id.clone(), 0);
    let log = events_until(&mut whole, end.sequence).await;
    let sequences: Vec<u64> = log.iter().map(|(sequence, _)| *sequence).collect();
    assert_eq!(sequences, (1..=end.sequence).collect::<Vec<_>>());

    // Each subscriber saw exactly what a fresh resume from its start point gives it.
    for follower in followers {
        let seen = follower.events.await.expect("a follower finishes");
        assert_eq!(
            follower.start.0, end.log_id,
            "{}: the log id stays",
            follower.name
        );
        let (log_id, start) = follower.start;
        let fresh = match follower.name.as_str() {
            "chat" => as_provider(&chat).unwrap().subscribe(vec![], false),
            "phone" => as_provider(&phone).unwrap().subscribe(vec![], false),
            "ada's desk" => as_agent(&ada).unwrap().subscribe(false),
            "bob's desk" => as_agent(&bob).unwrap().subscribe(false),
            _ => admin.watch(false),
        };
        let replayed = events_until(&mut fresh.resuming_after(log_id, start), end.sequence).await;
        assert!(!replayed.is_empty(), "{} saw events", follower.name);
        assert!(
            seen == replayed,
            "{}: saw {} events, the log gives {} (first difference at {:?})",
            follower.name,
            seen.len(),
            replayed.len(),
            seen.iter()
                .zip(&replayed)
                .position(|(a, b)| a != b)
                .map(|at| (seen[at].0, replayed[at].0))
        );
    }

    check_state_against_log(&admin, &log, &acknowledged, &[ada.id(), bob.id()]).await;
}

/// Every acknowledged call is in the state once; state and log agree on every session, tab,
/// toast and version.
async fn check_state_against_log(
    admin: &cif_sdk::AdminClient,
    log: &[(u64, pb::Event)],
    acknowledged: &Acknowledged,
    agents: &[&str],
) {
    use pb::event::Kind;
    let mut created: BTreeMap<String, String> = BTreeMap::new();
    let mut closed = BTreeSet::new();
    let mut open_tabs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut session_events: BTreeMap<String, u64> = BTreeMap::new();
    let mut desk_events: BTreeMap<String, u64> = BTreeMap::new();
    let mut resolved: BTreeMap<String, Vec<pb::NotificationResult>> = BTreeMap::new();
    for (_, event) in log {
        *desk_events.entry(event.agent_id.clone()).or_default() += 1;
        let (_, id, _) = describe(event);
        match event.kind.as_ref().unwrap() {
            Kind::SessionCreated(e) => {
                let title = e.session.as_ref().unwrap().title.clone();
                assert!(
                    created.insert(id.clone(), title).is_none(),
                    "{id} created twice"
                );
            }
            Kind::SessionClosed(_) => assert!(closed.insert(id.clone()), "{id} closed twice"),
            Kind::TabCreated(e) => {
                let tab = e.tab.as_ref().unwrap();
                open_tabs
                    .entry(tab.session_id.clone())
                    .or_default()
                    .insert(tab.id.clone());
            }
            Kind::TabClosed(e) => {
                let tab = e.tab.as_ref().unwrap();
                open_tabs.get_mut(&tab.session_id).unwrap().remove(&tab.id);
            }
            Kind::NotificationResolved(e) => resolved
                .entry(id.clone())
                .or_default()
                .push(e.result.clone().unwrap()),
            _ => {}
        }
        let about = match event.kind.as_ref().unwrap() {
            Kind::SessionCreated(_)
            | Kind::SessionSwitched(_)
            | Kind::SessionClosed(_)
            | Kind::SessionRetitled(_)
            | Kind::SessionContextChanged(_)
            | Kind::SessionMarksChanged(_) => Some(id),
            Kind::TabCreated(e) => e.tab.as_ref().map(|tab| tab.session_id.clone()),
            Kind::TabFocused(e) => e.tab.as_ref().map(|tab| tab.session_id.clone()),
            Kind::TabRefreshed(e) => e.tab.as_ref().map(|tab| tab.session_id.clone()),
            Kind::TabRetitled(e) => e.tab.as_ref().map(|tab| tab.session_id.clone()),
            Kind::TabClosed(e) => e.tab.as_ref().map(|tab| tab.session_id.clone()),
            _ => None,
        };
        if let Some(session) = about {
            *session_events.entry(session).or_default() += 1;
        }
    }

    // Exactly once: one session per title, and every acknowledged one with its title.
    let titles: BTreeSet<&String> = created.values().collect();
    assert_eq!(titles.len(), created.len(), "a title was created twice");
    for (id, title) in &acknowledged.sessions {
        assert_eq!(created.get(id), Some(title), "acknowledged session {id}");
    }
    assert_eq!(
        created.len(),
        acknowledged.sessions.len(),
        "every session in the log was acknowledged once"
    );

    let mut state = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let page = admin
            .list_sessions(pb::AdminServiceListSessionsRequest {
                show_closed: true,
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap();
        for session in page.sessions {
            state.insert(session.id.clone(), session);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    assert_eq!(
        state.keys().collect::<Vec<_>>(),
        created.keys().collect::<Vec<_>>(),
        "the sessions in the state are those the log created"
    );
    for (id, session) in &state {
        assert_eq!(
            session.state() == pb::SessionState::Closed,
            closed.contains(id),
            "{id}: closed in the state iff closed in the log"
        );
        let tabs: BTreeSet<String> = session.tabs.iter().map(|tab| tab.id.clone()).collect();
        assert_eq!(
            tabs,
            open_tabs.get(id).cloned().unwrap_or_default(),
            "{id}: its tabs are those the log opened and did not close"
        );
        assert_eq!(
            session.version,
            session_events.get(id).copied().unwrap_or_default(),
            "{id}: its version counts the log's events about it"
        );
    }
    for (session, tab) in &acknowledged.tabs {
        assert!(
            state[session].tabs.iter().any(|t| &t.id == tab),
            "acknowledged tab {tab} is in {session}"
        );
    }
    for session in &acknowledged.closed {
        assert_eq!(state[session].state(), pb::SessionState::Closed);
    }
    for agent in agents {
        let desk = admin
            .get_desk(pb::AdminServiceGetDeskRequest {
                agent_id: agent.to_string(),
            })
            .await
            .unwrap()
            .desk
            .unwrap();
        assert_eq!(
            desk.version,
            desk_events.get(*agent).copied().unwrap_or_default(),
            "{agent}: the desk's version counts the log's events on it"
        );
    }

    // Every toast ended once, as its provider was told.
    for (id, result) in &acknowledged.toasts {
        let ends = resolved.remove(id).unwrap_or_default();
        assert_eq!(ends.len(), 1, "toast {id} ended once in the log");
        assert_eq!(
            &ends[0], result,
            "toast {id}: the answer is the logged outcome"
        );
    }
    assert!(
        resolved.is_empty(),
        "every toast in the log was acknowledged: {:?}",
        resolved.keys()
    );
}
