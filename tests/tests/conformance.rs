//! One conformance suite, three languages: every scenario of conformance/scenarios is played
//! by the Rust runner (cif_e2e::conformance), the Python runner and the TypeScript runner,
//! each against a fresh cifd per scenario, and again against three replicas on PostgreSQL
//! (Rust through one channel to all three, Python and TypeScript through a follower). A
//! scenario that passes in one language and fails in another is a bug in a client or in the
//! server.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use cif_e2e::{Cifd, Options, Postgres, conformance, python, repository, typescript_client};
use serde_json::{Value, json};

fn scenarios() -> Vec<(PathBuf, Value)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repository().join("conformance/scenarios"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let scenario = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (path, scenario)
        })
        .collect()
}

/// Fails with every scenario that did not pass.
fn every_one_passed(failures: &[String], of: usize) {
    assert!(
        failures.is_empty(),
        "{} of {of} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_in_rust() {
    let mut failures = Vec::new();
    let all = scenarios();
    for (path, scenario) in &all {
        let cifd = Cifd::start();
        if let Err(why) = conformance::play(scenario, &cifd.endpoint(), &cifd.operator_token).await
        {
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    every_one_passed(&failures, all.len());
}

/// The same scenarios against three replicas on one PostgreSQL database (a database per
/// scenario), through one channel to all three: each call goes to any of them, changes are
/// forwarded to the writer, and what a caller has seen is there on the next replica it asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes_in_rust_against_three_replicas() {
    let cluster = Postgres::start();
    let mut failures = Vec::new();
    let all = scenarios();
    for (index, (path, scenario)) in all.iter().enumerate() {
        let url = cluster.new_database(&format!("scenario_{index}"));
        let replicas: Vec<Cifd> = (0..3)
            .map(|_| Cifd::start_with(Options::postgres(&cluster, &url)))
            .collect();
        let endpoints: Vec<String> = replicas.iter().map(Cifd::endpoint).collect();
        let token = &replicas[0].operator_token;
        if let Err(why) = conformance::play(scenario, &endpoints.join(","), token).await {
            failures.push(format!("{}: {why}", path.display()));
        }
    }
    every_one_passed(&failures, all.len());
}

/// Starts a server per scenario, hands the plan to a runner, and checks it passed them all.
fn run_in(language: &str, runner: impl Fn() -> Command) {
    let all = scenarios();
    let servers: Vec<Cifd> = all.iter().map(|_| Cifd::start()).collect();
    let plan: Vec<Value> = all
        .iter()
        .zip(&servers)
        .map(|((path, _), cifd)| entry(path, &cifd.endpoint(), &cifd.operator_token))
        .collect();
    if let Err(why) = play_plan(language, runner(), &plan) {
        panic!("{why}");
    }
    drop(servers);
}

/// Plays each scenario on a follower of three replicas on one PostgreSQL database (a
/// database per scenario): every change goes through the follower to the writer, and every
/// read and stream is the follower's own.
fn run_on_a_follower(language: &str, runner: impl Fn() -> Command) {
    let cluster = Postgres::start();
    let mut failures = Vec::new();
    let all = scenarios();
    for (index, (path, _)) in all.iter().enumerate() {
        let url = cluster.new_database(&format!("scenario_{index}"));
        // Started one after another: the first takes the lease before the next one opens.
        let replicas: Vec<Cifd> = (0..3)
            .map(|_| Cifd::start_with(Options::postgres(&cluster, &url)))
            .collect();
        let follower = &replicas[1];
        let plan = [entry(path, &follower.endpoint(), &follower.operator_token)];
        if let Err(why) = play_plan(language, runner(), &plan) {
            failures.push(why);
        }
    }
    every_one_passed(&failures, all.len());
}

/// A runner's plan entry.
fn entry(scenario: &std::path::Path, endpoint: &str, token: &str) -> Value {
    json!({ "scenario": scenario, "endpoint": endpoint, "token": token })
}

/// Hands `plan` to a runner; says what it printed unless every scenario passed.
fn play_plan(language: &str, mut runner: Command, plan: &[Value]) -> Result<(), String> {
    // Tests run at once in this process: each plan its own file.
    static PLANS: AtomicUsize = AtomicUsize::new(0);
    let plan_file = std::env::temp_dir().join(format!(
        "cif-conformance-{language}-{}-{}.json",
        std::process::id(),
        PLANS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&plan_file, serde_json::to_string(&plan).unwrap()).unwrap();
    let output = runner.arg(&plan_file).output().unwrap();
    let _ = std::fs::remove_file(&plan_file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let passed = stdout
        .lines()
        .filter(|line| line.starts_with("PASS "))
        .count();
    if output.status.success() && passed == plan.len() {
        return Ok(());
    }
    Err(format!(
        "{language}: {passed} of {} passed\n{stdout}\n{}",
        plan.len(),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn python_runner() -> Command {
    let mut runner = Command::new(python());
    runner.arg(repository().join("conformance/python/run.py"));
    runner
}

fn typescript_runner() -> Command {
    let mut runner = Command::new("node");
    runner.arg(typescript_client().join("dist/conformance/run.js"));
    runner
}

#[test]
fn every_scenario_passes_in_python() {
    run_in("python", python_runner);
}

#[test]
fn every_scenario_passes_in_typescript() {
    run_in("typescript", typescript_runner);
}

#[test]
fn every_scenario_passes_in_python_on_a_follower_of_three_replicas() {
    run_on_a_follower("python", python_runner);
}

#[test]
fn every_scenario_passes_in_typescript_on_a_follower_of_three_replicas() {
    run_on_a_follower("typescript", typescript_runner);
}
