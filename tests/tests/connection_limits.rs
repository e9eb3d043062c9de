//! What one client can hold of the server's connections: a bound on connections from one
//! address (another address is unaffected, and a freed place serves again), a connection that
//! sends no request closed in bounded time, an HTTP/1.1 request head dripped slowly dropped, a
//! bound on calls and streams on one HTTP/2 connection, and headers over the size limit
//! refused while the connection goes on.

use std::net::SocketAddr;
use std::time::Duration;

use cif_e2e::{Harness, Options, eventually};
use cif_sdk::{ProviderClient, pb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

fn server_address(harness: &Harness) -> SocketAddr {
    harness
        .cifd
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap()
}

/// A raw TCP connection to the server from `from` (a loopback address).
async fn connect_from(harness: &Harness, from: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket.connect(server_address(harness)).await.unwrap()
}

/// Whether the server closed `stream` (it reads the end, or an error) within the patience.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// A channel from `from`, checked to be served.
async fn served_from(harness: &Harness, from: &str) -> Option<Channel> {
    let channel = harness.cifd.channel_from(from).await.ok()?;
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .ok()?;
    Some(channel)
}

#[tokio::test]
async fn one_address_holds_only_its_share_of_connections() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--max-connections-per-address")
            .arg("2")
            .arg("--metrics-listen")
            .arg("127.0.0.1:0"),
    )
    .await;
    let metric = |name: &str| {
        harness
            .cifd
            .scrape()
            .lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .parse::<u64>()
                    .ok()
            })
            .expect("the metric")
    };
    let first = served_from(&harness, "127.0.0.2").await.expect("served");
    let _second = served_from(&harness, "127.0.0.2").await.expect("served");
    let open = metric("cif_connections_open");
    assert!(open >= 2, "the two held from 127.0.0.2 are open: {open}");
    let refused = metric("cif_connections_refused_total");

    let mut third = connect_from(&harness, "127.0.0.2").await;
    assert!(
        closed_by_server(&mut third).await,
        "a third connection from one address is closed at once"
    );
    assert_eq!(metric("cif_connections_refused_total"), refused + 1);
    served_from(&harness, "127.0.0.3")
        .await
        .expect("another address is served");

    drop(first);
    eventually("a freed place serves a new connection", async || {
        served_from(&harness, "127.0.0.2").await
    })
    .await;
}

#[tokio::test]
async fn a_connection_that_sends_no_request_is_closed() {
    let harness =
        Harness::start_with(Options::default().arg("--dead-peer-timeout").arg("1s")).await;
    let mut silent = connect_from(&harness, "127.0.0.2").await;
    assert!(
        closed_by_server(&mut silent).await,
        "a connection that says nothing is closed after --dead-peer-timeout"
    );
}

#[tokio::test]
async fn an_http1_request_head_dripped_slowly_is_dropped() {
    let harness =
        Harness::start_with(Options::default().arg("--dead-peer-timeout").arg("1s")).await;
    let mut dripping = connect_from(&harness, "127.0.0.2").await;
    dripping
        .write_all(b"POST /cif.v1.ProviderService/ListSessions HTTP/1.1\r\n")
        .await
        .unwrap();
    // A header line every 200 ms, never the end of the head: the server drops it once the
    // head has taken longer than --dead-peer-timeout, however busy the drip keeps it.
    let started = std::time::Instant::now();
    let dropped = loop {
        let mut buffer = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), dripping.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(_)) => {} // an answer (408 or 400) before the close
            Err(_) if started.elapsed() > Duration::from_secs(30) => break false,
            Err(_) => {
                if dripping.write_all(b"x-drip: 1\r\n").await.is_err() {
                    break true;
                }
            }
        }
    };
    assert!(dropped, "a dripped request head is dropped");
}

#[tokio::test]
async fn a_connection_carries_only_so_many_calls_at_once() {
    let harness = Harness::start_with(
        Options::default()
            .arg("--max-streams-per-connection")
            .arg("2"),
    )
    .await;
    let chat = harness.provider("contoso_chat").await;
    let one_connection = harness.cifd.channel().await;
    let client = ProviderClient::new(one_connection, &chat.credential).unwrap();
    let open = || async {
        client
            .generated()
            .subscribe(pb::SubscribeRequest::default())
            .await
            .expect("a stream opens")
            .into_inner()
    };
    let first = open().await;
    let _second = open().await;

    let call = tokio::spawn({
        let client = client.clone();
        async move {
            client
                .list_sessions(pb::ListSessionsRequest::default())
                .await
        }
    });
    // Not a wait for something to happen: while both streams stay open, the call must not
    // be answered at all.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!call.is_finished(), "a third call waits for a place");
    drop(first);
    tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("answered once a stream ended")
        .unwrap()
        .expect("served");
}

#[tokio::test]
async fn headers_over_the_limit_are_refused_and_the_connection_goes_on() {
    let harness = Harness::start().await;
    let chat = harness.provider("contoso_chat").await;
    let mut request = tonic::Request::new(pb::ListSessionsRequest::default());
    request
        .metadata_mut()
        .insert("x-padding", "x".repeat(32 * 1024).parse().expect("ASCII"));
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", chat.credential).parse().unwrap(),
    );
    let mut raw =
        cif_sdk::pb::provider_service_client::ProviderServiceClient::new(harness.channel.clone());
    let refused = raw
        .list_sessions(request)
        .await
        .expect_err("32 KiB of headers");
    // HTTP/2's answer, before any gRPC code runs: 431 Request Header Fields Too Large.
    assert!(refused.message().contains("431"), "{refused:?}");
    chat.client
        .list_sessions(pb::ListSessionsRequest::default())
        .await
        .expect("the connection serves the next call");
}
