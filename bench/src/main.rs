//! cif-bench: the performance suite. Every scenario runs cifd and, in the same run, a
//! baseline tonic server with the same transport settings that does no work (see
//! `baseline.rs`), and prints both figures and their ratio. Servers and this load generator
//! are separate processes, pinned to separate CPUs where the machine has two.
//!
//! `cargo run --release -p cif-bench` runs the whole suite (about ten minutes) and prints
//! Markdown tables; `--smoke` runs every scenario at small sizes in seconds, so the
//! benchmark cannot rot.
#![forbid(unsafe_code)]

mod baseline;
mod fanout;
mod mix;
mod recovery;
mod scale;
mod stats;
mod target;

use std::time::Duration;

use cif_e2e::Options;
use clap::{Parser, Subcommand, ValueEnum};

use crate::stats::{Table, ms, ratio};
use crate::target::{Placement, Server};

#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Scenarios to run, comma-separated (all by default).
    #[arg(long, value_delimiter = ',')]
    only: Vec<Scenario>,
    /// Length of each measured run of the unary mix, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Calls in flight for the unary mix, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    in_flight: Vec<usize>,
    /// Bytes of every unary answer of the baseline (0: empty messages, the no-op). With answers
    /// as large as cifd's, the baseline pays what the transport costs for them.
    #[arg(long, default_value_t = 0)]
    baseline_answer_bytes: usize,
    /// Every scenario at small sizes, in seconds: checks the benchmark works.
    #[arg(long)]
    smoke: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the baseline (used by the suite itself).
    Baseline {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Bytes of every unary answer (an unknown field, which clients skip).
        #[arg(long, default_value_t = 0)]
        answer_bytes: usize,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Mix,
    Fanout,
    Scale,
    Recovery,
}

/// The allocator cifd uses, so the baseline differs from it only in doing no work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = Args::parse();
    if let Some(Command::Baseline {
        listen,
        answer_bytes,
    }) = args.command
    {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        if let Err(error) = runtime.block_on(baseline::serve(listen, answer_bytes)) {
            eprintln!("baseline: {error}");
            std::process::exit(1);
        }
        return;
    }
    // Pinned before the runtime starts its threads, which inherit the CPU.
    let mut placement = Placement::pin_load_generator();
    placement.baseline_answer_bytes = args.baseline_answer_bytes;
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let failures = runtime.block_on(suite(args, placement));
    if failures > 0 {
        eprintln!("cif-bench: {failures} check(s) failed");
        std::process::exit(1);
    }
}

async fn suite(args: Args, placement: Placement) -> usize {
    let wanted = |scenario| args.only.is_empty() || args.only.contains(&scenario);
    println!(
        "# cif-bench{}",
        if args.smoke {
            " (smoke: small sizes, figures mean nothing)"
        } else {
            ""
        }
    );
    println!();
    println!("- {}", placement.description);
    println!(
        "- {} CPUs, {}",
        placement.cpus,
        if cfg!(debug_assertions) {
            "a debug build: for figures, run it with --release"
        } else {
            "release build"
        }
    );
    println!(
        "- baseline: a tonic server with cifd's transport settings that answers every call with {} and routes stream messages without parsing them",
        match placement.baseline_answer_bytes {
            0 => "an empty message".to_owned(),
            bytes => format!("a {bytes}-byte message"),
        }
    );
    let length = Duration::from_secs_f64(if args.smoke { 0.3 } else { args.seconds });
    let mut failures = 0;
    if wanted(Scenario::Mix) {
        let levels: &[usize] = if args.smoke {
            &[1, 16]
        } else {
            &args.in_flight
        };
        failures += unary_mix(&placement, levels, length).await;
    }
    if wanted(Scenario::Fanout) {
        let plan = if args.smoke {
            fanout::Plan {
                streams: 200,
                per_connection: 50,
                mutations_per_second: 100,
                length: Duration::from_secs(1),
            }
        } else {
            fanout::Plan {
                streams: 10_000,
                per_connection: 100,
                mutations_per_second: 1_000,
                length: Duration::from_secs(10),
            }
        };
        failures += fan_out(&placement, &plan).await;
    }
    if wanted(Scenario::Scale) {
        let plan = if args.smoke {
            scale::Plan {
                agents: 100,
                providers: 10,
                few: 100,
                many: 1_000,
                in_flight: 16,
                length,
            }
        } else {
            scale::Plan {
                agents: 10_000,
                providers: 10,
                few: 1_000,
                many: 100_000,
                in_flight: 64,
                length,
            }
        };
        failures += scale_and_memory(&placement, &plan).await;
    }
    if wanted(Scenario::Recovery) {
        let plan = if args.smoke {
            recovery::Plan {
                agents: 100,
                sessions: 1_000,
                first: 10_000,
                second: 20_000,
            }
        } else {
            recovery::Plan {
                agents: 10_000,
                sessions: 100_000,
                first: 1_000_000,
                second: 2_000_000,
            }
        };
        let measured = recovery::run(&placement, &plan).await;
        let table = Table::new(
            &format!(
                "Recovery: durable restart with {} open sessions",
                plan.sessions
            ),
            &[
                "log",
                "restart (median of 3)",
                "ratio to the shorter log",
                "database file",
            ],
        );
        table.row(vec![
            "empty store".into(),
            ms(measured.empty),
            "-".into(),
            String::new(),
        ]);
        for (events, took, file) in [
            (plan.first, measured.first, measured.first_file),
            (plan.second, measured.second, measured.second_file),
        ] {
            table.row(vec![
                format!("{events} events"),
                ms(took),
                ratio(took.as_secs_f64(), measured.first.as_secs_f64()),
                format!("{:.1} MiB", file as f64 / 1_048_576.0),
            ]);
        }
        println!(
            "\nThe log was filled at {:.0} events/s (durable, 256 calls in flight).",
            measured.logging_rate
        );
    }
    failures
}

/// cifd's options for the load: closed sessions forgotten after a second, so the servers do
/// not grow through the runs, and limits raised so nothing measures refusals.
fn cifd_options() -> Options {
    Options::default()
        .arg("--closed-session-retention")
        .arg("1s")
        .arg("--default-max-open-sessions")
        .arg("1000")
        .arg("--metrics-listen")
        .arg("127.0.0.1:0")
}

/// cifd's metrics, as text (empty for the baseline).
fn scrape(server: &Server) -> String {
    match server {
        Server::Cifd(harness) => harness.cifd.scrape(),
        Server::Baseline(_) => String::new(),
    }
}

/// The calls refused, by the metrics.
fn refused(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("cif_calls_total{") && !line.contains("code=\"OK\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|count| count as u64)
        .sum()
}

/// A sum or count from the metrics.
fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_default()
}

async fn unary_mix(placement: &Placement, levels: &[usize], length: Duration) -> usize {
    let most = levels.iter().copied().max().unwrap_or(1);
    let servers = [
        ("baseline", Server::baseline(placement)),
        (
            "in-memory",
            Server::cifd(placement, cifd_options().arg("--in-memory")).await,
        ),
        ("durable", Server::cifd(placement, cifd_options()).await),
    ];
    let mut populations = Vec::new();
    for (_, server) in &servers {
        populations.push(mix::Population::create(server, most.div_ceil(16), most).await);
    }
    println!(
        "\nUnary mix: create session (title, 3 context keys), create tab, request attention, get session, agent closes; runs of {length:?} after a warm-up, servers interleaved."
    );
    let throughput = Table::new(
        "Unary mix: calls/s",
        &[
            "in flight",
            "baseline",
            "in-memory",
            "in-memory / baseline",
            "durable",
            "durable / baseline",
            "server CPU us/call (baseline / in-memory / durable)",
        ],
    );
    let mut latency_rows = Vec::new();
    let mut failures = 0;
    for &in_flight in levels {
        let mut runs = Vec::new();
        for ((name, server), population) in servers.iter().zip(&populations) {
            let workers = mix::workers(server, population, in_flight).await;
            mix::run(server, &workers, length / 5).await;
            let run = mix::run(server, &workers, length).await;
            if run.errors > 0 || run.calls == 0 {
                eprintln!(
                    "cif-bench: {name} at {in_flight} in flight: {} failed calls of {}",
                    run.errors, run.calls
                );
                failures += 1;
            }
            latency_rows.push(vec![
                in_flight.to_string(),
                name.to_string(),
                ms(run.latencies.quantile(0.5)),
                ms(run.latencies.quantile(0.99)),
                ms(run.latencies.quantile(0.999)),
            ]);
            runs.push(run);
        }
        throughput.row(vec![
            in_flight.to_string(),
            format!("{:.0}", runs[0].per_second()),
            format!("{:.0}", runs[1].per_second()),
            ratio(runs[1].per_second(), runs[0].per_second()),
            format!("{:.0}", runs[2].per_second()),
            ratio(runs[2].per_second(), runs[0].per_second()),
            format!(
                "{:.1} / {:.1} / {:.1}",
                runs[0].cpu_per_call_us(),
                runs[1].cpu_per_call_us(),
                runs[2].cpu_per_call_us()
            ),
        ]);
    }
    let latency = Table::new(
        "Unary mix: latency",
        &["in flight", "server", "p50", "p99", "p999"],
    );
    for row in latency_rows {
        latency.row(row);
    }
    let mut durable = String::new();
    for (name, server) in &servers[1..] {
        let metrics = scrape(server);
        let refusals = refused(&metrics);
        if refusals > 0 {
            eprintln!(
                "cif-bench: {name} refused {refusals} calls (the mix must not measure refusals)"
            );
            failures += 1;
        }
        // The last is the durable server.
        durable = metrics;
    }
    let commits = metric(&durable, "cif_commit_seconds_count");
    println!(
        "\nDurable, from its metrics: {commits:.0} commits, {:.1} commands per commit, {:.2} ms per commit on average; refused calls: {}.",
        metric(&durable, "cif_commit_commands_sum") / commits.max(1.0),
        metric(&durable, "cif_commit_seconds_sum") * 1000.0 / commits.max(1.0),
        refused(&durable),
    );
    failures
}

async fn fan_out(placement: &Placement, plan: &fanout::Plan) -> usize {
    let cifd = Server::cifd(placement, cifd_options().arg("--in-memory")).await;
    let (ours, shape) = fanout::run(&cifd, plan, None).await;
    drop(cifd);
    let baseline = Server::baseline(placement);
    let (raw, _) = fanout::run(&baseline, plan, shape.as_ref()).await;
    let table = Table::new(
        &format!(
            "Filtered fan-out: {} streams, {} mutations/s for {:?}, each event to its owner and its agent",
            plan.streams, plan.mutations_per_second, plan.length
        ),
        &[
            "server",
            "p50",
            "p99",
            "max",
            "delivered",
            "foreign",
            "bytes per idle stream",
        ],
    );
    for (name, measured) in [
        ("baseline (raw routing)", &raw),
        ("cifd (in-memory)", &ours),
    ] {
        table.row(vec![
            name.into(),
            ms(measured.deliveries.quantile(0.5)),
            ms(measured.deliveries.quantile(0.99)),
            ms(measured.deliveries.max()),
            format!("{}/{}", measured.deliveries.len(), measured.expected),
            measured.foreign.to_string(),
            format!("{:.0}", measured.idle_stream_bytes),
        ]);
    }
    table.row(vec![
        "cifd / baseline".into(),
        ratio(
            ours.deliveries.quantile(0.5).as_secs_f64(),
            raw.deliveries.quantile(0.5).as_secs_f64(),
        ),
        ratio(
            ours.deliveries.quantile(0.99).as_secs_f64(),
            raw.deliveries.quantile(0.99).as_secs_f64(),
        ),
        ratio(
            ours.deliveries.max().as_secs_f64(),
            raw.deliveries.max().as_secs_f64(),
        ),
        String::new(),
        String::new(),
        ratio(ours.idle_stream_bytes, raw.idle_stream_bytes),
    ]);
    let mut failures = 0;
    for (name, measured) in [("baseline", &raw), ("cifd", &ours)] {
        if measured.foreign > 0
            || measured.failed_mutations > 0
            || measured.deliveries.len() < measured.expected
        {
            eprintln!(
                "cif-bench: fan-out on {name}: {} foreign, {} failed mutations, {} of {} delivered",
                measured.foreign,
                measured.failed_mutations,
                measured.deliveries.len(),
                measured.expected
            );
            failures += 1;
        }
    }
    failures
}

async fn scale_and_memory(placement: &Placement, plan: &scale::Plan) -> usize {
    let baseline = Server::baseline(placement);
    let population = mix::Population::create(&baseline, 1, plan.in_flight).await;
    let workers = mix::workers(&baseline, &population, plan.in_flight).await;
    mix::run(&baseline, &workers, plan.length / 5).await;
    let raw = mix::run(&baseline, &workers, plan.length).await;
    let raw_rss = baseline.rss_bytes();
    drop(baseline);
    // The history is kept short, so the memory figure counts sessions: every retained event
    // holds a copy of its session, and what the default history holds depends on what ran.
    let cifd = Server::cifd(
        placement,
        cifd_options()
            .arg("--in-memory")
            .arg("--history-events")
            .arg("1000"),
    )
    .await;
    let measured = scale::run(&cifd, plan).await;
    let table = Table::new(
        &format!(
            "Scale: the unary mix at {} in flight, {} agents, sessions with 3 tabs each",
            plan.in_flight, plan.agents
        ),
        &["server", "open sessions", "calls/s", "ratio", "p99", "RSS"],
    );
    let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / 1_048_576.0);
    table.row(vec![
        "baseline".into(),
        "-".into(),
        format!("{:.0}", raw.per_second()),
        "-".into(),
        ms(raw.latencies.quantile(0.99)),
        mib(raw_rss),
    ]);
    let agents = plan.agents;
    for (sessions, run, rss) in [
        (
            format!("{}", plan.few),
            &measured.with_few,
            Some(measured.rss_few),
        ),
        (
            format!("{}", plan.many),
            &measured.with_many,
            Some(measured.rss_many),
        ),
        (
            format!("{} (workers on {} new agents)", plan.many, plan.in_flight),
            &measured.with_many_small_desks,
            None,
        ),
    ] {
        table.row(vec![
            "cifd (in-memory)".into(),
            sessions,
            format!("{:.0}", run.per_second()),
            ratio(run.per_second(), measured.with_few.per_second()),
            ms(run.latencies.quantile(0.99)),
            rss.map_or_else(String::new, mib),
        ]);
    }
    println!(
        "\nWith {} sessions on {agents} agents, each worker's desk holds {} sessions, and an agent's SwitchSession and CloseSession answer with the whole desk; the last row has workers on agents of their own.",
        plan.many,
        plan.many / agents
    );
    println!(
        "\nMemory: {:.0} bytes of RSS per open session with 3 tabs (from {} to {} sessions, opened in {:.1} s; history capped at 1,000 events).",
        measured.session_bytes,
        plan.few,
        plan.many,
        measured.filling.as_secs_f64()
    );
    usize::from(
        measured.with_few.errors
            + measured.with_many.errors
            + measured.with_many_small_desks.errors
            + raw.errors
            > 0,
    )
}
