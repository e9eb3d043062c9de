//! cifd's Prometheus endpoint: calls by method, code and reason; commits; streams.

use cif_e2e::{Harness, Options, caught_up, expect_refused, session_for};
use cif_sdk::pb;
use tonic::Code;

/// The value of the sample whose line starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test]
async fn calls_commits_and_streams_are_counted() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--metrics-listen")
            .arg("127.0.0.1:0"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let ada = harness.agent("Ada", &[]).await;
    let _stream = caught_up(chat.client.subscribe(vec![], false)).await;
    for title in ["one", "two"] {
        chat.client
            .create_session(session_for(&ada, title))
            .await
            .unwrap();
    }
    expect_refused(
        chat.client
            .get_session(pb::GetSessionRequest {
                session_id: "0199f0c8-51c4-7bb0-9d8e-3c3e2c9a1b11".into(),
            })
            .await,
        Code::NotFound,
        Some("SESSION_NOT_FOUND"),
    );

    // Anyone may call any path: it is counted, but under a bounded label.
    let mut raw = tonic::client::Grpc::new(harness.channel.clone());
    raw.ready().await.unwrap();
    let unknown = raw
        .unary::<_, pb::GetServerInfoResponse, _>(
            tonic::Request::new(pb::GetServerInfoRequest {}),
            tonic::codegen::http::uri::PathAndQuery::from_static("/cif.v1.NoSuchService/Anything"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::Unimplemented);

    let text = harness.cifd.scrape();
    assert_eq!(
        sample(
            &text,
            r#"cif_calls_total{method="/cif.v1.ProviderService/CreateSession",code="OK",reason=""}"#
        ),
        2.0
    );
    assert_eq!(
        sample(
            &text,
            r#"cif_calls_total{method="/cif.v1.ProviderService/GetSession",code="NOT_FOUND",reason="SESSION_NOT_FOUND"}"#
        ),
        1.0
    );
    assert!(
        sample(
            &text,
            r#"cif_call_seconds_count{method="/cif.v1.ProviderService/CreateSession"}"#
        ) >= 2.0
    );
    assert_eq!(
        sample(
            &text,
            r#"cif_calls_total{method="unknown",code="UNIMPLEMENTED",reason=""}"#
        ),
        1.0
    );
    assert!(!text.contains("NoSuchService"), "{text}");
    assert_eq!(sample(&text, "cif_open_streams"), 1.0);
    // Providers, agents and sessions were committed: at least one transaction each.
    assert!(sample(&text, "cif_commit_seconds_count") >= 4.0, "{text}");
    assert!(sample(&text, "cif_commit_commands_sum") >= 4.0);
    assert!(sample(&text, "cif_log_sequence") >= 2.0);
    assert_eq!(sample(&text, "cif_streams_lagged_total"), 0.0);
}
