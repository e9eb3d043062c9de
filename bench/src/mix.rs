//! The unary mix: what a provider integration does all day. Each worker, over and over,
//! creates a session with a typical title and context, opens a tab in it, asks for the
//! agent's attention, reads the session back, and has the agent close it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cif_sdk::{AgentClient, ProviderClient, pb};
use tokio::task::JoinSet;

use crate::stats::{Latencies, Spread, ms};
use crate::target::Server;

/// A title of about 40 bytes, a URL of about 80: the typical payloads.
pub const TITLE: &str = "Chat with Maria Garcia about order 48213";
pub const URL: &str =
    "https://crm.example.com/customers/48213/cases/99187?view=timeline&source=chat-01";

/// Three context keys, as a chat connector sets them.
pub fn context() -> BTreeMap<String, String> {
    [
        ("customer_id", "48213"),
        ("case_number", "CAS-99187-K2L7"),
        ("channel", "web-chat"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect()
}

/// A session id for the baseline, which answers with empty messages (the length of a real one).
const PLACEHOLDER_SESSION: &str = "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11";

/// A principal: its id and its credential.
#[derive(Clone)]
pub struct Principal {
    pub id: String,
    pub credential: String,
}

/// The providers and agents a scenario works with.
pub struct Population {
    pub providers: Vec<Principal>,
    pub agents: Vec<Principal>,
}

impl Population {
    /// Creates them in cifd (every agent serving every provider); the baseline takes any
    /// credential, so it gets made-up ones.
    pub async fn create(server: &Server, providers: usize, agents: usize) -> Self {
        let Some(admin) = server.admin() else {
            let made_up = |prefix: &str, count: usize| {
                (0..count)
                    .map(|n| Principal {
                        id: format!("{prefix}{n}"),
                        credential: format!("{prefix}{n}"),
                    })
                    .collect()
            };
            return Self {
                providers: made_up("p", providers),
                agents: made_up("a", agents),
            };
        };
        // Unique names across every population of a server.
        static NAMED: AtomicUsize = AtomicUsize::new(0);
        let mut made = Vec::new();
        for _ in 0..providers {
            let n = NAMED.fetch_add(1, Ordering::Relaxed);
            let admin = admin.clone();
            made.push(async move {
                let created = admin
                    .create_provider(pb::CreateProviderRequest {
                        provider: Some(cif_e2e::provider_spec(&format!("bench_provider_{n}"))),
                        ..Default::default()
                    })
                    .await
                    .expect("CreateProvider");
                Principal {
                    id: created.provider.expect("a provider").id,
                    credential: created.credential,
                }
            });
        }
        let providers = in_parallel(made).await;
        let mut made = Vec::new();
        for n in 0..agents {
            let admin = admin.clone();
            made.push(async move {
                let created = admin
                    .create_agent(pb::CreateAgentRequest {
                        agent: Some(pb::Agent {
                            display_name: format!("Agent {n}"),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                    .await
                    .expect("CreateAgent");
                Principal {
                    id: created.agent.expect("an agent").id,
                    credential: created.credential,
                }
            });
        }
        let agents = in_parallel(made).await;
        Self { providers, agents }
    }
}

/// Runs `work`, 32 at a time, and returns the results in order.
pub async fn in_parallel<T: Send + 'static>(
    work: Vec<impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let mut results = BTreeMap::new();
    let mut running = JoinSet::new();
    for (n, future) in work.into_iter().enumerate() {
        if running.len() >= 32 {
            let (n, result) = running
                .join_next()
                .await
                .expect("running")
                .expect("no panic");
            results.insert(n, result);
        }
        running.spawn(async move { (n, future.await) });
    }
    while let Some(done) = running.join_next().await {
        let (n, result) = done.expect("no panic");
        results.insert(n, result);
    }
    results.into_values().collect()
}

/// One worker's clients: a provider and an agent, over a connection shared by up to 16
/// workers.
#[derive(Clone)]
pub struct Worker {
    provider: ProviderClient,
    pub agent: AgentClient,
    agent_id: String,
}

/// Workers for `in_flight` concurrent calls; worker `n` works on agent `n` of `population`.
/// Connections go to every replica in turn.
pub async fn workers(server: &Server, population: &Population, in_flight: usize) -> Vec<Worker> {
    let connections = in_flight
        .div_ceil(16)
        .max(server.replica_count())
        .min(in_flight);
    let mut channels = Vec::new();
    for n in 0..connections {
        channels.push(server.channel_to(n).await);
    }
    (0..in_flight)
        .map(|n| {
            let channel = channels[n % connections].clone();
            let provider = &population.providers[n % connections % population.providers.len()];
            let agent = &population.agents[n % population.agents.len()];
            Worker {
                provider: ProviderClient::new(channel.clone(), &provider.credential)
                    .expect("a credential"),
                agent: AgentClient::new(channel, &agent.credential).expect("a credential"),
                agent_id: agent.id.clone(),
            }
        })
        .collect()
}

/// What one run measured.
pub struct MixRun {
    pub calls: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub latencies: Latencies,
    /// The server's CPU time over the run.
    pub server_cpu: f64,
}

impl MixRun {
    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    /// Server CPU per call, in microseconds.
    pub fn cpu_per_call_us(&self) -> f64 {
        self.server_cpu * 1e6 / self.calls.max(1) as f64
    }
}

/// Runs the mix with every worker at once (one call in flight each) for `length`.
pub async fn run(server: &Server, workers: &[Worker], length: Duration) -> MixRun {
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    let until = started + length;
    let mut running = JoinSet::new();
    for worker in workers {
        running.spawn(cycle(worker.clone(), until));
    }
    let (mut samples, mut errors) = (Vec::new(), 0);
    while let Some(done) = running.join_next().await {
        let (latencies, failed) = done.expect("a worker finishes");
        samples.extend(latencies);
        errors += failed;
    }
    let elapsed = started.elapsed();
    MixRun {
        calls: samples.len(),
        errors,
        elapsed,
        latencies: Latencies::new(samples),
        server_cpu: server.cpu_seconds() - cpu_before,
    }
}

/// Runs one trial of server `name` and says when it failed calls or made none (1: a failed
/// check).
pub async fn trial(
    name: &str,
    server: &Server,
    workers: &[Worker],
    length: Duration,
) -> (MixRun, usize) {
    let run = run(server, workers, length).await;
    let failed = run.errors > 0 || run.calls == 0;
    if failed {
        eprintln!(
            "cif-bench: {name} with {} in flight: {} failed calls of {}",
            workers.len(),
            run.errors,
            run.calls
        );
    }
    (run, usize::from(failed))
}

/// A throughput row for three servers' trials (`runs[server][trial]`): calls/s of each, the
/// second's and third's ratios to the first, and each one's CPU per call.
pub fn throughput_row(in_flight: usize, runs: &[Vec<MixRun>; 3]) -> Vec<String> {
    let rates = |index: usize| -> Vec<f64> { runs[index].iter().map(MixRun::per_second).collect() };
    let cpu = |index: usize| Spread::of(runs[index].iter().map(MixRun::cpu_per_call_us)).median;
    let (first, second, third) = (rates(0), rates(1), rates(2));
    vec![
        in_flight.to_string(),
        format!("{:.0}", Spread::of(first.clone()).median),
        format!("{:.0}", Spread::of(second.clone()).median),
        Spread::of_ratios(&second, &first).ratio(),
        format!("{:.0}", Spread::of(third.clone()).median),
        Spread::of_ratios(&third, &first).ratio(),
        format!("{:.1} / {:.1} / {:.1}", cpu(0), cpu(1), cpu(2)),
    ]
}

/// Latency rows (p50, p99, p999 of every trial's calls), one per named server.
pub fn latency_rows(in_flight: usize, names: &[&str], runs: &[Vec<MixRun>]) -> Vec<Vec<String>> {
    names
        .iter()
        .zip(runs)
        .map(|(name, runs)| {
            let latencies = Latencies::pooled(runs.iter().map(|run| &run.latencies));
            vec![
                in_flight.to_string(),
                name.to_string(),
                ms(latencies.quantile(0.5)),
                ms(latencies.quantile(0.99)),
                ms(latencies.quantile(0.999)),
            ]
        })
        .collect()
}

/// Times one call; counts a failure.
macro_rules! timed {
    ($latencies:ident, $errors:ident, $call:expr) => {{
        let started = Instant::now();
        let result = $call.await;
        $latencies.push(started.elapsed());
        if let Err(error) = &result {
            if $errors == 0 {
                eprintln!("cif-bench: a call failed: {error}");
            }
            $errors += 1;
        }
        result.ok()
    }};
}

async fn cycle(worker: Worker, until: Instant) -> (Vec<Duration>, usize) {
    let (mut latencies, mut errors) = (Vec::new(), 0);
    let Worker {
        provider,
        agent,
        agent_id,
    } = worker;
    while Instant::now() < until {
        let created = timed!(
            latencies,
            errors,
            provider.create_session(session(agent_id.clone()))
        );
        let session_id = created
            .and_then(|created| created.session)
            .map_or_else(|| PLACEHOLDER_SESSION.to_owned(), |session| session.id);
        timed!(latencies, errors, provider.create_tab(tab(&session_id)));
        timed!(
            latencies,
            errors,
            provider.request_focus_session(pb::RequestFocusSessionRequest {
                session_id: session_id.clone(),
                messages_count: 1,
                ..Default::default()
            })
        );
        timed!(
            latencies,
            errors,
            provider.get_session(pb::GetSessionRequest {
                session_id: session_id.clone(),
            })
        );
        timed!(
            latencies,
            errors,
            agent.close_session(pb::CloseSessionRequest {
                session_id,
                ..Default::default()
            })
        );
    }
    (latencies, errors)
}

/// A session with the typical payloads on `agent_id`'s desk.
pub fn session(agent_id: String) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest {
        agent_id,
        title: TITLE.into(),
        context: context(),
        ..Default::default()
    }
}

/// A website tab with the typical payloads.
pub fn tab(session_id: &str) -> pb::CreateTabRequest {
    pb::CreateTabRequest {
        session_id: session_id.to_owned(),
        title: "Case CAS-99187-K2L7: delivery delayed".into(),
        page: Some(pb::TabPage {
            kind: pb::PageKind::ThirdPartyWebsite as i32,
            url: URL.into(),
            parameters: String::new(),
        }),
        ..Default::default()
    }
}
