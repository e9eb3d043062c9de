//! Replicas on one store: a follower sends every call that changes the state to the writer,
//! as it came (the caller's own credential included: the writer authenticates it, so
//! replicas need no secret of their own), and answers once it has applied what the answer
//! reflects, so a caller reads its own writes on the replica it uses. Every answer names, in
//! the header [`STORED_HEADER`], the store's count of commits it reflects; a caller that
//! moves to another replica asks for at least that many ([`MIN_STORED_HEADER`], the SDKs do
//! it), and a follower that has not applied them yet waits before it answers.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::{Channel, Endpoint};
use tower::{Layer, Service, ServiceExt as _};

use super::method::{Call, Method};
use super::status::to_status;
use crate::app::{Durable, SharedCore, read};
use crate::domain::{DomainError, Reason};
use crate::tls::PeerClient;

/// The response header in which the writer names the store's count of commits its answer
/// reflects.
pub const STORED_HEADER: &str = "cif-stored";

/// How long a change waits for a writer to be known before it is refused.
const WRITER_PATIENCE: Duration = Duration::from_secs(3);

/// The request header in which a caller asks for a state that reflects at least this many of
/// the store's commits.
pub const MIN_STORED_HEADER: &str = "cif-min-stored";

/// How long a follower waits to apply the commit an answer reflects before answering anyway
/// (it falls that far behind only when its store is failing, which stops it, or it cannot
/// keep up, which its health reports).
const CATCH_UP: Duration = Duration::from_secs(10);

/// Waits until this replica reflects at least `stored` of the store's commits, for at most
/// [`CATCH_UP`].
async fn catch_up(durable: &mut tokio::sync::watch::Receiver<Durable>, stored: u64) {
    let applied = tokio::time::timeout(
        CATCH_UP,
        durable.wait_for(|durable| durable.stored >= stored),
    )
    .await;
    if !matches!(applied, Ok(Ok(_))) {
        tracing::warn!(
            stored,
            "answering before reflecting the commit the caller has seen"
        );
    }
}

/// The count of commits a header names.
fn stored_in(headers: &http::HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
}

/// Wraps the authenticated services: on a follower, changes go to the writer; on the writer,
/// answers to changes name the commit they reflect.
#[derive(Clone)]
pub struct ForwardLayer {
    state: SharedCore,
    peer_tls: Option<PeerClient>,
}

impl ForwardLayer {
    /// `peer_tls`: how to reach a writer that serves TLS (the CAs of the replicas'
    /// certificates, and this replica's own certificate to present).
    pub fn new(state: SharedCore, peer_tls: Option<PeerClient>) -> Self {
        Self { state, peer_tls }
    }
}

impl<S> Layer<S> for ForwardLayer {
    type Service = Forward<S>;

    fn layer(&self, inner: S) -> Forward<S> {
        Forward {
            inner,
            state: self.state.clone(),
            durable: read(&self.state).durability(),
            writer: Arc::default(),
            peer_tls: self.peer_tls.clone(),
        }
    }
}

/// The service [`ForwardLayer`] makes.
#[derive(Clone)]
pub struct Forward<S> {
    inner: S,
    state: SharedCore,
    durable: tokio::sync::watch::Receiver<Durable>,
    /// The connection to the writer, made when first needed and again when the writer moves
    /// or this replica's certificate renews (its generation).
    writer: Arc<Mutex<Option<(String, u64, Channel)>>>,
    peer_tls: Option<PeerClient>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> Service<http::Request<Body>> for Forward<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was made ready is the one that must serve this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let call = Method::of(request.uri().path()).call;
        if call == Call::Other {
            return Box::pin(inner.call(request));
        }
        let (following, writer) = {
            let core = read(&self.state);
            (core.follows(), core.replica().writer.clone())
        };
        let mut durable = self.durable.clone();
        if !following || call == Call::Read {
            let seen = stored_in(request.headers(), MIN_STORED_HEADER).filter(|_| following);
            return Box::pin(async move {
                if let Some(seen) = seen {
                    catch_up(&mut durable, seen).await;
                }
                here(inner, request, &durable).await
            });
        }
        let (state, connections) = (self.state.clone(), self.writer.clone());
        let peer_tls = self.peer_tls.clone();
        Box::pin(async move {
            let writer = match writer_known(&state, writer).await {
                Some(writer) => writer,
                // This replica took the writer's place meanwhile.
                None => return here(inner, request, &durable).await,
            };
            let channel = match channel_to(&connections, &writer, peer_tls.as_ref()) {
                Ok(channel) => channel,
                Err(error) => return Ok(to_status(error).into_http()),
            };
            let response = match channel.oneshot(request).await {
                Ok(response) => response,
                Err(error) => {
                    return Ok(to_status(unavailable(format!(
                        "the writer at {writer} cannot be reached ({error})"
                    )))
                    .into_http());
                }
            };
            if let Some(stored) = stored_in(response.headers(), STORED_HEADER) {
                catch_up(&mut durable, stored).await;
            }
            Ok(response)
        })
    }
}

/// The writer's address, once known: while a follower takes the writer's place (or has not
/// read who writes yet), a change waits for up to [`WRITER_PATIENCE`] rather than being
/// refused at once. `None` when this replica became the writer.
async fn writer_known(state: &SharedCore, mut writer: String) -> Option<String> {
    let give_up = tokio::time::Instant::now() + WRITER_PATIENCE;
    while writer.is_empty() && tokio::time::Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let core = read(state);
        if !core.follows() {
            return None;
        }
        writer = core.replica().writer.clone();
    }
    Some(writer)
}

/// Serves a call here, naming the commit its answer reflects.
async fn here<S>(
    mut inner: S,
    request: http::Request<Body>,
    durable: &tokio::sync::watch::Receiver<Durable>,
) -> Result<http::Response<Body>, S::Error>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>>,
{
    let mut response = inner.call(request).await?;
    let stored = durable.borrow().stored;
    if stored > 0 {
        response
            .headers_mut()
            .insert(STORED_HEADER, http::HeaderValue::from(stored));
    }
    Ok(response)
}

/// The connection to the writer at `address` (the same one while the writer stays); over TLS
/// with `peer_tls` when the address is https, the writer's name checked against its
/// certificate.
fn channel_to(
    connections: &Mutex<Option<(String, u64, Channel)>>,
    address: &str,
    peer_tls: Option<&PeerClient>,
) -> Result<Channel, DomainError> {
    if address.is_empty() {
        return Err(unavailable(
            "no replica holds the writer's lease right now (one is taking over)".into(),
        ));
    }
    let peer_tls = peer_tls.map(PeerClient::current);
    let generation = peer_tls.as_ref().map_or(0, |(generation, _)| *generation);
    let mut writer = connections.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((known, made_with, channel)) = writer.as_ref()
        && known == address
        && *made_with == generation
    {
        return Ok(channel.clone());
    }
    let mut endpoint = Endpoint::from_shared(address.to_owned()).map_err(|error| {
        unavailable(format!(
            "the writer announced the address {address:?}, which is not a URL ({error}); set --advertise on each replica"
        ))
    })?;
    if address.starts_with("https://") {
        let (_, tls) = peer_tls.ok_or_else(|| {
            unavailable(format!(
                "the writer at {address} serves TLS and this replica trusts no CA for it; set --tls-peer-ca"
            ))
        })?;
        endpoint = endpoint.tls_config(tls).map_err(|error| {
            unavailable(format!(
                "TLS to the writer at {address} cannot be set up ({error})"
            ))
        })?;
    }
    let channel = endpoint
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true)
        .connect_lazy();
    *writer = Some((address.to_owned(), generation, channel.clone()));
    Ok(channel)
}

fn unavailable(what: String) -> DomainError {
    DomainError::new(
        Reason::WriterUnavailable,
        format!("{what}; retry the call with its request_id"),
    )
}
