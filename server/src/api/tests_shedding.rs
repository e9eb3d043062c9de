//! Shedding load, through the real authentication layer in front of a service that holds
//! its calls until told, so exactly which calls are in flight is known.

use std::convert::Infallible;

use cif_sdk::AdminClient;
use tokio::sync::{mpsc, watch};
use tonic::Code;
use tonic::body::Body;
use tonic::codegen::http;
use tonic_types::StatusExt;
use tower::{Layer, ServiceExt};

use super::tests::{OPERATOR, create_chat, serve_state};
use super::{AuthLayer, CommitMetrics, Metrics};
use crate::app::{InFlight, Limits};

#[tokio::test]
async fn calls_past_the_bound_in_flight_are_shed_with_when_to_retry_and_streams_are_not_counted() {
    let (channel, state) = serve_state().await;
    let credential = create_chat(&AdminClient::new(channel, OPERATOR).unwrap())
        .await
        .credential;

    // Every call that reaches the service says so, then waits until released.
    let (entered, mut entering) = mpsc::unbounded_channel::<String>();
    let (release, released) = watch::channel(false);
    let held = tower::service_fn(move |request: http::Request<Body>| {
        let (entered, mut released) = (entered.clone(), released.clone());
        async move {
            entered.send(request.uri().path().to_owned()).unwrap();
            released.wait_for(|released| *released).await.unwrap();
            Ok::<_, Infallible>(http::Response::new(Body::empty()))
        }
    });
    let limits = Limits {
        in_flight: Some(InFlight::new(1)),
        ..Limits::default()
    };
    let metrics = Metrics::new(
        state.clone(),
        CommitMetrics::default(),
        crate::transport::ConnectionMetrics::default(),
    );
    let service = AuthLayer::new(state, metrics, limits, Default::default()).layer(held);
    let call = |method: &str| {
        let request = http::Request::builder()
            .uri(format!("/cif.v1.ProviderService/{method}"))
            .header("content-type", "application/grpc")
            .header("authorization", format!("Bearer {credential}"))
            .body(Body::empty())
            .unwrap();
        tokio::spawn(service.clone().oneshot(request))
    };

    let first = call("GetSession");
    assert_eq!(
        entering.recv().await.unwrap(),
        "/cif.v1.ProviderService/GetSession"
    );

    let shed = call("ListSessions").await.unwrap().unwrap();
    let status = tonic::Status::from_header_map(shed.headers()).expect("a status in the headers");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(
        status.get_details_error_info().unwrap().reason,
        "SERVER_OVERLOADED"
    );
    let retry = status.get_details_retry_info().expect("RetryInfo");
    assert!(retry.retry_delay.is_some_and(|delay| !delay.is_zero()));
    assert!(
        status.get_details_quota_failure().is_none(),
        "the server's load is nobody's quota"
    );
    assert!(
        status.message().contains("retry in"),
        "{}",
        status.message()
    );

    // A stream and a toast waiting for the agent are not work in flight.
    let stream = call("Subscribe");
    assert_eq!(
        entering.recv().await.unwrap(),
        "/cif.v1.ProviderService/Subscribe"
    );
    let toast = call("NotifyEvent");
    assert_eq!(
        entering.recv().await.unwrap(),
        "/cif.v1.ProviderService/NotifyEvent"
    );

    release.send(true).unwrap();
    for answered in [first, stream, toast] {
        let response = answered.await.unwrap().unwrap();
        assert!(tonic::Status::from_header_map(response.headers()).is_none());
    }
    // Its place came free: the next call is served.
    let next = call("ListSessions");
    assert_eq!(
        entering.recv().await.unwrap(),
        "/cif.v1.ProviderService/ListSessions"
    );
    let response = next.await.unwrap().unwrap();
    assert!(tonic::Status::from_header_map(response.headers()).is_none());
}
