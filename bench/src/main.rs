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
mod desk;
mod failover;
mod fanout;
mod hostile;
mod mix;
mod plot;
mod recovery;
mod replicas;
mod scale;
mod soak;
mod stats;
mod target;

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::stats::{Latencies, Spread, Table, ms, ratio};
use crate::target::{Placement, Server, cifd_options, metric, refused};

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
    /// Trials of each comparison: the baseline and cifd run alternately this many times, and
    /// each ratio is the median of the trials' ratios, with their range.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    trials: u32,
    /// Calls in flight for the unary mix, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    in_flight: Vec<usize>,
    /// Bytes of every unary answer of the baseline (0: empty messages, the no-op). With answers
    /// as large as cifd's, the baseline pays what the transport costs for them.
    #[arg(long, default_value_t = 0)]
    baseline_answer_bytes: usize,
    /// How long the soak runs, in minutes.
    #[arg(long, default_value_t = 30.0)]
    soak_minutes: f64,
    /// The soak's sampling interval, in seconds.
    #[arg(long, default_value_t = 30)]
    soak_interval: u64,
    /// The soak restarts the server after this many samples (0: never).
    #[arg(long, default_value_t = 20)]
    soak_restart_every: usize,
    /// Also draws the soak's figures over time into this SVG file.
    #[arg(long)]
    soak_plot: Option<std::path::PathBuf>,
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
    /// Draws the figures of a soak's printed output (its table) as an SVG plot.
    PlotSoak {
        /// The soak's output, as it printed it.
        printed: std::path::PathBuf,
        /// The SVG file to write.
        svg: std::path::PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Mix,
    Fanout,
    Scale,
    /// Resident memory at many open sessions with the default history.
    Memory,
    Recovery,
    Desk,
    /// The durable mix on PostgreSQL through one and three replicas, beside the embedded
    /// store, and PostgreSQL's ceiling for cifd's commit (pgbench).
    Replicas,
    /// Three replicas on PostgreSQL: from killing the writer to the next acknowledged write.
    Failover,
    /// A provider's unary mix alone and beside a hostile client at every limit.
    Hostile,
    /// A mixed load for --soak-minutes with restarts, sampling memory, files, tasks, streams
    /// and p99 over time. Runs only when named (or in --smoke).
    Soak,
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
    if let Some(Command::PlotSoak { printed, svg }) = &args.command {
        let printed = std::fs::read_to_string(printed).expect("the soak's output is readable");
        let samples: Vec<soak::Sample> =
            printed.lines().filter_map(soak::Sample::from_row).collect();
        let title = printed
            .lines()
            .find_map(|line| line.strip_prefix("### Soak: "))
            .unwrap_or("Soak");
        std::fs::write(svg, plot::soak(title, &samples)).expect("the plot is written");
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
    // Two trials at smoke sizes: enough to run the medians' code.
    let trials = if args.smoke {
        args.trials.min(2)
    } else {
        args.trials
    } as usize;
    println!(
        "- each ratio: the median of {trials} interleaved trials (baseline and cifd alternating), with the smallest and largest in brackets"
    );
    let mut failures = 0;
    if wanted(Scenario::Mix) {
        let levels: &[usize] = if args.smoke {
            &[1, 16]
        } else {
            &args.in_flight
        };
        failures += unary_mix(&placement, levels, length, trials).await;
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
        failures += fan_out(&placement, &plan, trials).await;
    }
    if wanted(Scenario::Scale) || wanted(Scenario::Memory) {
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
        if wanted(Scenario::Scale) {
            failures += scale_and_memory(&placement, &plan, trials).await;
        }
        if wanted(Scenario::Memory) {
            failures += memory_with_history(&placement, &plan).await;
        }
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
    if wanted(Scenario::Replicas) {
        let plan = replicas::Plan {
            levels: if args.smoke {
                vec![4]
            } else {
                args.in_flight.clone()
            },
            length,
            trials,
        };
        failures += replicas::run(&placement, &plan).await;
    }
    if wanted(Scenario::Failover) {
        let (rounds, steady) = if args.smoke {
            (1, Duration::from_millis(500))
        } else {
            (5, Duration::from_secs(2))
        };
        failures += failover_after_kills(rounds, steady).await;
    }
    if wanted(Scenario::Hostile) {
        let plan = if args.smoke {
            hostile::Plan {
                in_flight: 4,
                length,
                trials,
                flooders: 4,
                idle_connections: 20,
                drips: 10,
            }
        } else {
            hostile::Plan {
                in_flight: 16,
                length,
                trials,
                flooders: 16,
                idle_connections: 1_100,
                drips: 200,
            }
        };
        failures += beside_a_hostile_client(&placement, &plan).await;
    }
    // The soak is long: only when named, or small in the smoke run.
    if args.only.contains(&Scenario::Soak) || (args.smoke && args.only.is_empty()) {
        let plan = if args.smoke {
            soak::Plan {
                length: Duration::from_secs(3),
                interval: Duration::from_secs(1),
                restart_every: 2,
                in_flight: 4,
                churning_streams: 4,
            }
        } else {
            soak::Plan {
                length: Duration::from_secs_f64(args.soak_minutes * 60.0),
                interval: Duration::from_secs(args.soak_interval),
                restart_every: args.soak_restart_every,
                in_flight: 16,
                churning_streams: 32,
            }
        };
        failures += soak_run(&placement, &plan, args.soak_plot.as_deref()).await;
    }
    if wanted(Scenario::Desk) {
        // Without the page's packages or Chromium the suite, its smoke run included, goes on
        // and says why; where they are (CI installs them), the smoke run must measure.
        let needed = desk::missing().is_none();
        let unmeasured = desk_in_a_browser(if args.smoke { 20 } else { 200 });
        if args.smoke && needed {
            failures += unmeasured;
        }
    }
    failures
}

/// The good provider's latency alone and attacked (target: p99 within 3x, never refused),
/// and what the attack did.
async fn beside_a_hostile_client(placement: &Placement, plan: &hostile::Plan) -> usize {
    let measured = hostile::run(placement, plan).await;
    let table = Table::new(
        &format!(
            "Hostile client: a provider's unary mix ({} in flight) alone and beside a hostile client on other addresses",
            plan.in_flight
        ),
        &["figure", "alone", "attacked", "attacked / alone", "target"],
    );
    let p = |runs: &[mix::MixRun], q: f64| -> Vec<f64> {
        runs.iter()
            .map(|run| run.latencies.quantile(q).as_secs_f64() * 1000.0)
            .collect()
    };
    for (name, q, target) in [("p50", 0.5, ""), ("p99", 0.99, "<= 3")] {
        let (alone, attacked) = (p(&measured.quiet, q), p(&measured.attacked, q));
        let ratio = Spread::of_ratios(&attacked, &alone);
        let met = if target.is_empty() {
            String::new()
        } else {
            format!(
                "{target}: {}",
                if ratio.median <= 3.0 { "met" } else { "missed" }
            )
        };
        table.row(vec![
            format!("{name}, ms (median of trials)"),
            format!("{:.2}", Spread::of(alone).median),
            format!("{:.2}", Spread::of(attacked).median),
            ratio.ratio(),
            met,
        ]);
    }
    let calls = |runs: &[mix::MixRun]| Spread::of(runs.iter().map(mix::MixRun::per_second)).median;
    let refused: usize = measured.attacked.iter().map(|run| run.errors).sum();
    table.row(vec![
        "calls/s; calls refused".into(),
        format!("{:.0}", calls(&measured.quiet)),
        format!("{:.0}; {refused}", calls(&measured.attacked)),
        Spread::of_ratios(
            &measured
                .attacked
                .iter()
                .map(mix::MixRun::per_second)
                .collect::<Vec<_>>(),
            &measured
                .quiet
                .iter()
                .map(mix::MixRun::per_second)
                .collect::<Vec<_>>(),
        )
        .ratio(),
        format!("0 refused: {}", if refused == 0 { "met" } else { "missed" }),
    ]);
    let attack = &measured.attack;
    let per_second = |counter: &std::sync::atomic::AtomicU64| {
        counter.load(std::sync::atomic::Ordering::Relaxed) as f64 / measured.attacked_seconds
    };
    let count =
        |counter: &std::sync::atomic::AtomicU64| counter.load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "\nThe attack, over {:.0} s: {:.0} calls/s without a credential ({:.0}/s answered, {:.0}/s refused); {} streams held unread by a provider of its own ({} more refused); {} idle connections opened from one address ({} closed by the server); {} calls with 32 KiB of headers refused; {} dripped HTTP/1.1 heads dropped ({} dripping at a time).",
        measured.attacked_seconds,
        per_second(&attack.flood_answered) + per_second(&attack.flood_refused),
        per_second(&attack.flood_answered),
        per_second(&attack.flood_refused),
        count(&attack.streams_held),
        count(&attack.streams_refused),
        count(&attack.connections_opened),
        count(&attack.connections_closed),
        count(&attack.oversized_refused),
        count(&attack.drips_dropped),
        plan.drips,
    );
    usize::from(refused > 0)
}

/// The soak's samples over time, and whether each figure stayed flat within each server life.
async fn soak_run(
    placement: &Placement,
    plan: &soak::Plan,
    plot_to: Option<&std::path::Path>,
) -> usize {
    let samples = soak::run(placement, plan).await;
    let title = format!(
        "{:.1} minutes, the durable server restarted every {} samples; one row per {} s",
        plan.length.as_secs_f64() / 60.0,
        plan.restart_every,
        plan.interval.as_secs()
    );
    let table = Table::new(
        &format!("Soak: {title}"),
        &[
            "at (s)",
            "server life",
            "calls/s",
            "p99",
            "failed calls",
            "RSS (MiB)",
            "open files",
            "tasks",
            "open streams",
            "streams churned",
            "toasts answered",
        ],
    );
    for sample in &samples {
        table.row(vec![
            format!("{:.0}", sample.at.as_secs_f64()),
            sample.life.to_string(),
            format!("{:.0}", sample.calls_per_second),
            ms(sample.p99),
            sample.failed_calls.to_string(),
            format!("{:.1}", sample.rss_bytes as f64 / 1_048_576.0),
            sample.open_files.to_string(),
            sample.tasks.to_string(),
            sample.open_streams.to_string(),
            sample.streams_churned.to_string(),
            sample.toasts_answered.to_string(),
        ]);
    }
    if let Some(path) = plot_to {
        std::fs::write(path, plot::soak(&title, &samples)).expect("the plot is written");
    }
    // Flat: within each server life, the last sample against the second (the first still
    // warms up).
    let lives = samples.iter().map(|sample| sample.life).max().unwrap_or(0) + 1;
    for life in 0..lives {
        let of_life: Vec<&soak::Sample> = samples.iter().filter(|s| s.life == life).collect();
        let (Some(first), Some(last)) = (of_life.get(1), of_life.last()) else {
            continue;
        };
        println!(
            "\nServer life {life}, second sample to last: RSS {:.1} -> {:.1} MiB, open files {} -> {}, tasks {} -> {}, p99 {} -> {}.",
            first.rss_bytes as f64 / 1_048_576.0,
            last.rss_bytes as f64 / 1_048_576.0,
            first.open_files,
            last.open_files,
            first.tasks,
            last.tasks,
            ms(first.p99),
            ms(last.p99),
        );
    }
    usize::from(samples.is_empty())
}

/// Failover time over `rounds` kills of the writer, `steady` apart (targets: median <= 2 s,
/// max <= 5 s, no gap in the log; a gap fails the run).
async fn failover_after_kills(rounds: usize, steady: Duration) -> usize {
    let measured = failover::run(rounds, steady).await;
    let mut times = measured.failovers.clone();
    times.sort_unstable();
    let median = times[times.len() / 2];
    let max = *times.last().expect("a round");
    let table = Table::new(
        &format!(
            "Failover: three replicas on PostgreSQL, {} providers writing through all three, the writer SIGKILLed {rounds} times",
            4
        ),
        &["figure", "measured", "target"],
    );
    let met = |ok: bool| if ok { "met" } else { "missed" };
    table.row(vec![
        "kill to the first acknowledged write, median".into(),
        ms(median),
        format!("<= 2 s: {}", met(median <= Duration::from_secs(2))),
    ]);
    table.row(vec![
        "kill to the first acknowledged write, max".into(),
        ms(max),
        format!("<= 5 s: {}", met(max <= Duration::from_secs(5))),
    ]);
    table.row(vec![
        "each kill".into(),
        measured
            .failovers
            .iter()
            .map(|took| format!("{:.2}", took.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(" / ")
            + " s",
        String::new(),
    ]);
    table.row(vec![
        "writes acknowledged; gaps in the stored log".into(),
        format!("{}; {}", measured.acknowledged, measured.gaps),
        format!("0 gaps: {}", met(measured.gaps == 0)),
    ]);
    usize::from(measured.gaps > 0)
}

async fn unary_mix(
    placement: &Placement,
    levels: &[usize],
    length: Duration,
    trials: usize,
) -> usize {
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
        "\nUnary mix: create session (title, 3 context keys), create tab, request attention, get session, agent closes; runs of {length:?} after a warm-up; in each trial the three servers run one after another."
    );
    let throughput = Table::new(
        "Unary mix: calls/s (medians)",
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
        let mut workers = Vec::new();
        for ((_, server), population) in servers.iter().zip(&populations) {
            let these = mix::workers(server, population, in_flight).await;
            mix::run(server, &these, length / 5).await;
            workers.push(these);
        }
        // runs[server][trial]
        let mut runs: [Vec<mix::MixRun>; 3] = Default::default();
        for _ in 0..trials {
            for (index, (name, server)) in servers.iter().enumerate() {
                let (run, failed) = mix::trial(name, server, &workers[index], length).await;
                failures += failed;
                runs[index].push(run);
            }
        }
        throughput.row(mix::throughput_row(in_flight, &runs));
        let names: Vec<&str> = servers.iter().map(|(name, _)| *name).collect();
        latency_rows.extend(mix::latency_rows(in_flight, &names, &runs));
    }
    let latency = Table::new(
        "Unary mix: latency (every trial's calls)",
        &["in flight", "server", "p50", "p99", "p999"],
    );
    for row in latency_rows {
        latency.row(row);
    }
    let mut durable = String::new();
    for (name, server) in &servers[1..] {
        let metrics = server.writer_metrics();
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

async fn fan_out(placement: &Placement, plan: &fanout::Plan, trials: usize) -> usize {
    let cifd = Server::cifd(placement, cifd_options().arg("--in-memory")).await;
    let mut ours = fanout::open(&cifd, plan, None).await;
    let baseline = Server::baseline(placement);
    let mut raw = fanout::open(&baseline, plan, Some(ours.shape())).await;
    // trials[server][trial]
    let mut measured: [Vec<fanout::FanOut>; 2] = Default::default();
    for _ in 0..trials {
        measured[0].push(raw.measure(plan).await);
        measured[1].push(ours.measure(plan).await);
    }
    let table = Table::new(
        &format!(
            "Filtered fan-out: {} streams, {} mutations/s for {:?} per trial, each event to its owner and its agent",
            plan.streams, plan.mutations_per_second, plan.length
        ),
        &[
            "server",
            "p50 (median)",
            "p99 (median)",
            "max",
            "delivered",
            "foreign",
            "bytes per idle stream",
        ],
    );
    let quantile = |server: usize, p: f64| -> Vec<f64> {
        measured[server]
            .iter()
            .map(|trial| trial.deliveries.quantile(p).as_secs_f64())
            .collect()
    };
    let seconds = |values: Vec<f64>| ms(Duration::from_secs_f64(Spread::of(values).median));
    for (index, name) in ["baseline (raw routing)", "cifd (in-memory)"]
        .into_iter()
        .enumerate()
    {
        let trials = &measured[index];
        table.row(vec![
            name.into(),
            seconds(quantile(index, 0.5)),
            seconds(quantile(index, 0.99)),
            ms(trials
                .iter()
                .map(|trial| trial.deliveries.max())
                .max()
                .unwrap_or_default()),
            format!(
                "{}/{}",
                trials.iter().map(|t| t.deliveries.len()).sum::<usize>(),
                trials.iter().map(|t| t.expected).sum::<usize>()
            ),
            trials.iter().map(|t| t.foreign).sum::<usize>().to_string(),
            format!("{:.0}", trials[0].idle_stream_bytes),
        ]);
    }
    let per_trial_max = |server: usize| -> Vec<f64> {
        measured[server]
            .iter()
            .map(|trial| trial.deliveries.max().as_secs_f64())
            .collect()
    };
    table.row(vec![
        "cifd / baseline".into(),
        Spread::of_ratios(&quantile(1, 0.5), &quantile(0, 0.5)).ratio(),
        Spread::of_ratios(&quantile(1, 0.99), &quantile(0, 0.99)).ratio(),
        Spread::of_ratios(&per_trial_max(1), &per_trial_max(0)).ratio(),
        String::new(),
        String::new(),
        ratio(
            measured[1][0].idle_stream_bytes,
            measured[0][0].idle_stream_bytes,
        ),
    ]);
    let mut failures = 0;
    for (name, trials) in [("baseline", &measured[0]), ("cifd", &measured[1])] {
        for measured in trials {
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
    }
    failures
}

async fn scale_and_memory(placement: &Placement, plan: &scale::Plan, trials: usize) -> usize {
    let baseline = Server::baseline(placement);
    let population = mix::Population::create(&baseline, 1, plan.in_flight).await;
    let workers = mix::workers(&baseline, &population, plan.in_flight).await;
    mix::run(&baseline, &workers, plan.length / 5).await;
    let raw_rss = baseline.rss_bytes();
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
    let measured = scale::run(
        &cifd,
        &scale::Baseline {
            server: &baseline,
            workers: &workers,
        },
        plan,
        trials,
    )
    .await;
    let table = Table::new(
        &format!(
            "Scale: the unary mix at {} in flight, {} agents, sessions with 3 tabs each (medians)",
            plan.in_flight, plan.agents
        ),
        &[
            "open sessions",
            "cifd calls/s",
            "cifd / baseline",
            &format!("cifd / cifd at {}", plan.few),
            "p99",
            "RSS",
        ],
    );
    let mib = |bytes: u64| format!("{:.1} MiB", bytes as f64 / 1_048_576.0);
    let rates = |trials: &[scale::Trial], of: fn(&scale::Trial) -> &mix::MixRun| -> Vec<f64> {
        trials.iter().map(|trial| of(trial).per_second()).collect()
    };
    let few = rates(&measured.with_few, |trial| &trial.cifd);
    let agents = plan.agents;
    let mut errors = 0;
    for (sessions, trials, rss) in [
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
    ] {
        let ours = rates(trials, |trial| &trial.cifd);
        let theirs = rates(trials, |trial| &trial.baseline);
        let p99 = Latencies::pooled(trials.iter().map(|trial| &trial.cifd.latencies));
        errors += trials
            .iter()
            .map(|trial| trial.cifd.errors + trial.baseline.errors)
            .sum::<usize>();
        table.row(vec![
            sessions,
            format!("{:.0}", Spread::of(ours.clone()).median),
            Spread::of_ratios(&ours, &theirs).ratio(),
            Spread::of_ratios(&ours, &few).ratio(),
            ms(p99.quantile(0.99)),
            rss.map_or_else(String::new, mib),
        ]);
    }
    println!(
        "\nThe baseline ran {:.0} calls/s (median; RSS {}), once before each of cifd's runs. Each worker's agent holds one session of 3 tabs (besides the mix's own) with {} and with {} sessions in the server, the others on the other {} agents.",
        Spread::of(rates(&measured.with_few, |trial| &trial.baseline)).median,
        mib(raw_rss),
        plan.few,
        plan.many,
        agents - plan.in_flight
    );
    errors += switches_table(&measured.switches, plan.in_flight);
    println!(
        "\nMemory: {:.0} bytes of RSS per open session with 3 tabs (from {} to {} sessions, opened in {:.1} s; history capped at 1,000 events).",
        measured.session_bytes,
        plan.few,
        plan.many,
        measured.filling.as_secs_f64()
    );
    usize::from(errors > 0)
}

/// Resident memory with many open sessions and the default history, in a cifd of its own.
/// The same with the history capped at 1,000 events tells what the retained events cost.
async fn memory_with_history(placement: &Placement, plan: &scale::Plan) -> usize {
    let mut measured = Vec::new();
    for history in [None, Some("1000")] {
        let mut options = cifd_options().arg("--in-memory");
        if let Some(events) = history {
            options = options.arg("--history-events").arg(events);
        }
        let cifd = Server::cifd(placement, options).await;
        measured.push(scale::memory_with_history(&cifd, plan).await);
    }
    let mib = |bytes: u64| bytes as f64 / 1_048_576.0;
    // Opening a session logs at least 4 events (the session and its tabs), so with 25,000
    // or more the default history is full and the capped one holds 1,000.
    let per_event = if plan.many >= 25_000 {
        format!(
            ", so {:.0} bytes per retained event",
            (measured[0] as f64 - measured[1] as f64) / 99_000.0
        )
    } else {
        String::new()
    };
    println!(
        "\nMemory with the default history (100,000 events): {:.1} MiB of RSS at {} open sessions of 3 tabs on {} agents (target <= 250 MiB at 100,000); {:.1} MiB with the history capped at 1,000 events{per_event}.",
        mib(measured[0]),
        plan.many,
        plan.agents,
        mib(measured[1]),
    );
    0
}

/// What an agent's switch costs on its desk of 1 session and of 10 with 3 tabs each, answered
/// with the whole desk and with the basic view (target: basic on 10 <= 1.25x on 1, in
/// server CPU per call). Returns the failed calls.
fn switches_table(switches: &scale::Switches, in_flight: usize) -> usize {
    let table = Table::new(
        &format!(
            "An agent's SwitchSession, {in_flight} agents at once, on desks of 1 and of 10 sessions with 3 tabs (medians)"
        ),
        &[
            "view",
            "desk of 1: calls/s",
            "desk of 10: calls/s",
            "server CPU us/call (1 / 10)",
            "cost on 10 / on 1",
        ],
    );
    let cpu = |runs: &[mix::MixRun]| -> Vec<f64> {
        runs.iter().map(mix::MixRun::cpu_per_call_us).collect()
    };
    let rate = |runs: &[mix::MixRun]| {
        Spread::of(runs.iter().map(mix::MixRun::per_second).collect::<Vec<_>>()).median
    };
    for (view, small, large) in [
        ("whole desk", &switches.small_full, &switches.large_full),
        ("basic", &switches.small_basic, &switches.large_basic),
    ] {
        table.row(vec![
            view.into(),
            format!("{:.0}", rate(small)),
            format!("{:.0}", rate(large)),
            format!(
                "{:.1} / {:.1}",
                Spread::of(cpu(small)).median,
                Spread::of(cpu(large)).median
            ),
            Spread::of_ratios(&cpu(large), &cpu(small)).ratio(),
        ]);
    }
    [
        &switches.small_full,
        &switches.small_basic,
        &switches.large_full,
        &switches.large_basic,
    ]
    .iter()
    .flat_map(|runs| runs.iter())
    .map(|run| run.errors)
    .sum()
}

/// The desk page's figures: event to screen, first render, bundle size (targets: p99 <= 50 ms
/// on loopback, first render <= 1 s, bundle <= 250 KB gzipped).
fn desk_in_a_browser(events: usize) -> usize {
    let figures = match desk::run(events) {
        Ok(figures) => figures,
        Err(why) => {
            println!("\n### The desk in a browser\n\nnot measured: {why}");
            return 1;
        }
    };
    let number = |key: &str| figures[key].as_f64().unwrap_or(f64::NAN);
    let table = Table::new(
        &format!(
            "The desk in a browser (Chromium): {} changes, one at a time; first render of {} sessions with {} tabs",
            number("events"),
            number("sessions"),
            number("tabs")
        ),
        &["figure", "measured", "target"],
    );
    table.row(vec![
        "provider call to the page showing it, p50 (the call's own answer)".into(),
        format!(
            "{:.2} ms ({:.2} ms)",
            number("p50_ms"),
            number("answer_p50_ms")
        ),
        "".into(),
    ]);
    table.row(vec![
        "provider call to the page showing it, p99 (the call's own answer)".into(),
        format!(
            "{:.2} ms ({:.2} ms)",
            number("p99_ms"),
            number("answer_p99_ms")
        ),
        "<= 50 ms".into(),
    ]);
    table.row(vec![
        "first render after sign-in".into(),
        format!("{:.0} ms", number("first_render_ms")),
        "<= 1000 ms".into(),
    ]);
    table.row(vec![
        "page bundle (gzipped)".into(),
        format!(
            "{:.1} KB ({:.1} KB raw)",
            number("bundle_gzip_bytes") / 1000.0,
            number("bundle_bytes") / 1000.0
        ),
        "<= 250 KB".into(),
    ]);
    table.row(vec![
        "CIF widget library (gzipped)".into(),
        format!(
            "{:.1} KB ({:.1} KB raw)",
            number("library_gzip_bytes") / 1000.0,
            number("library_bytes") / 1000.0
        ),
        "<= 30 KB".into(),
    ]);
    0
}
