//! The durable unary mix on PostgreSQL, through one cifd and through three replicas, beside
//! the embedded store; and PostgreSQL's own ceiling for what cifd commits: `pgbench` running
//! `cifd_commit` with a batch shaped as cifd's (as many records and events, of their average
//! sizes) on one connection, since cifd's writer commits on one connection, one batch at a
//! time. Everything runs in turns in each trial, on one throwaway cluster whose processes run
//! on the servers' CPU.

use std::time::{Duration, Instant};

use cif_e2e::{Cifd, Options, Postgres};

use crate::mix;
use crate::stats::{Spread, Table};
use crate::target::{Placement, Server, cifd_options, refused};

pub struct Plan {
    pub levels: Vec<usize>,
    pub length: Duration,
    pub trials: usize,
}

/// The databases of the two cifd set-ups, by the servers' order.
const DATABASES: [&str; 2] = ["one_replica", "three_replicas"];

/// Runs the scenario and prints its tables; returns the number of failed checks.
pub async fn run(placement: &Placement, plan: &Plan) -> usize {
    let cluster = Postgres::start_on(placement.server_cpus.as_deref());
    let on = |database: &str| {
        let url = cluster.new_database(database);
        let password = cluster.password().to_owned();
        move || -> Options {
            cifd_options()
                .arg("--store")
                .arg(url.as_str())
                .env("CIF_STORE_PASSWORD", password.as_str())
        }
    };
    let (one, three) = (on(DATABASES[0]), on(DATABASES[1]));
    let servers = [
        ("embedded", Server::cifd(placement, cifd_options()).await),
        ("1 replica", Server::cifd(placement, one()).await),
        ("3 replicas", Server::replicas(placement, 3, three).await),
    ];
    let ceiling = Ceiling::prepare(&cluster);
    let most = plan.levels.iter().copied().max().unwrap_or(1);
    let mut populations = Vec::new();
    for (_, server) in &servers {
        populations.push(mix::Population::create(server, most.div_ceil(16), most).await);
    }
    println!(
        "\nThe durable unary mix on PostgreSQL (a throwaway cluster on 127.0.0.1, its processes on the servers' CPU): one cifd, and three replicas with connections spread over them (followers first); pgbench on the load generator's CPU. In each trial the three servers, then pgbench, run one after another for {:?}.",
        plan.length
    );
    let throughput = Table::new(
        "Durable unary mix on PostgreSQL: calls/s (medians)",
        &[
            "in flight",
            "embedded",
            "1 replica",
            "1 replica / embedded",
            "3 replicas",
            "3 replicas / embedded",
            "cifd CPU us/call (embedded / 1 / 3 replicas)",
        ],
    );
    let mut commit_rows = Vec::new();
    let mut latency_rows = Vec::new();
    let mut failures = 0;
    for &in_flight in &plan.levels {
        let mut workers = Vec::new();
        for ((_, server), population) in servers.iter().zip(&populations) {
            let these = mix::workers(server, population, in_flight).await;
            mix::run(server, &these, plan.length / 5).await;
            workers.push(these);
        }
        // runs[server][trial]; commits[database][trial]
        let mut runs: [Vec<mix::MixRun>; 3] = Default::default();
        let mut commits: [Vec<Commits>; 2] = Default::default();
        let mut pgbench = Vec::new();
        for _ in 0..plan.trials {
            for (index, (name, server)) in servers.iter().enumerate() {
                let before = (index > 0).then(|| Commits::count(&cluster, DATABASES[index - 1]));
                let (run, failed) = mix::trial(name, server, &workers[index], plan.length).await;
                failures += failed;
                if let Some(before) = before {
                    let after = Commits::count(&cluster, DATABASES[index - 1]);
                    commits[index - 1].push(after.since(&before, run.elapsed));
                }
                runs[index].push(run);
            }
            let shape = Shape::of(&cluster, DATABASES[0], commits[0].last().expect("a trial"));
            pgbench.push((shape, ceiling.measure(&cluster, &shape, plan.length)));
        }
        throughput.row(mix::throughput_row(in_flight, &runs));
        let per_second = |database: usize| -> Vec<f64> {
            commits[database].iter().map(|c| c.per_second).collect()
        };
        let ceiling_rates: Vec<f64> = pgbench.iter().map(|(_, tps)| *tps).collect();
        let shape = pgbench.last().expect("a trial").0;
        commit_rows.push(vec![
            in_flight.to_string(),
            format!("{:.1} / {:.1}", shape.events, shape.records),
            format!("{:.0}", Spread::of(per_second(0)).median),
            format!("{:.0}", Spread::of(per_second(1)).median),
            format!("{:.0}", Spread::of(ceiling_rates.clone()).median),
            Spread::of_ratios(&per_second(0), &ceiling_rates).ratio(),
            Spread::of_ratios(&per_second(1), &ceiling_rates).ratio(),
        ]);
        let names: Vec<&str> = servers.iter().map(|(name, _)| *name).collect();
        latency_rows.extend(mix::latency_rows(in_flight, &names, &runs));
    }
    let table = Table::new(
        "PostgreSQL's ceiling: commits/s of cifd's writer against pgbench running the same transaction on one connection (medians)",
        &[
            "in flight",
            "events / records per commit",
            "1 replica",
            "3 replicas",
            "pgbench",
            "1 replica / pgbench",
            "3 replicas / pgbench",
        ],
    );
    commit_rows.into_iter().for_each(|row| table.row(row));
    let table = Table::new(
        "Durable unary mix on PostgreSQL: latency (every trial's calls)",
        &["in flight", "server", "p50", "p99", "p999"],
    );
    latency_rows.into_iter().for_each(|row| table.row(row));
    for (name, server) in &servers {
        let refusals = refused(&server.writer_metrics());
        if refusals > 0 {
            eprintln!(
                "cif-bench: {name} refused {refusals} calls (the mix must not measure refusals)"
            );
            failures += 1;
        }
    }
    failures
}

/// Commits and events of a database's writer over a run.
#[derive(Default)]
struct Commits {
    commits: u64,
    events: u64,
    per_second: f64,
    events_per_commit: f64,
}

impl Commits {
    /// The counts now: commits from the lease row, events from the newest sequence.
    fn count(cluster: &Postgres, database: &str) -> Self {
        let counted = cluster.sql(
            database,
            "SELECT commits, (SELECT value FROM cifd_meta WHERE key = 'last_sequence')
             FROM cifd_lease",
        );
        let (commits, events) = counted.split_once('|').expect("two columns");
        Self {
            commits: commits.parse().expect("a count"),
            events: events.parse().unwrap_or(0),
            ..Self::default()
        }
    }

    fn since(&self, before: &Self, elapsed: Duration) -> Self {
        let commits = self.commits - before.commits;
        let events = self.events - before.events;
        Self {
            commits,
            events,
            per_second: commits as f64 / elapsed.as_secs_f64(),
            events_per_commit: events as f64 / commits.max(1) as f64,
        }
    }
}

/// What cifd's average commit holds: events and record rows, and their average sizes.
#[derive(Clone, Copy)]
struct Shape {
    events: f64,
    records: f64,
    event_bytes: usize,
    record_bytes: usize,
}

impl Shape {
    /// From a run's commits, and the database's own statistics for how many record rows are
    /// written per event (inserted or updated, tombstones included) and the rows' sizes.
    fn of(cluster: &Postgres, database: &str, run: &Commits) -> Self {
        let measured = cluster.sql(
            database,
            "SELECT (SELECT (n_tup_ins + n_tup_upd)::float8 FROM pg_stat_user_tables
                     WHERE relname = 'cifd_records')
                  / greatest((SELECT n_tup_ins FROM pg_stat_user_tables
                              WHERE relname = 'cifd_events'), 1),
                    (SELECT coalesce(avg(length(body)), 0)::int FROM cifd_events),
                    (SELECT coalesce(avg(length(body)), 0)::int FROM cifd_records
                     WHERE body IS NOT NULL)",
        );
        let columns: Vec<&str> = measured.split('|').collect();
        let records_per_event: f64 = columns[0].parse().expect("a ratio");
        Self {
            events: run.events_per_commit,
            records: run.events_per_commit * records_per_event,
            event_bytes: columns[1].parse().expect("a size"),
            record_bytes: columns[2].parse().expect("a size"),
        }
    }
}

/// The database pgbench commits to: migrated by a cifd that took its lease and stopped, so
/// `cifd_commit` passes the fence with that cifd's epoch.
struct Ceiling {
    epoch: String,
}

/// Its name.
const CEILING: &str = "ceiling";

impl Ceiling {
    fn prepare(cluster: &Postgres) -> Self {
        let url = cluster.new_database(CEILING);
        drop(Cifd::start_with(Options::postgres(cluster, &url)));
        cluster.sql(
            CEILING,
            "CREATE SEQUENCE bench_sequences; ALTER SEQUENCE bench_sequences OWNER TO cifd",
        );
        let epoch = cluster.sql(CEILING, "SELECT epoch FROM cifd_lease");
        Self { epoch }
    }

    /// pgbench's transactions per second for `shape`'s commit, on one connection.
    fn measure(&self, cluster: &Postgres, shape: &Shape, length: Duration) -> f64 {
        let script = commit_script(shape);
        let seconds = length.as_secs().max(1).to_string();
        let epoch = format!("epoch={}", self.epoch);
        let arguments = [
            "-n", "-M", "prepared", "-c", "1", "-T", &seconds, "-D", &epoch,
        ];
        let started = Instant::now();
        let output = cluster.pgbench(CEILING, &script, &arguments);
        let tps = output
            .lines()
            .find_map(|line| line.strip_prefix("tps = "))
            .and_then(|rest| rest.split(' ').next()?.parse().ok());
        tps.unwrap_or_else(|| {
            panic!(
                "pgbench printed no tps after {:?}:\n{output}",
                started.elapsed()
            )
        })
    }
}

/// A pgbench script committing as cifd does: one call of `cifd_commit` with `shape`'s records
/// (upserts of ids that recur, as sessions change again) and events (new sequences, the
/// history trimmed behind them); no stored answers, as the mix sends no request ids.
fn commit_script(shape: &Shape) -> String {
    let records = (shape.records.round() as usize).max(1);
    let events = (shape.events.round() as usize).max(1);
    let record = hex_bytes(shape.record_bytes);
    let event = hex_bytes(shape.event_bytes);
    format!(
        "SELECT c.removed, c.commit_number
FROM (SELECT array_agg(n ORDER BY n) AS s
      FROM (SELECT nextval('bench_sequences') AS n FROM generate_series(1, {events})) AS g) AS b,
     LATERAL cifd_commit(:epoch, 3600,
         array_fill('session'::text, ARRAY[{records}]),
         ARRAY(SELECT 'bench-' || (b.s[1] * {records} + r) % 50000
               FROM generate_series(1, {records}) AS r),
         array_fill('\\x{record}'::bytea, ARRAY[{records}]),
         '{{}}'::text[], '{{}}'::text[],
         b.s,
         array_fill((extract(epoch FROM clock_timestamp()) * 1000)::bigint, ARRAY[{events}]),
         array_fill('\\x{event}'::bytea, ARRAY[{events}]),
         '{{}}'::text[], '{{}}'::text[], '{{}}'::bytea[], '{{}}'::bytea[], '{{}}'::bigint[],
         b.s[{events}], b.s[{events}] - 100000, 0, 0, 0, 100000) AS c;
"
    )
}

/// `bytes` bytes as hex digits.
fn hex_bytes(bytes: usize) -> String {
    "a5".repeat(bytes)
}
