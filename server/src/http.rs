//! Serving accepted connections over HTTP/2 and HTTP/1.1 with hyper-util, for what tonic's
//! server does not let us set: how long an HTTP/1.1 request head may take to arrive (a client
//! dripping its headers holds a connection only that long). Everything else is as tonic
//! serves: HTTP/2 keepalive, a bound on streams and on header bytes per connection, and a
//! graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::{Stream, StreamExt};
use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::server::Connected;
use tower::{Service, ServiceExt as _};

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// How long an HTTP/1.1 request head may take to arrive, from its first byte or, on a
    /// kept-alive connection, from the previous answer.
    pub header_read_timeout: Duration,
    /// Calls and streams open at once on one HTTP/2 connection.
    pub max_streams_per_connection: u32,
}

/// The most header bytes a request may carry on HTTP/2; more is refused with HTTP 431 before
/// any gRPC code runs. Credentials and metadata need a few hundred.
pub const MAX_HEADER_BYTES: u32 = 16 * 1024;

/// Pings an idle HTTP/2 connection this often: connections behind NATs and load balancers die
/// silently without it.
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(30);

/// Serves every connection `incoming` yields with `service` (each request carries its
/// connection's [`Connected::ConnectInfo`] as an extension) until `shutdown` completes; then
/// stops accepting, asks every connection to finish and returns once all have.
pub async fn serve<I, C, S>(
    incoming: I,
    service: S,
    settings: HttpSettings,
    shutdown: impl Future<Output = ()>,
) where
    I: Stream<Item = std::io::Result<C>>,
    C: AsyncRead + AsyncWrite + Connected + Unpin + Send + 'static,
    S: Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEPALIVE_EVERY)
        .max_concurrent_streams(settings.max_streams_per_connection)
        .max_header_list_size(MAX_HEADER_BYTES);
    let graceful = GracefulShutdown::new();
    {
        tokio::pin!(incoming);
        tokio::pin!(shutdown);
        loop {
            let connection = tokio::select! {
                () = &mut shutdown => break,
                next = incoming.next() => match next {
                    Some(Ok(connection)) => connection,
                    Some(Err(error)) => {
                        tracing::debug!(%error, "a connection could not be accepted");
                        continue;
                    }
                    None => break,
                },
            };
            let peer = connection.connect_info();
            let service = service
                .clone()
                .map_request(move |request: http::Request<_>| {
                    let mut request = request.map(Body::new);
                    request.extensions_mut().insert(peer.clone());
                    request
                });
            let (builder, watcher) = (builder.clone(), graceful.watcher());
            tokio::spawn(async move {
                let serving = builder
                    .serve_connection(TokioIo::new(connection), TowerToHyperService::new(service));
                if let Err(error) = watcher.watch(serving).await {
                    tracing::debug!(%error, "a connection ended with an error");
                }
            });
        }
        // `incoming` is dropped here: the listening socket closes, so new clients are
        // refused at once rather than left waiting.
    }
    graceful.shutdown().await;
}
