//! One conformance suite, three languages: every scenario of conformance/scenarios is played
//! by the Rust runner (cif_e2e::conformance), the Python runner and the TypeScript runner,
//! each against a fresh cifd per scenario. A scenario that passes in one language and fails in
//! another is a bug in a client or in the server.

use std::path::PathBuf;
use std::process::Command;

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
fn run_in(language: &str, mut runner: Command) {
    let all = scenarios();
    let servers: Vec<Cifd> = all.iter().map(|_| Cifd::start()).collect();
    let plan: Vec<Value> = all
        .iter()
        .zip(&servers)
        .map(|((path, _), cifd)| {
            json!({
                "scenario": path,
                "endpoint": cifd.endpoint(),
                "token": cifd.operator_token,
            })
        })
        .collect();
    let plan_file = std::env::temp_dir().join(format!(
        "cif-conformance-{language}-{}.json",
        std::process::id()
    ));
    std::fs::write(&plan_file, serde_json::to_string(&plan).unwrap()).unwrap();
    let output = runner.arg(&plan_file).output().unwrap();
    let _ = std::fs::remove_file(&plan_file);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let passed = stdout
        .lines()
        .filter(|line| line.starts_with("PASS "))
        .count();
    assert!(
        output.status.success() && passed == all.len(),
        "{language}: {passed} of {} passed\n{stdout}\n{}",
        all.len(),
        String::from_utf8_lossy(&output.stderr)
    );
    drop(servers);
}

#[test]
fn every_scenario_passes_in_python() {
    let mut runner = Command::new(python());
    runner.arg(repository().join("conformance/python/run.py"));
    run_in("python", runner);
}

#[test]
fn every_scenario_passes_in_typescript() {
    let mut runner = Command::new("node");
    runner.arg(typescript_client().join("dist/conformance/run.js"));
    run_in("typescript", runner);
}
