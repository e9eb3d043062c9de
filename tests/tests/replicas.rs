//! Several cifd replicas on one PostgreSQL database: one writes, the others follow it. Any
//! replica serves any caller: a follower forwards changes to the writer with the caller's own
//! credential and answers once it has applied them (the caller reads its own writes there);
//! it serves reads and streams from its own state, which follows the writer's commits.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cif_e2e::random::{Rng, test_seed};
use cif_e2e::{
    Cifd, Harness, JsonLines, OPERATOR_TOKEN, Options, Postgres, caught_up, describe, events_until,
    eventually, next_event, python, repository, session_for, shown, typescript_client,
};
use cif_sdk::{AdminClient, AgentClient, ProviderClient, pb};
use serde_json::Value;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The replica's role, as its log said when it opened the store.
fn is_following(cifd: &Cifd) -> bool {
    cifd.log().contains("following it")
}

/// What a replica's health service says of `service`.
async fn health(replica: &Cifd, service: &str) -> ServingStatus {
    let mut client = HealthClient::new(replica.channel().await);
    let answer = client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health answers");
    answer.into_inner().status()
}

/// A gauge or counter of a replica's metrics.
fn metric(replica: &Cifd, name: &str) -> f64 {
    let text = replica.scrape();
    let line = text
        .lines()
        .find(|line| line.starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in {text}"));
    line[name.len()..].trim().parse().unwrap()
}

#[tokio::test]
async fn a_follower_forwards_changes_and_reads_its_own_writes() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let metrics = || {
        Options::postgres(&cluster, &url)
            .arg("--metrics-listen")
            .arg("127.0.0.1:0")
    };
    let writer = Harness::start_with(metrics()).await;
    let follower = Cifd::start_with(metrics());
    assert!(is_following(&follower), "{}", follower.log());

    // Health and metrics tell which replica writes.
    let (writes, follows) = (&writer.cifd, &follower);
    eventually("health tells the writer", async || {
        (health(writes, "cifd.Writer").await == ServingStatus::Serving
            && health(follows, "cifd.Writer").await == ServingStatus::NotServing)
            .then_some(())
    })
    .await;
    assert_eq!(
        health(follows, "").await,
        ServingStatus::Serving,
        "it keeps up"
    );
    assert_eq!(metric(writes, "cif_replica_writer"), 1.0);
    assert_eq!(metric(follows, "cif_replica_writer"), 0.0);
    assert!(metric(follows, "cif_replica_lag_seconds") < 5.0);
    assert_eq!(metric(follows, "cif_replica_takeovers_total"), 0.0);
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

/// Calls until some replica answers, retrying the same request (and request_id) while the
/// writer is gone or being replaced, as a client of a replica set does. Any refusal is a
/// failure.
async fn until_answered<T, F, Fut>(mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, cif_sdk::Error>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout(Duration::from_secs(10), call()).await {
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

/// A replica of the failover test: room for every session the load creates, and frequent
/// heartbeats, so a subscriber soon knows it has seen everything up to a sequence.
fn replica(cluster: &Postgres, url: &str) -> Options {
    Options::postgres(cluster, url)
        .arg("--default-max-open-sessions")
        .arg("10000")
        .arg("--heartbeat-interval")
        .arg("100ms")
}

/// Providers and an agent call through a channel to all three replicas while subscribers
/// follow through such channels too; the writer is killed, then the next writer. Every
/// acknowledged call is there once, every subscriber (resumed on a surviving replica) holds
/// exactly its share of the log, in order, and the log is dense under the same log id.
#[tokio::test]
async fn killing_writers_under_load_loses_nothing_and_streams_resume_on_the_survivors() {
    for round in 0..2 {
        failover_round(round).await;
    }
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
    let endpoints: Vec<String> = replicas.iter().map(Cifd::endpoint).collect();
    let any = || async { cif_sdk::connect_any(endpoints.clone()).await.unwrap() };
    let log_id = first
        .admin
        .get_server_info(Default::default())
        .await
        .unwrap()
        .log_id;

    // Subscribers, spread over the replicas by their channels: each provider's, the agent's.
    let mut subscribers = Vec::new();
    for _ in 0..3 {
        for (index, provider) in providers.iter().enumerate() {
            let client = ProviderClient::new(any().await, &provider.credential).unwrap();
            let subscription = caught_up(client.subscribe(Vec::new(), false)).await;
            subscribers.push((Some(index), subscription));
        }
        let desk = AgentClient::new(any().await, &agent.credential).unwrap();
        subscribers.push((None, caught_up(desk.subscribe(false)).await));
    }

    // Load: each provider creates sessions, the agent resizes its panel, all with request ids.
    let stop = Arc::new(AtomicBool::new(false));
    let mut callers = Vec::new();
    for (index, provider) in providers.iter().enumerate() {
        let client = ProviderClient::new(any().await, &provider.credential).unwrap();
        let (stop, agent_id) = (stop.clone(), agent.id().to_owned());
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
                let created = until_answered(|| client.create_session(request.clone())).await;
                acknowledged.push((created.session.unwrap().id, request.title));
                step += 1;
            }
            acknowledged
        }));
    }
    let desk = AgentClient::new(any().await, &agent.credential).unwrap();
    let resizing = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut width = 300;
            while !stop.load(Ordering::Relaxed) && width < 4300 {
                width += 1;
                let request = pb::AgentServiceSetWidthRequest {
                    width,
                    request_id: request_id(99, u64::from(width)),
                    ..Default::default()
                };
                until_answered(|| desk.set_width(request.clone())).await;
            }
            width
        })
    };

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
    let width = resizing.await.unwrap();

    // Every acknowledged session is there, once; the panel has the last width it was given.
    let stored = cluster.sql(
        "cifd",
        "SELECT string_agg(id || ' ' || substring(encode(body, 'escape') from '\\[provider [0-9]+ call [0-9]+\\]'), E'\\n')
         FROM cifd_records WHERE kind = 'session' AND body IS NOT NULL",
    );
    let mut titles: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in stored.lines() {
        if let Some((id, title)) = line.split_once(' ') {
            titles.entry(title).or_default().push(id);
        }
    }
    for (index, calls) in acknowledged.iter().enumerate() {
        assert!(calls.len() > 3, "provider {index} made calls: {calls:?}");
        println!("provider {index}: {} sessions acknowledged", calls.len());
        for (id, title) in calls {
            assert_eq!(
                titles.get(title.as_str()),
                Some(&vec![id.as_str()]),
                "{title} is stored once, as acknowledged"
            );
        }
    }
    let dense = cluster.sql(
        "cifd",
        "SELECT count(*) = max(sequence) - min(sequence) + 1 FROM cifd_events",
    );
    assert_eq!(dense, "t", "the log has no gap");
    let newest = newest_stored_sequence(&cluster);
    let survivor = AdminClient::new(any().await, OPERATOR_TOKEN).unwrap();
    let info = survivor.get_server_info(Default::default()).await.unwrap();
    assert_eq!(info.log_id, log_id, "the log goes on under the same id");
    let on_desk = AgentClient::new(any().await, &agent.credential)
        .unwrap()
        .get_desk(Default::default())
        .await
        .unwrap();
    assert_eq!(on_desk.desk.unwrap().panel_width, width);

    // Every subscriber holds exactly its share: its provider's sessions, or every one on
    // the desk, in order, each once.
    for (provider, mut subscription) in subscribers {
        let events = events_until(&mut subscription, newest).await;
        let created: Vec<String> = events
            .iter()
            .filter(|(_, event)| describe(event).0 == "created")
            .map(|(_, event)| describe(event).1)
            .collect();
        match provider {
            Some(index) => {
                let expected: Vec<&String> = acknowledged[index].iter().map(|(id, _)| id).collect();
                let created: Vec<&String> = created.iter().collect();
                assert_eq!(created, expected, "provider {index}'s sessions, in order");
            }
            None => {
                let heard: BTreeSet<&String> = created.iter().collect();
                let expected: BTreeSet<&String> =
                    acknowledged.iter().flatten().map(|(id, _)| id).collect();
                assert_eq!(heard, expected, "the desk hears every session");
                assert_eq!(created.len(), expected.len(), "each once");
            }
        }
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

/// A client program following a provider's stream through two replicas, the writer first:
/// its stream starts on the writer; when the writer dies, the program's client resumes on the
/// other replica, which has taken over, and yields what follows exactly once.
async fn a_client_resumes_on_the_other_replica(program: impl Fn(&str, &str) -> JsonLines) {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let mut writer = Harness::start_with(Options::postgres(&cluster, &url)).await;
    let follower = Cifd::start_with(
        Options::postgres(&cluster, &url)
            .arg("--metrics-listen")
            .arg("127.0.0.1:0"),
    );
    let provider = writer.provider("contoso_chat").await;
    let agent = writer.agent("Ada", &[]).await;
    let endpoints = format!("{},{}", writer.cifd.endpoint(), follower.endpoint());
    let lines = program(&endpoints, &provider.credential);
    lines.until("the catch-up heartbeat", |line| line["kind"] == "heartbeat");

    provider
        .client
        .create_session(session_for(&agent, "before the kill"))
        .await
        .unwrap();
    let before = lines.until("the first session's event", |line| line["kind"] == "event");

    writer.cifd.kill();
    let on_follower = ProviderClient::new(follower.channel().await, &provider.credential).unwrap();
    let request = pb::CreateSessionRequest {
        request_id: request_id(1, 1),
        ..session_for(&agent, "after the kill")
    };
    until_answered(|| on_follower.create_session(request.clone())).await;
    assert_eq!(metric(&follower, "cif_replica_takeovers_total"), 1.0);
    assert_eq!(metric(&follower, "cif_replica_writer"), 1.0);
    eventually("health tells the new writer", async || {
        (health(&follower, "cifd.Writer").await == ServingStatus::Serving).then_some(())
    })
    .await;
    // Everything after the first event up to the newest stored one, in order, none twice,
    // the second session's creation among them.
    let sequence = |line: &Value| line["sequence"].as_str().unwrap().parse::<u64>().unwrap();
    let newest = newest_stored_sequence(&cluster);
    let mut after = vec![before];
    while sequence(after.last().unwrap()) < newest {
        let line = lines.until("the newest event", |line| line["kind"] == "event");
        let last = after.last().unwrap();
        assert!(
            sequence(&line) > sequence(last),
            "in order, none twice: {line} after {last}"
        );
        after.push(line);
    }
    let created = after
        .iter()
        .filter(|line| line["event"] == after[0]["event"])
        .count();
    assert_eq!(created, 2, "both sessions' creation: {after:?}");
}

/// `command` following a provider with `credential`, its output read line by line.
fn follower_program(mut command: Command, credential: &str) -> JsonLines {
    command.env("CIF_CREDENTIAL", credential);
    JsonLines::start(command)
}

#[tokio::test]
async fn the_python_client_resumes_on_another_replica() {
    a_client_resumes_on_the_other_replica(|endpoints, credential| {
        let mut command = Command::new(python());
        command
            .arg(repository().join("conformance/python/follow.py"))
            .arg(endpoints);
        follower_program(command, credential)
    })
    .await;
}

#[tokio::test]
async fn the_typescript_client_resumes_on_another_replica() {
    a_client_resumes_on_the_other_replica(|endpoints, credential| {
        let mut command = Command::new("node");
        command
            .arg(typescript_client().join("dist/conformance/follow.js"))
            .arg(endpoints);
        follower_program(command, credential)
    })
    .await;
}

/// Rule 12 across replicas: a desk whose page streams from a follower is online with the
/// writer (a toast raised on the writer comes on screen there and is answered there); when
/// the follower dies, its announcement of the desk lapses, the grace period runs, and then
/// the desk is offline.
#[tokio::test]
async fn a_desk_streaming_from_a_follower_gets_its_toasts_until_the_follower_dies() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let grace = || {
        Options::postgres(&cluster, &url)
            .arg("--desk-grace")
            .arg("1s")
    };
    let writer = Harness::start_with(grace()).await;
    let mut follower = Cifd::start_with(grace());
    let phone = writer.provider("fabrikam_phone").await;
    let agent = writer.agent("Ada", &[]).await;
    let on_follower = AgentClient::new(follower.channel().await, &agent.credential).unwrap();
    let mut desk = caught_up(on_follower.subscribe(false)).await;

    let call = phone.client.clone();
    // A toast that ends by itself after a second, waiting or on screen.
    let toast = |id: u32| pb::NotifyEventRequest {
        agent_id: agent.id().into(),
        notification_id: format!("0199f0c8-51c4-7bb0-9d8e-{id:012}"),
        title: "Incoming call".into(),
        countdown_seconds: Some(1),
        ..Default::default()
    };
    let raised = tokio::spawn({
        let call = call.clone();
        let request = toast(1);
        async move { call.notify_event(request).await }
    });
    let on_screen = shown(&mut desk).await;
    on_follower
        .respond_to_notification(pb::RespondToNotificationRequest {
            provider_id: on_screen.provider_id.clone(),
            notification_id: on_screen.notification_id.clone(),
            accept: true,
            ..Default::default()
        })
        .await
        .expect("answered through the follower");
    let outcome = raised.await.unwrap().expect("NotifyEvent answers");
    assert_eq!(
        outcome.result.unwrap().outcome(),
        pb::NotificationOutcome::Accepted
    );

    // The follower dies without a word: its announcement lapses, the grace period runs out.
    follower.kill();
    drop(desk);
    let mut next = 1;
    eventually("the desk goes offline", async || {
        next += 1;
        match call.notify_event(toast(next)).await {
            Err(error) if error.reason() == Some("DESK_OFFLINE") => Some(()),
            _ => None,
        }
    })
    .await;
}

/// A rolling change of the configuration: a follower started with a newer file applies its
/// declarations once it takes the writer's place (a follower leaves them to the writer).
#[tokio::test]
async fn a_follower_applies_its_configuration_when_it_takes_over() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let mut writer = Harness::start_with(Options::postgres(&cluster, &url)).await;
    let config = std::env::temp_dir().join(format!("cif-replica-{}.toml", std::process::id()));
    std::fs::write(
        &config,
        "[[presence]]\nid = \"on_break\"\ntext = \"On break\"\nbase_status = \"away\"\n",
    )
    .unwrap();
    let follower = Cifd::start_with(
        Options::postgres(&cluster, &url)
            .arg("--config")
            .arg(config.to_str().unwrap()),
    );
    let admin = AdminClient::new(follower.channel().await, OPERATOR_TOKEN).unwrap();
    let presences = async || {
        admin
            .list_presences(Default::default())
            .await
            .unwrap()
            .presences
            .into_iter()
            .map(|presence| presence.presence_id)
            .collect::<Vec<_>>()
    };
    assert!(
        presences().await.is_empty(),
        "the writer applies its own file"
    );

    writer.cifd.kill();
    eventually("the new writer applies its file", async || {
        (presences().await == ["on_break"]).then_some(())
    })
    .await;
    let _ = std::fs::remove_file(&config);
}

/// Rule 21 across replicas: a widget credential the desk gets through one follower works on
/// the other follower and on the writer, and signing out revokes it on every replica.
#[tokio::test]
async fn a_widget_credential_issued_through_one_replica_works_on_every_replica() {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let writer = Harness::start_with(Options::postgres(&cluster, &url)).await;
    let followers = [
        Cifd::start_with(Options::postgres(&cluster, &url)),
        Cifd::start_with(Options::postgres(&cluster, &url)),
    ];
    let chat = writer.provider("contoso_chat").await;
    let ada = writer.agent("Ada", &[&chat]).await;
    let desk = AgentClient::new(followers[0].channel().await, &ada.credential).unwrap();
    let issued = desk
        .issue_widget_credential(pb::IssueWidgetCredentialRequest {
            provider_id: chat.id().into(),
        })
        .await
        .expect("issued through a follower");

    let mode = pb::GetModeRequest {
        agent_id: ada.id().into(),
    };
    let mut widgets = Vec::new();
    for replica in [&followers[1], &writer.cifd] {
        let widget = ProviderClient::new(replica.channel().await, &issued.credential).unwrap();
        let request = mode.clone();
        eventually(
            "the widget credential works on another replica",
            async || widget.get_mode(request.clone()).await.ok(),
        )
        .await;
        widgets.push(widget);
    }

    desk.revoke_widget_credentials(pb::RevokeWidgetCredentialsRequest {})
        .await
        .expect("signing out through a follower");
    for widget in &widgets {
        let request = mode.clone();
        let refused = eventually("the revoked credential is refused everywhere", async || {
            widget.get_mode(request.clone()).await.err()
        })
        .await;
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    }
}
