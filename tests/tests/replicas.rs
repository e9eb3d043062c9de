//! Several cifd replicas on one PostgreSQL database: one writes, the others follow it. Any
//! replica serves any caller: a follower forwards changes to the writer with the caller's own
//! credential and answers once it has applied them (the caller reads its own writes there);
//! it serves reads and streams from its own state, which follows the writer's commits.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cif_e2e::random::{Rng, test_seed};
use cif_e2e::{
    Cifd, Harness, OPERATOR_TOKEN, Options, Postgres, caught_up, describe, events_until,
    eventually, next_event, session_for,
};
use cif_sdk::{AdminClient, AgentClient, ProviderClient, pb};
use tonic::Code;
use tonic::transport::Channel;

/// The replica's role, as its log said when it opened the store.
fn is_following(cifd: &Cifd) -> bool {
    cifd.log().contains("following it")
}

#[tokio::test]
async fn a_follower_forwards_changes_and_reads_its_own_writes() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let writer = Harness::start_with(Options::postgres(&cluster, &url)).await;
    let follower = Cifd::start_with(Options::postgres(&cluster, &url));
    assert!(is_following(&follower), "{}", follower.log());
    let provider = writer.provider("contoso_chat").await;
    let agent = writer.agent("Ada", &[]).await;

    // The agent's desk and the provider's stream are open on the follower.
    let channel = follower.channel().await;
    let on_follower = ProviderClient::new(channel.clone(), &provider.credential).unwrap();
    let desk = AgentClient::new(channel, &agent.credential).unwrap();
    let mut stream = caught_up(on_follower.subscribe(Vec::new(), false)).await;

    // A change through the follower: the writer applies it, the follower answers once it
    // holds it, so the caller reads it back there at once.
    let created = on_follower
        .create_session(session_for(&agent, "through the follower"))
        .await
        .expect("the follower forwards the change");
    let id = created.session.unwrap().id;
    let read = on_follower
        .get_session(pb::GetSessionRequest {
            session_id: id.clone(),
        })
        .await
        .expect("read your own write on the same replica");
    assert_eq!(read.session.unwrap().title, "through the follower");
    let on_desk = desk.get_desk(Default::default()).await.unwrap();
    assert!(
        on_desk
            .desk
            .unwrap()
            .sessions
            .iter()
            .any(|session| session.id == id),
        "the agent's desk on the follower shows it"
    );

    // The stream on the follower hears it, as on the writer.
    let (sequence, event) = next_event(&mut stream).await;
    assert_eq!(describe(&event), ("created", id.clone(), true));
    assert_eq!(sequence, newest_stored_sequence(&cluster));

    // Refusals come back from the writer as they are.
    let error = on_follower
        .create_session(session_for(&agent, ""))
        .await
        .expect_err("an empty title is refused");
    assert_eq!(error.code(), tonic::Code::InvalidArgument, "{error}");
    let error = ProviderClient::new(follower.channel().await, "cifp_not-a-real-credential")
        .unwrap()
        .create_session(session_for(&agent, "a stranger"))
        .await
        .expect_err("the writer authenticates the caller");
    assert_eq!(error.code(), tonic::Code::Unauthenticated, "{error}");
}

/// The sequence of the newest stored event.
fn newest_stored_sequence(cluster: &Postgres) -> u64 {
    cluster
        .sql("cifd", "SELECT max(sequence) FROM cifd_events")
        .parse()
        .unwrap()
}

/// Calls `call` on replica after replica (starting at `first`) until one answers, retrying the
/// same request (and request_id) while the writer is gone or being replaced. Any refusal is
/// a failure. Returns the answer and how many attempts failed.
async fn on_any_replica<T, F, Fut>(replicas: &[Channel], first: usize, mut call: F) -> T
where
    F: FnMut(Channel) -> Fut,
    Fut: std::future::Future<Output = Result<T, cif_sdk::Error>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut attempt = first;
    loop {
        let replica = replicas[attempt % replicas.len()].clone();
        match tokio::time::timeout(Duration::from_secs(10), call(replica)).await {
            Ok(Ok(answer)) => return answer,
            // The replica or the writer is gone or going: another replica, or a new writer.
            Ok(Err(error))
                if matches!(
                    error.code(),
                    Code::Unavailable | Code::Unknown | Code::Cancelled
                ) => {}
            Ok(Err(error)) => panic!("refused: {error}"),
            Err(_elapsed) => {}
        }
        attempt += 1;
        assert!(
            Instant::now() < deadline,
            "no replica answered within a minute"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A request id unique per caller and step.
fn request_id(caller: usize, step: u64) -> String {
    format!("{caller:08x}-0000-4000-8000-{step:012x}")
}

/// Providers create sessions through every replica while subscribers follow on each; the
/// writer is killed, then the next writer. Every acknowledged call is there once, every
/// surviving subscriber holds exactly its provider's share of the log, and the log is dense.
#[tokio::test]
async fn killing_writers_under_load_loses_nothing_and_streams_go_on() {
    for round in 0..2 {
        failover_round(round).await;
    }
}

/// A replica of the failover test: room for every session the load creates, and frequent
/// heartbeats, so a subscriber soon knows it has seen everything up to a sequence.
fn replica(cluster: &Postgres, url: &str) -> Options {
    Options::postgres(cluster, url)
        .arg("--default-max-open-sessions")
        .arg("10000")
        .arg("--heartbeat-interval")
        .arg("100ms")
}

async fn failover_round(round: u64) {
    let mut rng = Rng::new(test_seed(&format!("replica failover round {round}")));
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let first = Harness::start_with(replica(&cluster, &url)).await;
    let providers = [
        first.provider("contoso_chat").await,
        first.provider("contoso_phone").await,
    ];
    let agent = first.agent("Ada", &[]).await;
    let mut replicas: Vec<Cifd> = vec![
        first.cifd,
        Cifd::start_with(replica(&cluster, &url)),
        Cifd::start_with(replica(&cluster, &url)),
    ];
    let mut channels = Vec::new();
    for replica in &replicas {
        channels.push(replica.channel().await);
    }
    let log_id = first
        .admin
        .get_server_info(Default::default())
        .await
        .unwrap()
        .log_id;

    // Each provider follows its own sessions on each replica.
    let mut subscribers = Vec::new();
    for (replica, channel) in channels.iter().enumerate() {
        for (index, provider) in providers.iter().enumerate() {
            let client = ProviderClient::new(channel.clone(), &provider.credential).unwrap();
            let subscription = caught_up(client.subscribe(Vec::new(), false)).await;
            subscribers.push((replica, index, subscription));
        }
    }

    // Load: each provider creates sessions on replica after replica, with request ids.
    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = Vec::new();
    for (index, provider) in providers.iter().enumerate() {
        let (channels, credential, agent_id) = (
            channels.clone(),
            provider.credential.clone(),
            agent.id().to_owned(),
        );
        let (stop, start) = (stop.clone(), rng.index(channels.len()));
        callers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut step = 0;
            while !stop.load(Ordering::Relaxed) && step < 4000 {
                let request = pb::CreateSessionRequest {
                    agent_id: agent_id.clone(),
                    title: format!("[provider {index} call {step}]"),
                    request_id: request_id(index, step),
                    ..Default::default()
                };
                let created = on_any_replica(&channels, start + step as usize, |channel| {
                    let client = ProviderClient::new(channel, &credential).unwrap();
                    let request = request.clone();
                    async move { client.create_session(request).await }
                })
                .await;
                let session = created.session.unwrap();
                acknowledged.push((session.id, request.title));
                step += 1;
            }
            acknowledged
        }));
    }

    // Kill the writer mid-load, then the one that took over.
    let mut killed = Vec::new();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(300 + rng.below(700))).await;
        let writer = eventually("a replica writes", async || {
            replicas.iter().position(|replica| {
                !killed.contains(&replica.pid()) && holds_lease(&cluster, replica)
            })
        })
        .await;
        killed.push(replicas[writer].pid());
        replicas[writer].kill();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for caller in callers {
        acknowledged.push(caller.await.unwrap());
    }

    // Every acknowledged session is there, once.
    for (index, calls) in acknowledged.iter().enumerate() {
        assert!(calls.len() > 3, "provider {index} made calls: {calls:?}");
        for (id, title) in calls {
            let stored = cluster.sql(
                "cifd",
                &format!(
                    "SELECT string_agg(id, ',') FROM cifd_records
                     WHERE kind = 'session' AND position('{title}'::bytea in body) > 0"
                ),
            );
            assert_eq!(&stored, id, "{title} is stored once, as acknowledged");
        }
        let titles: BTreeSet<&String> = calls.iter().map(|(_, title)| title).collect();
        assert_eq!(titles.len(), calls.len(), "each call applied once");
    }
    let dense = cluster.sql(
        "cifd",
        "SELECT count(*) = max(sequence) - min(sequence) + 1 FROM cifd_events",
    );
    assert_eq!(dense, "t", "the log has no gap");
    let newest = newest_stored_sequence(&cluster);

    // The survivor's subscribers hold exactly their provider's sessions, in order, each once.
    let survivor = replicas
        .iter()
        .position(|replica| !killed.contains(&replica.pid()))
        .unwrap();
    let survivor_channel = channels[survivor].clone();
    let info = AdminClient::new(survivor_channel, OPERATOR_TOKEN)
        .unwrap()
        .get_server_info(Default::default())
        .await
        .unwrap();
    assert_eq!(info.log_id, log_id, "the log goes on under the same id");
    for (replica, index, mut subscription) in subscribers {
        if replica != survivor {
            continue;
        }
        let events = events_until(&mut subscription, newest).await;
        let created: Vec<String> = events
            .iter()
            .filter(|(_, event)| describe(event).0 == "created")
            .map(|(_, event)| describe(event).1)
            .collect();
        let expected: Vec<String> = acknowledged[index]
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(created, expected, "provider {index}'s share, in order");
        let sequences: Vec<u64> = events.iter().map(|(sequence, _)| *sequence).collect();
        assert!(
            sequences.windows(2).all(|pair| pair[0] < pair[1]),
            "in order, none twice"
        );
    }
}

/// Whether `replica` holds the writer's lease now.
fn holds_lease(cluster: &Postgres, replica: &Cifd) -> bool {
    cluster.sql(
        "cifd",
        "SELECT address FROM cifd_lease WHERE expires_at > now()",
    ) == replica.endpoint()
}
