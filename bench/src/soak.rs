//! Soak: a mixed load on a durable cifd for a given time, restarting the server now and then,
//! with the server's resident memory, open files, runtime tasks and open streams, and the
//! unary mix's p99, sampled at every interval. Over a long run each must stay flat: what
//! grows is a leak.
//!
//! The load: providers and agents running the unary mix; streams that connect, read for a
//! while (or, one in four, read nothing and fall behind) and leave; desks renewing their
//! widgets' credentials. Everything is bounded and stops with the run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cif_e2e::{DataDir, Options, Stop, restart};
use cif_sdk::{AgentClient, ProviderClient, pb};
use tokio::task::JoinSet;

use crate::mix::{self, Population};
use crate::target::{Placement, Server, cifd_options, metric};

pub struct Plan {
    /// How long the whole run lasts.
    pub length: Duration,
    /// How often a sample is taken (the mix runs in between).
    pub interval: Duration,
    /// Restart the server after this many intervals (0: never).
    pub restart_every: usize,
    /// The unary mix's calls in flight.
    pub in_flight: usize,
    /// Streams connecting and leaving at once.
    pub churning_streams: usize,
}

/// One interval's figures.
pub struct Sample {
    /// Since the run started.
    pub at: Duration,
    /// Which server life (it counts restarts).
    pub life: usize,
    pub calls_per_second: f64,
    pub p99: Duration,
    pub failed_calls: usize,
    pub rss_bytes: u64,
    pub open_files: u64,
    pub tasks: u64,
    pub open_streams: u64,
    /// Streams opened and closed by the churn over the interval.
    pub streams_churned: u64,
}

/// The files process `pid` holds open.
fn open_files(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |entries| entries.count() as u64)
}

pub async fn run(placement: &Placement, plan: &Plan) -> Vec<Sample> {
    let data_dir = DataDir::new();
    let options = || Options {
        data_dir: Some(data_dir.path().to_owned()),
        ..cifd_options()
    };
    let mut server = Server::cifd(placement, options()).await;
    let population = Population::create(&server, 4, plan.in_flight).await;
    let admin = server.admin().expect("cifd").clone();
    // Every agent serves every provider: desks have widgets to renew.
    let workers = mix::workers(&server, &population, plan.in_flight).await;
    let churned = Arc::new(AtomicU64::new(0));
    let mut churn = start_churn(&server, &population, plan, &churned).await;

    let started = Instant::now();
    let (mut samples, mut life) = (Vec::new(), 0);
    while started.elapsed() < plan.length {
        let before = churned.load(Ordering::Relaxed);
        // Calls failing around a restart count as failed, not as a broken run.
        let run = mix::run(&server, &workers, plan.interval).await;
        let metrics = server.writer_metrics();
        let pid = server.cifd_process().expect("cifd").pid();
        samples.push(Sample {
            at: started.elapsed(),
            life,
            calls_per_second: run.per_second(),
            p99: run.latencies.quantile(0.99),
            failed_calls: run.errors,
            rss_bytes: server.rss_bytes(),
            open_files: open_files(pid),
            tasks: metric(&metrics, "cif_runtime_tasks") as u64,
            open_streams: metric(&metrics, "cif_open_streams") as u64,
            streams_churned: churned.load(Ordering::Relaxed) - before,
        });
        if plan.restart_every > 0 && samples.len() % plan.restart_every == 0 {
            // The churn's streams resume on the restarted server by themselves; its
            // channels, like the mix's, reconnect.
            let cifd = server.cifd_process().expect("cifd");
            restart(cifd, Stop::Term, placement.place(options()), &admin).await;
            life += 1;
        }
    }
    churn.abort_all();
    while churn.join_next().await.is_some() {}
    samples
}

/// The streams that come and go, and the desks renewing widget credentials, until aborted.
async fn start_churn(
    server: &Server,
    population: &Population,
    plan: &Plan,
    churned: &Arc<AtomicU64>,
) -> JoinSet<()> {
    let mut churn = JoinSet::new();
    let channel = server.channel().await;
    for n in 0..plan.churning_streams {
        let agent = &population.agents[n % population.agents.len()];
        let provider = &population.providers[n % population.providers.len()];
        let (agent, provider) = (
            AgentClient::new(channel.clone(), &agent.credential).expect("a credential"),
            ProviderClient::new(channel.clone(), &provider.credential).expect("a credential"),
        );
        let churned = churned.clone();
        churn.spawn(async move {
            let mut round: u64 = n as u64;
            loop {
                round += 1;
                let mut stream = if round.is_multiple_of(2) {
                    agent.subscribe(true)
                } else {
                    provider.subscribe(vec![], false)
                };
                // Read for 200 ms to 2 s; one in four reads nothing and falls behind.
                let stay = Duration::from_millis(200 + round * 337 % 1800);
                if round % 4 == 3 {
                    tokio::time::sleep(stay).await;
                } else {
                    let until = tokio::time::Instant::now() + stay;
                    while let Ok(Some(_)) = tokio::time::timeout_at(until, stream.next()).await {}
                }
                drop(stream);
                churned.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    // Desks renew their widgets' credentials (every 500 ms here, every few minutes for real).
    for agent in population.agents.iter().take(4) {
        let agent = AgentClient::new(channel.clone(), &agent.credential).expect("a credential");
        let providers: Vec<String> = population.providers.iter().map(|p| p.id.clone()).collect();
        churn.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(500));
            loop {
                every.tick().await;
                for provider_id in &providers {
                    let _ = agent
                        .issue_widget_credential(pb::IssueWidgetCredentialRequest {
                            provider_id: provider_id.clone(),
                        })
                        .await;
                }
            }
        });
    }
    churn
}
