//! Scale and memory: the unary mix with few and with many open sessions (each with three
//! tabs and typical payloads) on many agents, in one cifd, and the resident memory the
//! sessions take.

use std::time::Duration;

use cif_sdk::ProviderClient;

use crate::mix::{self, MixRun, Population, in_parallel};
use crate::target::Server;

pub struct Plan {
    pub agents: usize,
    pub providers: usize,
    pub few: usize,
    pub many: usize,
    pub in_flight: usize,
    pub length: Duration,
}

pub struct Scale {
    /// Each phase's trials: cifd's run, and the baseline's run just before it.
    pub with_few: Vec<Trial>,
    pub with_many: Vec<Trial>,
    /// With many sessions, by workers on agents of their own (desks holding only the mix's
    /// session): what a call costs when the desk it answers with stays small.
    pub with_many_small_desks: Vec<Trial>,
    /// Resident memory each of the sessions added between `few` and `many` takes.
    pub session_bytes: f64,
    pub rss_few: u64,
    pub rss_many: u64,
    pub filling: Duration,
}

/// One trial of a phase: the baseline, then cifd.
pub struct Trial {
    pub baseline: MixRun,
    pub cifd: MixRun,
}

/// Opens sessions `from..to`, each with three tabs, spread over the agents and providers.
async fn open_sessions(server: &Server, population: &Population, from: usize, to: usize) {
    let channels = [server.channel().await, server.channel().await];
    let clients: Vec<ProviderClient> = population
        .providers
        .iter()
        .enumerate()
        .map(|(n, provider)| {
            ProviderClient::new(channels[n % 2].clone(), &provider.credential)
                .expect("a credential")
        })
        .collect();
    let mut opening = Vec::new();
    for n in from..to {
        let client = clients[n % clients.len()].clone();
        let agent_id = population.agents[n % population.agents.len()].id.clone();
        opening.push(async move {
            let session = client
                .create_session(mix::session(agent_id))
                .await
                .expect("CreateSession")
                .session
                .expect("a session");
            for _ in 0..3 {
                client
                    .create_tab(mix::tab(&session.id))
                    .await
                    .expect("CreateTab");
            }
        });
    }
    in_parallel(opening).await;
}

/// The baseline and its workers, run alternately with cifd in every phase.
pub struct Baseline<'a> {
    pub server: &'a Server,
    pub workers: &'a [mix::Worker],
}

/// `trials` runs of cifd's `workers`, each after a run of the baseline's.
async fn phase(
    server: &Server,
    workers: &[mix::Worker],
    baseline: &Baseline<'_>,
    plan: &Plan,
    trials: usize,
) -> Vec<Trial> {
    mix::run(server, workers, plan.length / 5).await;
    let mut measured = Vec::new();
    for _ in 0..trials {
        let baseline = mix::run(baseline.server, baseline.workers, plan.length).await;
        let cifd = mix::run(server, workers, plan.length).await;
        measured.push(Trial { baseline, cifd });
    }
    measured
}

pub async fn run(server: &Server, baseline: &Baseline<'_>, plan: &Plan, trials: usize) -> Scale {
    let population = Population::create(server, plan.providers, plan.agents).await;
    let workers = mix::workers(server, &population, plan.in_flight).await;
    open_sessions(server, &population, 0, plan.few).await;
    let rss_few = server.rss_bytes();
    let with_few = phase(server, &workers, baseline, plan, trials).await;
    // Let the sessions the mix closed be forgotten (the run keeps closed sessions 1 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = server.rss_bytes();
    let started = std::time::Instant::now();
    open_sessions(server, &population, plan.few, plan.many).await;
    let filling = started.elapsed();
    let rss_many = server.rss_bytes();
    let with_many = phase(server, &workers, baseline, plan, trials).await;
    let fresh = Population::create(server, plan.providers, plan.in_flight).await;
    let small_desks = mix::workers(server, &fresh, plan.in_flight).await;
    let with_many_small_desks = phase(server, &small_desks, baseline, plan, trials).await;
    Scale {
        with_few,
        with_many,
        with_many_small_desks,
        session_bytes: (rss_many as f64 - before as f64) / (plan.many - plan.few) as f64,
        rss_few,
        rss_many,
        filling,
    }
}
