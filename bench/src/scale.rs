//! Scale and memory: the unary mix with few and with many open sessions (each with three
//! tabs and typical payloads) on many agents, in one cifd, with the workers' own desks the
//! same size in both, and the resident memory the sessions take; then what an agent's switch
//! costs on a desk of 1 session and of 10, answered with the whole desk or the basic view.

use std::time::{Duration, Instant};

use cif_sdk::{AgentClient, ProviderClient, pb};
use tokio::task::JoinSet;

use crate::mix::{self, MixRun, Population, in_parallel};
use crate::stats::Latencies;
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
    /// Switches on the workers' desks of 1 session, then of 10, in each view.
    pub switches: Switches,
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

/// An agent's switches, each view's trials, on desks of 1 session and of 10.
pub struct Switches {
    pub small_full: Vec<MixRun>,
    pub small_basic: Vec<MixRun>,
    pub large_full: Vec<MixRun>,
    pub large_basic: Vec<MixRun>,
}

/// Opens sessions `from..to`, each with three tabs, spread over `agents` (indexes into the
/// population's agents) and the providers.
async fn open_sessions(
    server: &Server,
    population: &Population,
    agents: std::ops::Range<usize>,
    from: usize,
    to: usize,
) {
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
        let agent_id = population.agents[agents.start + n % agents.len()]
            .id
            .clone();
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
    // The workers are on the first agents: each gets one session with 3 tabs here, and
    // keeps that desk while the server grows.
    open_sessions(server, &population, 0..plan.agents, 0, plan.few).await;
    let rss_few = server.rss_bytes();
    let with_few = phase(server, &workers, baseline, plan, trials).await;
    // Let the sessions the mix closed be forgotten (the run keeps closed sessions 1 s).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = server.rss_bytes();
    let started = Instant::now();
    open_sessions(
        server,
        &population,
        plan.in_flight..plan.agents,
        plan.few,
        plan.many,
    )
    .await;
    let filling = started.elapsed();
    let rss_many = server.rss_bytes();
    let with_many = phase(server, &workers, baseline, plan, trials).await;

    let switching = |view| switching(server, &workers, view, plan.length);
    let (mut small_full, mut small_basic) = (Vec::new(), Vec::new());
    for _ in 0..trials {
        small_full.push(switching(pb::DeskView::Full).await);
        small_basic.push(switching(pb::DeskView::Basic).await);
    }
    // The workers' desks grow to 10 sessions of 3 tabs.
    open_sessions(
        server,
        &population,
        0..plan.in_flight,
        0,
        9 * plan.in_flight,
    )
    .await;
    let (mut large_full, mut large_basic) = (Vec::new(), Vec::new());
    for _ in 0..trials {
        large_full.push(switching(pb::DeskView::Full).await);
        large_basic.push(switching(pb::DeskView::Basic).await);
    }
    Scale {
        with_few,
        with_many,
        switches: Switches {
            small_full,
            small_basic,
            large_full,
            large_basic,
        },
        session_bytes: (rss_many as f64 - before as f64) / (plan.many - plan.few) as f64,
        rss_few,
        rss_many,
        filling,
    }
}

/// Resident memory of a cifd (in-memory, the default 100,000-event history) holding `plan.many`
/// open sessions of 3 tabs on `plan.agents` agents: the sessions plus a full history of the
/// events that opened them.
pub async fn memory_with_history(server: &Server, plan: &Plan) -> u64 {
    let population = Population::create(server, plan.providers, plan.agents).await;
    open_sessions(server, &population, 0..plan.agents, 0, plan.many).await;
    server.rss_bytes()
}

/// Every worker's agent switches back and forth between home and its first session for
/// `length`, each answer in `view`.
async fn switching(
    server: &Server,
    workers: &[mix::Worker],
    view: pb::DeskView,
    length: Duration,
) -> MixRun {
    let mut targets = Vec::new();
    for worker in workers {
        let desk = worker
            .agent
            .get_desk(pb::GetDeskRequest {})
            .await
            .expect("GetDesk")
            .desk
            .expect("a desk");
        let home = desk.home_session.expect("home").id;
        let session = desk.sessions.first().expect("an open session").id.clone();
        targets.push((worker.agent.clone(), [home, session]));
    }
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let until = started + length;
    let mut running = JoinSet::new();
    for (agent, between) in targets {
        running.spawn(switch_back_and_forth(agent, between, view, until));
    }
    let (mut samples, mut errors) = (Vec::new(), 0);
    while let Some(done) = running.join_next().await {
        let (latencies, failed) = done.expect("a worker finishes");
        samples.extend(latencies);
        errors += failed;
    }
    MixRun {
        calls: samples.len(),
        errors,
        elapsed: started.elapsed(),
        latencies: Latencies::new(samples),
        server_cpu: server.cpu_seconds() - cpu_before,
    }
}

async fn switch_back_and_forth(
    agent: AgentClient,
    between: [String; 2],
    view: pb::DeskView,
    until: Instant,
) -> (Vec<Duration>, usize) {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for target in between.iter().cycle() {
        if Instant::now() >= until {
            break;
        }
        let started = Instant::now();
        let result = agent
            .switch_session(pb::SwitchSessionRequest {
                session_id: target.clone(),
                view: view as i32,
                ..Default::default()
            })
            .await;
        latencies.push(started.elapsed());
        errors += usize::from(result.is_err());
    }
    (latencies, errors)
}
