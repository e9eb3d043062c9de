//! The front door on cifd's one port: native gRPC over HTTP/2 and grpc-web (tonic-web) for
//! browsers over HTTP/1.1 or HTTP/2, with CORS (tower-http) for the configured origins only.

use std::time::Duration;

use tonic::codegen::http::{HeaderName, HeaderValue, Method};
use tonic::service::Routes;
use tonic_web::GrpcWebLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::auth::AuthLayer;

/// What a browser may send and read across origins: the grpc-web headers (as tonic-web's
/// own CORS defaults had them), the credential, and the status trailers a client needs to
/// read ErrorInfo.
const REQUEST_HEADERS: [&str; 6] = [
    "authorization",
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "connect-protocol-version",
];
const EXPOSED_HEADERS: [&str; 3] = ["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// The whole HTTP service: every gRPC service over native gRPC and grpc-web, each call
/// authenticated first.
///
/// The order matters: CORS answers preflights itself (they carry no credential), and
/// tonic-web translates grpc-web around authentication, so a refused browser call reads its
/// status and ErrorInfo like any other. Pages are routed before tonic-web, which answers 400
/// to any HTTP/1.1 request that is not grpc-web.
pub fn front_door(grpc: Routes, auth: AuthLayer, cors_origins: &[String]) -> axum::Router {
    let grpc = tower::ServiceBuilder::new()
        .layer(GrpcWebLayer::new())
        .layer(auth)
        .service(grpc.prepare().into_axum_router());
    axum::Router::new()
        .fallback_service(grpc)
        .layer(cors(cors_origins))
}

/// CORS for the given origins, none by default: cifd's own pages are same-origin and need
/// none, and widgets never call cifd themselves.
fn cors(origins: &[String]) -> CorsLayer {
    let origins = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect::<Vec<_>>();
    let names = |names: &[&'static str]| {
        names
            .iter()
            .map(|name| HeaderName::from_static(name))
            .collect::<Vec<_>>()
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST])
        .allow_headers(names(&REQUEST_HEADERS))
        .expose_headers(names(&EXPOSED_HEADERS))
        .max_age(Duration::from_secs(24 * 60 * 60))
}
