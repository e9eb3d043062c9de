//! The SDK's two desk examples run against a live server, together: the telephony provider
//! offers a call, the agent desk accepts it, looks away, comes back when asked and closes the
//! session; both finish by themselves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cif_e2e::{Harness, sdk_example};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_telephony_provider_and_agent_desk_examples_finish_a_call_together() {
    let harness = Harness::start().await;
    let phone = harness.provider("demo_phone").await;
    let ada = harness.agent("Ada", &[&phone]).await;
    let (provider_example, desk_example) =
        (sdk_example("telephony_provider"), sdk_example("agent_desk"));

    let mut desk = Command::new(desk_example)
        .env("CIF_ENDPOINT", harness.cifd.endpoint())
        .env("CIF_CREDENTIAL", &ada.credential)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel();
    let stdout = desk.stdout.take().unwrap();
    std::thread::spawn(move || {
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

    let provider = tokio::task::spawn_blocking(move || {
        Command::new(provider_example)
            .env("CIF_ENDPOINT", harness.cifd.endpoint())
            .env("CIF_CREDENTIAL", &phone.credential)
            .env("CIF_AGENT_ID", ada.id())
            .output()
            .unwrap()
    });
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
        "toast answered: Accepted",
        "call session",
        "customer tab",
        "asked for attention",
        "closed the call session",
    ] {
        assert!(
            provider_output.contains(expected),
            "provider: {expected:?} missing in\n{provider_output}"
        );
    }

    let status = tokio::task::spawn_blocking(move || desk.wait().unwrap())
        .await
        .unwrap();
    desk_output.extend(lines.try_iter());
    let desk_output = desk_output.join("\n");
    assert!(status.success(), "{desk_output}");
    for expected in [
        "toast: Incoming call",
        "accepted the toast",
        "switched to home",
        "switched to Call from +1 555 0100 and closed it",
        "done",
    ] {
        assert!(
            desk_output.contains(expected),
            "desk: {expected:?} missing in\n{desk_output}"
        );
    }
}
