//! Recovery: how long a durable cifd takes to restart with many sessions, after one long log
//! and after one twice as long. Restart reads the records and the retained tail of the log,
//! so both should take the same time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use cif_e2e::{DataDir, Options};
use cif_sdk::{ProviderClient, pb};

use crate::mix::{self, Population, in_parallel};
use crate::target::{Placement, Server};

pub struct Plan {
    pub agents: usize,
    pub sessions: usize,
    /// Events logged before the first restart, and before the second.
    pub first: u64,
    pub second: u64,
}

pub struct Recovery {
    pub empty: Duration,
    /// Median restart time after the first and the second log length.
    pub first: Duration,
    pub second: Duration,
    /// The database file's size at each restart, in bytes.
    pub first_file: u64,
    pub second_file: u64,
    /// Events per second while the log was filled (durable, 256 calls in flight).
    pub logging_rate: f64,
}

/// Providers (sessions go round-robin over them); 256 workers keep to one provider each.
const PROVIDERS: usize = 16;
const IN_FLIGHT: usize = 256;
/// Restarts per log length; the median is reported (one restart is a noisy figure).
const RESTARTS: usize = 3;

fn options(placement: &Placement, data: &DataDir) -> Options {
    Options {
        data_dir: Some(data.path().to_path_buf()),
        cpus: placement.server_cpus.clone(),
        ..Options::default()
    }
    .arg("--default-max-open-sessions")
    .arg("1000")
    .arg("--rate-limit")
    .arg("1000000000")
}

async fn start(placement: &Placement, data: &DataDir) -> (Server, Duration) {
    let started = Instant::now();
    let server = Server::cifd(placement, options(placement, data)).await;
    (server, started.elapsed())
}

async fn sequence(server: &Server) -> u64 {
    server
        .admin()
        .expect("cifd")
        .get_server_info(pb::GetServerInfoRequest {})
        .await
        .expect("GetServerInfo")
        .sequence
}

/// Retitles sessions until the log reaches `target` events; returns events per second.
async fn log_until(
    server: &Server,
    population: &Population,
    sessions: &Arc<Vec<String>>,
    target: u64,
) -> f64 {
    let from = sequence(server).await;
    let budget = Arc::new(AtomicI64::new(target.saturating_sub(from) as i64));
    let channels: Vec<_> = (0..PROVIDERS.min(16)).map(|_| server.channel()).collect();
    let mut connected = Vec::new();
    for channel in channels {
        connected.push(channel.await);
    }
    let started = Instant::now();
    let mut working = tokio::task::JoinSet::new();
    for worker in 0..IN_FLIGHT {
        let provider = ProviderClient::new(
            connected[worker % connected.len()].clone(),
            &population.providers[worker % PROVIDERS].credential,
        )
        .expect("a credential");
        let (budget, sessions) = (budget.clone(), sessions.clone());
        working.spawn(async move {
            // Session n belongs to provider n % PROVIDERS, and so does this worker's share.
            let mine: Vec<&String> = sessions.iter().skip(worker).step_by(IN_FLIGHT).collect();
            let mut round = 0usize;
            while budget.fetch_sub(1, Ordering::Relaxed) > 0 {
                let session_id = mine[round % mine.len()].clone();
                provider
                    .set_session_title(pb::SetSessionTitleRequest {
                        session_id,
                        title: format!("{} #{round}", mix::TITLE),
                        ..Default::default()
                    })
                    .await
                    .expect("SetSessionTitle");
                round += 1;
            }
        });
    }
    while let Some(done) = working.join_next().await {
        done.expect("no panic");
    }
    (sequence(server).await - from) as f64 / started.elapsed().as_secs_f64()
}

pub async fn run(placement: &Placement, plan: &Plan) -> Recovery {
    let data = DataDir::new();
    let (server, empty) = start(placement, &data).await;
    let population = Population::create(&server, PROVIDERS, plan.agents).await;
    let channel = server.channel().await;
    let clients: Vec<ProviderClient> = population
        .providers
        .iter()
        .map(|provider| {
            ProviderClient::new(channel.clone(), &provider.credential).expect("a credential")
        })
        .collect();
    let mut opening = Vec::new();
    for n in 0..plan.sessions {
        let client = clients[n % PROVIDERS].clone();
        let agent_id = population.agents[n % population.agents.len()].id.clone();
        opening.push(async move {
            client
                .create_session(mix::session(agent_id))
                .await
                .expect("CreateSession")
                .session
                .expect("a session")
                .id
        });
    }
    let sessions = Arc::new(in_parallel(opening).await);
    let mut server = server;
    let mut rates = Vec::new();
    let mut restarts = Vec::new();
    let mut files = Vec::new();
    for target in [plan.first, plan.second] {
        rates.push(log_until(&server, &population, &sessions, target).await);
        let logged = sequence(&server).await;
        let mut took = Vec::new();
        for _ in 0..RESTARTS {
            let status = server
                .cifd_process()
                .expect("cifd")
                .terminate(Duration::from_secs(120))
                .await;
            assert!(status.success(), "cifd stops cleanly: {status}");
            drop(server);
            files.push(std::fs::metadata(data.database()).map_or(0, |file| file.len()));
            let (restarted, time) = start(placement, &data).await;
            assert_eq!(
                sequence(&restarted).await,
                logged,
                "the log survives the restart"
            );
            took.push(time);
            server = restarted;
        }
        took.sort();
        restarts.push(took[RESTARTS / 2]);
    }
    Recovery {
        empty,
        first: restarts[0],
        second: restarts[1],
        first_file: files[0],
        second_file: files[RESTARTS],
        logging_rate: rates.iter().sum::<f64>() / rates.len() as f64,
    }
}
