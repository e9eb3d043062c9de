//! Operators use grpcurl (a real grpcurl 1.8.6 binary, which asks for reflection v1alpha):
//! listing services, checking health, and setting up a provider, an agent and a session with
//! nothing but JSON.

use std::process::Command;

use cif_e2e::{Harness, grpcurl_binary};
use serde_json::{Value, json};
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

struct Grpcurl {
    address: String,
}

struct Output {
    success: bool,
    stdout: String,
    stderr: String,
}

impl Grpcurl {
    /// Runs `grpcurl -plaintext [-H auth] <flags> <address> <rest>`.
    fn run(&self, token: Option<&str>, flags: &[&str], rest: &[&str]) -> Output {
        let mut command = Command::new(grpcurl_binary());
        command.arg("-plaintext");
        if let Some(token) = token {
            command.args(["-H", &format!("authorization: Bearer {token}")]);
        }
        let output = command
            .args(flags)
            .arg(&self.address)
            .args(rest)
            .output()
            .expect("grpcurl runs");
        Output {
            success: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Calls `method` with a JSON body and returns the JSON answer.
    fn call(&self, token: &str, method: &str, body: Value) -> Value {
        let output = self.run(Some(token), &["-d", &body.to_string()], &[method]);
        assert!(output.success, "{method} failed: {}", output.stderr);
        serde_json::from_str(&output.stdout).expect("JSON")
    }
}

#[tokio::test]
async fn an_operator_runs_the_service_with_grpcurl() {
    let harness = Harness::start().await;
    let grpcurl = Grpcurl {
        address: harness.cifd.address.to_string(),
    };
    let operator = harness.cifd.operator_token.clone();

    let listed = grpcurl.run(None, &[], &["list"]);
    assert!(listed.success, "{}", listed.stderr);
    for service in [
        "cif.v1.AdminService",
        "cif.v1.AgentService",
        "cif.v1.ProviderService",
        "grpc.health.v1.Health",
    ] {
        assert!(
            listed.stdout.lines().any(|line| line == service),
            "{service} missing from {}",
            listed.stdout
        );
    }
    let described = grpcurl.run(None, &[], &["describe", "cif.v1.ProviderService"]);
    assert!(
        described.stdout.contains("rpc CreateSession"),
        "{}",
        described.stdout
    );

    let health = grpcurl.run(None, &[], &["grpc.health.v1.Health/Check"]);
    assert!(health.success, "{}", health.stderr);
    assert_eq!(
        serde_json::from_str::<Value>(&health.stdout).unwrap()["status"],
        "SERVING"
    );
    let service_health = grpcurl.run(
        None,
        &["-d", r#"{"service":"cif.v1.ProviderService"}"#],
        &["grpc.health.v1.Health/Check"],
    );
    assert!(
        service_health.stdout.contains("SERVING"),
        "{}",
        service_health.stdout
    );

    let created = grpcurl.call(
        &operator,
        "cif.v1.AdminService/CreateProvider",
        json!({"provider": {
            "unique_name": "contoso_phone",
            "display_name": "Contoso Phone",
            "label": "Phone",
            "channel_url": "https://phone.contoso.com/widget",
            "enable_outbound": true
        }}),
    );
    let provider_id = created["provider"]["id"].as_str().unwrap().to_owned();
    let provider_credential = created["credential"].as_str().unwrap().to_owned();
    assert_eq!(created["provider"]["state"], "PROVIDER_STATE_ACTIVE");

    let agent = grpcurl.call(
        &operator,
        "cif.v1.AdminService/CreateAgent",
        json!({"agent": {"display_name": "Ada", "provider_ids": [provider_id]}}),
    );
    let agent_id = agent["agent"]["id"].as_str().unwrap().to_owned();
    assert_eq!(agent["agent"]["limits"]["maxOpenSessions"], 10);

    let session = grpcurl.call(
        &provider_credential,
        "cif.v1.ProviderService/CreateSession",
        json!({"agent_id": agent_id, "title": "Call from +1 555 0100", "context": {"customerName": "Maria"}}),
    );
    assert_eq!(
        session["session"]["owner"]["providerUniqueName"],
        "contoso_phone"
    );
    assert_eq!(session["session"]["focused"], true);

    let desk = grpcurl.call(
        &operator,
        "cif.v1.AdminService/GetDesk",
        json!({"agent_id": agent_id}),
    );
    assert_eq!(desk["desk"]["focusedSessionId"], session["session"]["id"]);

    // A refusal shows its status and reason to the operator.
    let refused = grpcurl.run(
        Some(&provider_credential),
        &[
            "-d",
            r#"{"session_id":"0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11"}"#,
        ],
        &["cif.v1.ProviderService/GetSession"],
    );
    assert!(!refused.success);
    assert!(
        refused.stderr.contains("NotFound") && refused.stderr.contains("SESSION_NOT_FOUND"),
        "{}",
        refused.stderr
    );
    let anonymous = grpcurl.run(None, &[], &["cif.v1.AdminService/GetServerInfo"]);
    assert!(
        anonymous.stderr.contains("Unauthenticated")
            && anonymous.stderr.contains("CREDENTIAL_MISSING")
    );
}

/// grpcurl 1.8 asks for reflection v1alpha; newer tools ask for v1, which answers too and
/// needs no credential either.
#[tokio::test]
async fn reflection_v1_lists_the_services_without_a_credential() {
    let harness = Harness::start().await;
    let mut client = ServerReflectionClient::new(harness.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .expect("reflection v1 answers")
        .into_inner();
    let response = responses.message().await.unwrap().expect("one response");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<_> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    for service in [
        "cif.v1.AdminService",
        "cif.v1.AgentService",
        "cif.v1.ProviderService",
    ] {
        assert!(
            names.iter().any(|name| name == service),
            "{service} missing from {names:?}"
        );
    }
}
