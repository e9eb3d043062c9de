//! The front door on cifd's one port: native gRPC over HTTP/2 straight to the services,
//! and for browsers grpc-web (tonic-web) over HTTP/1.1 or HTTP/2 with CORS (tower-http) for
//! the configured origins only, the agent desk's page and CIF's widget library, built into
//! the binary.

use std::time::Duration;

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tonic::body::Body;
use tonic::codegen::http::{self, HeaderName, HeaderValue, Method, header};
use tonic_web::GrpcWebLayer;
use tower::util::Either;
use tower::util::future::EitherResponseFuture;
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer};

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

/// The authenticated gRPC services, as the front door calls them.
pub trait Services:
    Service<
        http::Request<Body>,
        Response = http::Response<Body>,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Services for S where
    S: Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// The front door, as a layer around the authenticated services (`Server::layer`): native
/// gRPC goes straight to them, anything else through the browser's stack.
#[derive(Clone)]
pub struct FrontDoorLayer {
    cors_origins: Vec<String>,
}

impl FrontDoorLayer {
    pub fn new(cors_origins: &[String]) -> Self {
        Self {
            cors_origins: cors_origins.to_vec(),
        }
    }
}

impl<S> Layer<S> for FrontDoorLayer
where
    S: Services,
{
    type Service = FrontDoor<S>;

    fn layer(&self, services: S) -> FrontDoor<S> {
        FrontDoor {
            browser: tower::util::MapResponseLayer::new(tonic_body as ToTonicBody)
                .layer(browser(services.clone(), &self.cors_origins)),
            native: services,
        }
    }
}

/// Native gRPC (`application/grpc`, not grpc-web) to `native`; pages, preflights and
/// grpc-web to `browser`. The browser's layers (a router, CORS headers, tonic-web's body
/// wrapping) cost a native call microseconds it has no use for.
#[derive(Clone)]
pub struct FrontDoor<S> {
    native: S,
    browser: Browser,
}

type ToTonicBody = fn(http::Response<axum::body::Body>) -> http::Response<Body>;
type Browser = tower::util::MapResponse<axum::Router, ToTonicBody>;

fn tonic_body(response: http::Response<axum::body::Body>) -> http::Response<Body> {
    response.map(Body::new)
}

/// Whether a request is native gRPC: `application/grpc`, `application/grpc+proto` and the
/// like, but not grpc-web's `application/grpc-web...`.
fn is_native_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("application/grpc"))
        .is_some_and(|rest| !rest.starts_with("-web"))
}

impl<S> Service<http::Request<Body>> for FrontDoor<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible> + Clone,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future =
        EitherResponseFuture<S::Future, <Browser as Service<http::Request<Body>>>::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.native.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if is_native_grpc(&request) {
            // The clone that was made ready is the one that must serve this request.
            let clone = self.native.clone();
            let ready = std::mem::replace(&mut self.native, clone);
            Either::<S, Browser>::Left(ready).call(request)
        } else {
            Either::<S, Browser>::Right(self.browser.clone()).call(request)
        }
    }
}

/// What browsers get: the desk's pages and CIF's library, and every gRPC service over
/// grpc-web, with CORS for the configured origins.
///
/// The order matters: CORS answers preflights itself (they carry no credential), and
/// tonic-web translates grpc-web around authentication, so a refused browser call reads its
/// status and ErrorInfo like any other. Pages are routed before tonic-web, which answers 400
/// to any HTTP/1.1 request that is not grpc-web.
fn browser<S>(services: S, cors_origins: &[String]) -> axum::Router
where
    S: Services,
{
    let grpc_web = GrpcWebLayer::new().layer(services);
    let routed = tower::ServiceBuilder::new()
        .map_request(library_path_in_any_case)
        .service(pages().fallback_service(grpc_web));
    axum::Router::new()
        .fallback_service(routed)
        .layer(cors(cors_origins))
}

/// Where CIF 2.0 widgets load their library from, on the desk's origin.
const LIBRARY_PATH: &str = "/webresources/Widget/msdyn_ciLibrary.js";

/// Widgets write the library's path in varying case (`msdyn_cilibrary.js`): any case finds it.
fn library_path_in_any_case<B>(mut request: http::Request<B>) -> http::Request<B> {
    let path = request.uri().path();
    if path != LIBRARY_PATH && path.eq_ignore_ascii_case(LIBRARY_PATH) {
        let mut parts = request.uri().clone().into_parts();
        let query = parts
            .path_and_query
            .as_ref()
            .and_then(|pq| pq.query())
            .map_or(String::new(), |query| format!("?{query}"));
        parts.path_and_query = format!("{LIBRARY_PATH}{query}").parse().ok();
        if let Ok(uri) = http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The desk page's files (web/, bundled by `npm run build` there; committed, so building
/// cifd needs no npm).
const DESK_HTML: &[u8] = include_bytes!("../../assets/desk/index.html");
const DESK_JS: &[u8] = include_bytes!("../../assets/desk/desk.js");
const DESK_CSS: &[u8] = include_bytes!("../../assets/desk/desk.css");
const CIF_LIBRARY: &[u8] = include_bytes!("../../assets/desk/msdyn_ciLibrary.js");

/// What the desk page may do: its own scripts, styles and calls; frames for widgets and
/// website tabs on other origins (the page itself refuses its own origin there, where a frame
/// could read the agent's credential); and no one may frame it.
const DESK_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; frame-src http: https:; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

fn pages() -> axum::Router {
    axum::Router::new()
        .route("/", get(|| async { Redirect::to("/desk/") }))
        .route("/desk", get(|| async { Redirect::to("/desk/") }))
        .route(
            "/desk/",
            get(|| async { page(DESK_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/desk/desk.js",
            get(|| async { page(DESK_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/desk/desk.css",
            get(|| async { page(DESK_CSS, "text/css; charset=utf-8") }),
        )
        .route(LIBRARY_PATH, get(|| async { library() }))
}

/// CIF's widget library: a script that pages on other origins (the widgets) load, so it may
/// be embedded cross-origin; it holds nothing secret.
fn library() -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CACHE_CONTROL, "no-cache"),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "cross-origin",
        ),
    ];
    (headers, CIF_LIBRARY).into_response()
}

fn page(body: &'static [u8], content_type: &'static str) -> Response {
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, DESK_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        // A new cifd may serve a new page: browsers check before using what they kept.
        (header::CACHE_CONTROL, "no-cache"),
    ];
    (headers, body).into_response()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_native_grpc_skips_the_browsers_stack() {
        let with = |content_type: Option<&str>| {
            let mut request = http::Request::new(());
            if let Some(value) = content_type {
                request
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
            }
            is_native_grpc(&request)
        };
        assert!(with(Some("application/grpc")));
        assert!(with(Some("application/grpc+proto")));
        assert!(!with(Some("application/grpc-web")));
        assert!(!with(Some("application/grpc-web+proto")));
        assert!(!with(Some("application/grpc-web-text")));
        assert!(!with(Some("text/html")));
        assert!(!with(None));
    }
}
