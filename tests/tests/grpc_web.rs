//! Browsers reach cifd over grpc-web on its one port, beside native gRPC: `buf curl
//! --protocol grpcweb` (with the committed API image as its schema: reflection is a
//! bidirectional stream, which grpc-web cannot carry) calls, reads ErrorInfo, and follows a
//! stream whose every event arrives when it happens; CORS opens to configured origins only.

use std::io::{Read, Write};
use std::time::Duration;

use cif_e2e::buf_curl::{BufCurl, error_reason};
use cif_e2e::{Harness, Options, session_for};
use serde_json::json;

#[tokio::test]
async fn buf_curl_calls_cifd_over_grpc_web_on_http1_and_http2() {
    let harness = Harness::start().await;
    let provider = harness.provider("web_chat").await;
    let agent = harness.agent("Ada", &[&provider]).await;
    for http2 in [false, true] {
        let curl = BufCurl {
            address: harness.cifd.address.to_string(),
            http2,
            netns: None,
        };
        let info = curl
            .call(
                &harness.cifd.operator_token,
                "cif.v1.AdminService/GetServerInfo",
                json!({}),
            )
            .expect("GetServerInfo answers");
        assert_eq!(info["apiVersion"], "cif.v1", "http2={http2}: {info}");

        let desk = curl
            .call(&agent.credential, "cif.v1.AgentService/GetDesk", json!({}))
            .expect("GetDesk answers");
        assert_eq!(desk["desk"]["agentId"], agent.id(), "{desk}");

        // A refusal reads as it does over native gRPC: the status and the ErrorInfo reason.
        let refused = curl
            .call(
                &provider.credential,
                "cif.v1.AgentService/GetDesk",
                json!({}),
            )
            .expect_err("a provider on AgentService is refused");
        assert_eq!(refused["code"], "permission_denied", "{refused}");
        assert_eq!(error_reason(&refused), "ROLE_NOT_ALLOWED");
        let refused = curl
            .call(
                "cifa_not-a-credential",
                "cif.v1.AgentService/GetDesk",
                json!({}),
            )
            .expect_err("an unknown credential is refused");
        assert_eq!(refused["code"], "unauthenticated", "{refused}");
        assert_eq!(error_reason(&refused), "CREDENTIAL_INVALID");
    }
}

#[tokio::test]
async fn a_grpc_web_stream_delivers_each_event_when_it_happens() {
    // Heartbeats far apart, so nothing but the event itself can push it to the client.
    let harness =
        Harness::start_with(Options::default().arg("--heartbeat-interval").arg("10m")).await;
    let provider = harness.provider("web_chat").await;
    let agent = harness.agent("Ada", &[&provider]).await;
    let curl = BufCurl {
        address: harness.cifd.address.to_string(),
        http2: false,
        netns: None,
    };
    let desk = curl.follow(
        &agent.credential,
        "cif.v1.AgentService/Subscribe",
        json!({"snapshot": true}),
    );
    let bound = Duration::from_secs(60);
    desk.until("the snapshot's desk", bound, |message| {
        message["message"]["snapshotItem"]["desk"]["agentId"] == agent.id()
    });
    desk.until("caught up", bound, |message| {
        message["message"]["heartbeat"].is_object()
    });
    for title in ["first", "second", "third"] {
        let created = provider
            .client
            .create_session(session_for(&agent, title))
            .await
            .expect("the provider creates a session");
        let session_id = created.session.expect("a session").id;
        // Nothing else happens until this event has arrived on its own.
        let event = desk.until(
            &format!("the {title} session's creation"),
            bound,
            |message| message["message"]["event"]["sessionCreated"].is_object(),
        );
        assert_eq!(
            event["message"]["event"]["sessionCreated"]["session"]["id"], session_id,
            "{event}"
        );
    }
}

/// Sends one HTTP/1.1 request and returns the response's head (status line and headers),
/// lower-cased.
fn http1_head(address: &str, request: &str) -> String {
    let mut connection = std::net::TcpStream::connect(address).expect("connects");
    connection
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a timeout");
    connection.write_all(request.as_bytes()).expect("sends");
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    while !response.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = connection.read(&mut buffer).expect("reads");
        assert!(read > 0, "the connection closed before the headers");
        response.extend_from_slice(&buffer[..read]);
    }
    let end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a head");
    String::from_utf8_lossy(&response[..end]).to_ascii_lowercase()
}

fn preflight(address: &str, origin: &str) -> String {
    http1_head(
        address,
        &format!(
            "OPTIONS /cif.v1.AgentService/GetDesk HTTP/1.1\r\nHost: {address}\r\nOrigin: {origin}\r\n\
             Access-Control-Request-Method: POST\r\n\
             Access-Control-Request-Headers: authorization,content-type,x-grpc-web\r\n\
             Connection: close\r\n\r\n"
        ),
    )
}

#[tokio::test]
async fn cors_opens_to_the_configured_origins_only() {
    let allowed = "http://desk.test:8080";
    let harness = Harness::start_with(Options::default().arg("--cors-origins").arg(allowed)).await;
    let address = harness.cifd.address.to_string();

    // The preflight carries no credential: it is answered before authentication.
    let head = preflight(&address, allowed);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("access-control-allow-origin: {allowed}")),
        "{head}"
    );
    assert!(
        head.contains("access-control-allow-headers: authorization"),
        "{head}"
    );
    let head = preflight(&address, "http://elsewhere.test");
    assert!(!head.contains("access-control-allow-origin"), "{head}");

    // A grpc-web call from the allowed origin may read the status trailers: a browser client
    // reads ErrorInfo from grpc-status-details-bin.
    let call = format!(
        "POST /cif.v1.AgentService/GetDesk HTTP/1.1\r\nHost: {address}\r\nOrigin: {allowed}\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: 5\r\n\
         Connection: close\r\n\r\n\0\0\0\0\0"
    );
    let head = http1_head(&address, &call);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("access-control-allow-origin: {allowed}")),
        "{head}"
    );
    let exposed = head
        .lines()
        .find_map(|line| line.strip_prefix("access-control-expose-headers: "))
        .unwrap_or_else(|| panic!("exposed headers: {head}"));
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(exposed.split(',').any(|item| item.trim() == name), "{head}");
    }
    // Unauthenticated: the status travels in the headers of a trailers-only answer.
    assert!(head.contains("grpc-status: 16"), "{head}");
}

#[tokio::test]
async fn widgets_load_cifs_library_from_the_desk_by_its_path_in_any_case() {
    let harness = Harness::start().await;
    let address = harness.cifd.address.to_string();
    let get = |path: &str| {
        http1_head(
            &address,
            &format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"),
        )
    };
    for path in [
        "/webresources/Widget/msdyn_ciLibrary.js",
        "/WebResources/widget/msdyn_cilibrary.js",
        "/webresources/Widget/msdyn_ciLibrary.js?v=2",
    ] {
        let head = get(path);
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(head.contains("content-type: text/javascript"), "{head}");
        // Widgets on other origins load it with a script tag.
        assert!(
            head.contains("cross-origin-resource-policy: cross-origin"),
            "{head}"
        );
    }
    assert!(!get("/webresources/Widget/other.js").starts_with("http/1.1 200"));
}
