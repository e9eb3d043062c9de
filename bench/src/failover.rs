//! Failover: three replicas on one PostgreSQL database (a throwaway cluster), providers
//! creating sessions through one channel to all three (each call with a request id, retried
//! until answered, as a client of a replica set does). The writer is SIGKILLed, and the time
//! from the kill to the first write acknowledged after it is measured; the killed replica
//! comes back on its address as a follower, and the next round kills the new writer.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cif_e2e::{Cifd, Options, Postgres};
use cif_sdk::{AdminClient, ProviderClient, pb};

/// What the scenario measured.
pub struct Measured {
    /// From each kill to the first write acknowledged after it.
    pub failovers: Vec<Duration>,
    /// Writes acknowledged in all.
    pub acknowledged: u64,
    /// Sequences missing from the stored log (must be 0).
    pub gaps: u64,
}

/// Calls in flight, each a provider creating sessions one after another.
const WRITERS: usize = 4;

pub async fn run(rounds: usize, steady: Duration) -> Measured {
    let cluster = Postgres::start();
    let url = cluster.new_database("cifd");
    let options = || {
        Options::postgres(&cluster, &url)
            .arg("--default-max-open-sessions")
            .arg("10000")
            .arg("--rate-limit")
            .arg("1000000000")
    };
    let mut replicas: Vec<Cifd> = (0..3).map(|_| Cifd::start_with(options())).collect();
    let endpoints: Vec<String> = replicas.iter().map(Cifd::endpoint).collect();
    let channel = cif_sdk::connect_any(endpoints.clone())
        .await
        .expect("the replicas answer");
    let admin = AdminClient::new(channel.clone(), &replicas[0].operator_token).expect("a token");

    // The load: each writer its own provider and agent, so no desk fills up.
    let acknowledged = Arc::new(Mutex::new(Vec::<(Instant, Instant)>::new()));
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for writer in 0..WRITERS {
        let provider = admin
            .create_provider(pb::CreateProviderRequest {
                provider: Some(cif_e2e::provider_spec(&format!("failover_{writer}"))),
                ..Default::default()
            })
            .await
            .expect("CreateProvider");
        let agent = admin
            .create_agent(pb::CreateAgentRequest {
                agent: Some(pb::Agent {
                    display_name: format!("Agent {writer}"),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("CreateAgent")
            .agent
            .expect("an agent");
        let client = ProviderClient::new(channel.clone(), &provider.credential).expect("valid");
        let (acknowledged, count, stop) = (acknowledged.clone(), count.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut step = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let request = pb::CreateSessionRequest {
                    agent_id: agent.id.clone(),
                    title: crate::mix::TITLE.into(),
                    request_id: format!("{writer:08x}-0000-4000-8000-{step:012x}"),
                    ..Default::default()
                };
                let sent = Instant::now();
                loop {
                    match client.create_session(request.clone()).await {
                        Ok(_) => break,
                        Err(error) if error.code() == tonic::Code::Unavailable => {}
                        Err(error) if error.code() == tonic::Code::Unknown => {}
                        Err(error) if error.code() == tonic::Code::Cancelled => {}
                        Err(error) => panic!("CreateSession refused: {error}"),
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                acknowledged
                    .lock()
                    .expect("not poisoned")
                    .push((sent, Instant::now()));
                count.fetch_add(1, Ordering::Relaxed);
                step += 1;
                if step >= 9_000 {
                    break;
                }
            }
        }));
    }

    let mut failovers = Vec::new();
    for _ in 0..rounds {
        tokio::time::sleep(steady).await;
        let writer = loop {
            let address = cluster.sql(
                "cifd",
                "SELECT address FROM cifd_lease WHERE expires_at > now()",
            );
            if let Some(writer) = replicas
                .iter()
                .position(|replica| replica.endpoint() == address)
            {
                break writer;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let killed = Instant::now();
        replicas[writer].kill();
        // The first write sent after the kill that is acknowledged.
        let recovered = loop {
            let first = acknowledged
                .lock()
                .expect("not poisoned")
                .iter()
                .filter(|(sent, _)| *sent >= killed)
                .map(|(_, answered)| *answered)
                .min();
            if let Some(first) = first {
                break first;
            }
            assert!(
                killed.elapsed() < Duration::from_secs(60),
                "no write acknowledged within a minute of the kill"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        failovers.push(recovered - killed);
        // The killed replica comes back on its address, following.
        let address = replicas[writer].address;
        replicas[writer] = Cifd::start_with(Options {
            listen: Some(address),
            ..options()
        });
    }
    stop.store(true, Ordering::Relaxed);
    for writer in load {
        writer.await.expect("no panic");
    }
    let gaps: u64 = cluster
        .sql(
            "cifd",
            "SELECT max(sequence) - min(sequence) + 1 - count(*) FROM cifd_events",
        )
        .parse()
        .expect("a count");
    Measured {
        failovers,
        acknowledged: count.load(Ordering::Relaxed),
        gaps,
    }
}
