//! The Python and TypeScript clients' subscriptions resynchronise from a snapshot by themselves
//! when a provider's stream cannot go on without a gap (rule 18: admitted again on a desk,
//! `PROVIDER_READMITTED`), as the Rust SDK does (`admission.rs`). Each client runs as a real
//! program following a real cifd and prints every update it yields.

use std::process::Command;

use cif_e2e::{Harness, JsonLines, python, repository, session_for, typescript_client};

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
    let mut program = program(&harness.cifd.endpoint());
    program.env("CIF_CREDENTIAL", &chat.credential);
    let follower = JsonLines::start(program);
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
