//! The Python and TypeScript clients' subscriptions resynchronise from a snapshot by themselves
//! when a provider's stream cannot go on without a gap (rule 18: admitted again on a desk,
//! `PROVIDER_READMITTED`), as the Rust SDK does (`admission.rs`). Each client runs as a real
//! program following a real cifd and prints every update it yields.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use cif_e2e::{Harness, PATIENCE, python, repository, session_for, typescript_client};
use serde_json::Value;

/// A client program that prints one JSON line per update, killed when dropped.
struct Follower {
    child: Child,
    lines: mpsc::Receiver<Value>,
}

impl Follower {
    fn start(mut program: Command, credential: &str) -> Self {
        let mut child = program
            .env("CIF_CREDENTIAL", credential)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the follower starts");
        let stdout = child.stdout.take().expect("its stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let update = serde_json::from_str(&line).expect("one JSON update per line");
                if sender.send(update).is_err() {
                    return;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits for an update that `wanted` accepts, failing with what came instead.
    fn until(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE * 3;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(update) if wanted(&update) => return update,
                Ok(update) => seen.push(update),
                Err(_) => panic!("no {what} in time; the client yielded {seen:?}"),
            }
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `program` builds the client program for an endpoint.
async fn resynchronises_when_readmitted(program: impl Fn(&str) -> Command) {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let phone = harness.provider("fabrikam_phone").await;
    let ada = harness.agent("Ada", &[&chat]).await;
    let session = chat
        .client
        .create_session(session_for(&ada, "Chat with Maria"))
        .await
        .unwrap()
        .session
        .unwrap();
    let follower = Follower::start(program(&harness.cifd.endpoint()), &chat.credential);
    follower.until("catch-up heartbeat", |update| update["kind"] == "heartbeat");

    harness.set_profile(&ada, &[&phone]).await;
    harness.set_profile(&ada, &[&chat]).await;

    let snapshot = follower.until("resynchronising snapshot", |update| {
        update["kind"] == "snapshot"
    });
    assert_eq!(snapshot["resynchronized"], true, "{snapshot}");
    assert_eq!(
        snapshot["sessions"],
        serde_json::json!([session.id]),
        "{snapshot}"
    );
}

#[tokio::test]
async fn the_python_client_resynchronises_when_its_provider_is_admitted_again() {
    resynchronises_when_readmitted(|endpoint| {
        let mut program = Command::new(python());
        program
            .arg(repository().join("conformance/python/follow.py"))
            .arg(endpoint);
        program
    })
    .await;
}

#[tokio::test]
async fn the_typescript_client_resynchronises_when_its_provider_is_admitted_again() {
    resynchronises_when_readmitted(|endpoint| {
        let mut program = Command::new("node");
        program
            .arg(typescript_client().join("dist/conformance/follow.js"))
            .arg(endpoint);
        program
    })
    .await;
}
