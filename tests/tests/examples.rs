//! The example providers (Rust, Python, TypeScript) run against a live server with the Rust
//! agent desk example: the provider offers a call or chat, the desk accepts it, looks away,
//! comes back when asked and closes the session; both finish by themselves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cif_e2e::{Harness, python, repository, sdk_example, typescript_client};

/// Runs `provider` (an example provider, given the endpoint, its credential and the agent's id
/// in its environment) against the Rust agent desk example, and checks that both finish the
/// whole flow: toast, accept, session, tab, attention, the agent closes, the provider hears it.
async fn a_call_with_the_agent_desk(mut provider: Command, toast: &str, session: &str) {
    let harness = Harness::start().await;
    let phone = harness.provider("demo_phone").await;
    let ada = harness.agent("Ada", &[&phone]).await;

    let mut desk = Command::new(sdk_example("agent_desk"))
        .env("CIF_ENDPOINT", harness.cifd.endpoint())
        .env("CIF_CREDENTIAL", &ada.credential)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let stdout = desk.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    // The desk must be online before a toast can be raised.
    let mut desk_output = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("the desk example starts");
        let caught_up = line.contains("caught up");
        desk_output.push(line);
        if caught_up {
            break;
        }
    }

    provider
        .env("CIF_ENDPOINT", harness.cifd.endpoint())
        .env("CIF_CREDENTIAL", &phone.credential)
        .env("CIF_AGENT_ID", ada.id());
    let provider = tokio::task::spawn_blocking(move || provider.output().unwrap());
    let provider = tokio::time::timeout(Duration::from_secs(90), provider)
        .await
        .unwrap()
        .unwrap();
    let provider_output = String::from_utf8_lossy(&provider.stdout);
    assert!(
        provider.status.success(),
        "{provider_output}{}",
        String::from_utf8_lossy(&provider.stderr)
    );
    for expected in [
        "toast answered: ",
        " session ",
        "customer tab",
        "asked for attention",
        "closed the",
    ] {
        assert!(
            provider_output.contains(expected),
            "provider: {expected:?} missing in\n{provider_output}"
        );
    }
    assert!(
        provider_output
            .to_lowercase()
            .contains("toast answered: accepted"),
        "{provider_output}"
    );

    let status = tokio::task::spawn_blocking(move || {
        let status = desk.wait().unwrap();
        // Every line the desk printed, up to the end of its output: the reader may still be
        // passing the last ones on when the process has exited.
        reader.join().unwrap();
        status
    })
    .await
    .unwrap();
    desk_output.extend(lines.try_iter());
    let desk_output = desk_output.join("\n");
    assert!(status.success(), "{desk_output}");
    for expected in [
        format!("toast: {toast}"),
        "accepted the toast".into(),
        "switched to home".into(),
        format!("switched to {session} and closed it"),
        "done".into(),
    ] {
        assert!(
            desk_output.contains(&expected),
            "desk: {expected:?} missing in\n{desk_output}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_telephony_provider_and_agent_desk_examples_finish_a_call_together() {
    let provider = Command::new(sdk_example("telephony_provider"));
    a_call_with_the_agent_desk(provider, "Incoming call", "Call from +1 555 0100").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_chat_provider_example_finishes_a_chat_with_the_agent_desk() {
    let mut provider = Command::new(python());
    provider.arg(repository().join("clients/python/examples/chat_provider.py"));
    a_call_with_the_agent_desk(provider, "New chat", "Chat with Maria").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_telephony_provider_example_finishes_a_call_with_the_agent_desk() {
    let mut provider = Command::new("node");
    provider.arg(typescript_client().join("dist/examples/telephony_provider.js"));
    a_call_with_the_agent_desk(provider, "Incoming call", "Call from +1 555 0100").await;
}
