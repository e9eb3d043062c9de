//! cif-bench: throughput and latency of mutating calls against a real cifd, durable (the
//! default, every answer after an fsync) against `--in-memory`, measured in the same run so
//! the ratio holds on a noisy machine.
//!
//! `cargo run --release -p cif-bench` prints the figures; `--smoke` is a quick pass that only
//! checks the benchmark works.
#![forbid(unsafe_code)]

use std::time::{Duration, Instant};

use cif_e2e::{Harness, Options};
use cif_sdk::{AgentClient, ProviderClient, pb};
use clap::Parser;

#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// Length of one run, in seconds.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Runs per server and client count; the median is reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Concurrent clients, comma-separated: each is one provider connection working on its
    /// own agent's desk.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    clients: Vec<usize>,
    /// A quick pass (one run of 0.3 s with 1 and 4 clients) that checks the benchmark works.
    #[arg(long)]
    smoke: bool,
}

/// What one run measured.
struct Run {
    calls: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        sorted
            .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    }
}

/// A server under load, with one provider and an agent per client.
struct Target {
    name: &'static str,
    harness: Harness,
    clients: Vec<(ProviderClient, AgentClient, String)>,
}

impl Target {
    async fn start(name: &'static str, options: Options, clients: usize) -> Self {
        let harness = Harness::start_with(options).await;
        let provider = harness.provider("bench_provider").await;
        let mut handles = Vec::new();
        for n in 0..clients {
            let agent = harness.agent(&format!("Agent {n}"), &[]).await;
            // A connection per client, as separate integrations would have.
            let channel = harness.cifd.channel().await;
            handles.push((
                ProviderClient::new(channel.clone(), &provider.credential).expect("a credential"),
                AgentClient::new(channel, &agent.credential).expect("a credential"),
                agent.id().to_owned(),
            ));
        }
        Self {
            name,
            harness,
            clients: handles,
        }
    }

    /// Every client creates a session, retitles it and closes it, over and over, each call
    /// with a request id as a careful integration makes it, until `length` has passed.
    async fn run(&self, round: usize, clients: usize, length: Duration) -> Run {
        let started = Instant::now();
        let until = started + length;
        let mut tasks = Vec::new();
        for (client, (provider, agent, agent_id)) in self.clients[..clients].iter().enumerate() {
            let (provider, agent, agent_id) = (provider.clone(), agent.clone(), agent_id.clone());
            tasks.push(tokio::spawn(async move {
                cycle(round, client, provider, agent, agent_id, until).await
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("a client finishes"));
        }
        Run {
            calls: latencies.len(),
            elapsed: started.elapsed(),
            latencies,
        }
    }
}

async fn cycle(
    round: usize,
    client: usize,
    provider: ProviderClient,
    agent: AgentClient,
    agent_id: String,
    until: Instant,
) -> Vec<Duration> {
    let mut latencies = Vec::new();
    let request_id =
        |n: usize, step: usize| format!("{round:08x}-{client:04x}-4000-8000-{:012x}", n * 4 + step);
    let mut n = 0;
    while Instant::now() < until {
        let timed = Instant::now();
        let session = provider
            .create_session(pb::CreateSessionRequest {
                agent_id: agent_id.clone(),
                title: format!("Chat {n}"),
                request_id: request_id(n, 0),
                ..Default::default()
            })
            .await
            .expect("CreateSession")
            .session
            .expect("a session");
        latencies.push(timed.elapsed());
        let timed = Instant::now();
        provider
            .set_session_title(pb::SetSessionTitleRequest {
                session_id: session.id.clone(),
                title: format!("Chat {n} with Maria"),
                request_id: request_id(n, 1),
                ..Default::default()
            })
            .await
            .expect("SetSessionTitle");
        latencies.push(timed.elapsed());
        let timed = Instant::now();
        agent
            .close_session(pb::CloseSessionRequest {
                session_id: session.id,
                request_id: request_id(n, 2),
                ..Default::default()
            })
            .await
            .expect("CloseSession");
        latencies.push(timed.elapsed());
        n += 1;
    }
    latencies
}

fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    runs.swap_remove(runs.len() / 2)
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let mut args = Args::parse();
    if args.smoke {
        (args.seconds, args.runs, args.clients) = (0.3, 1, vec![1, 4]);
    }
    let length = Duration::from_secs_f64(args.seconds);
    let most = args.clients.iter().copied().max().unwrap_or(1);
    println!(
        "cif-bench: mutating calls (CreateSession, SetSessionTitle, CloseSession, each with a request id)"
    );
    println!(
        "median of {} run(s) of {:?} per figure; in-memory and durable runs interleaved",
        args.runs, length
    );
    if cfg!(debug_assertions) {
        println!("(a debug build: for figures, run it with --release)");
    }
    // Closed sessions are kept for a second only, so neither server grows through the runs.
    let options = || {
        Options::default()
            .arg("--closed-session-retention")
            .arg("1s")
    };
    let targets = [
        Target::start("in-memory", options().arg("--in-memory"), most).await,
        Target::start("durable", options(), most).await,
    ];
    println!(
        "\n{:>7} | {:>17} | {:>15} | {:>19} | {:>13} | {:>11} | {:>11}",
        "clients",
        "in-memory calls/s",
        "durable calls/s",
        "durable / in-memory",
        "p50 in-memory",
        "p50 durable",
        "p99 durable"
    );
    let mut round = 0;
    let mut failed = false;
    for &clients in &args.clients {
        let mut results: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
        for _ in 0..args.runs {
            for (target, runs) in targets.iter().zip(results.iter_mut()) {
                round += 1;
                let run = target.run(round, clients, length).await;
                failed |= run.calls == 0;
                runs.push(run);
            }
        }
        let [memory, durable] = results.map(median);
        println!(
            "{clients:>7} | {:>17.0} | {:>15.0} | {:>19.2} | {:>13} | {:>11} | {:>11}",
            memory.per_second(),
            durable.per_second(),
            durable.per_second() / memory.per_second(),
            millis(memory.percentile(0.5)),
            millis(durable.percentile(0.5)),
            millis(durable.percentile(0.99)),
        );
    }
    for target in &targets {
        let info = target
            .harness
            .admin
            .get_server_info(Default::default())
            .await
            .expect("the server answers after the load");
        println!(
            "{}: {} events in its log after the runs",
            target.name, info.sequence
        );
    }
    if failed {
        eprintln!("cif-bench: a run completed no calls");
        std::process::exit(1);
    }
}
