//! Replicas on one store: a follower sends every call that changes the state to the writer,
//! as it came (the caller's own credential included: the writer authenticates it, so
//! replicas need no secret of their own), and answers once it has applied what the answer
//! reflects, so a caller reads its own writes on the replica it uses. The writer names, in
//! the header [`STORED_HEADER`] of each answer, the store's count of commits it reflects.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::body::Body;
use tonic::codegen::http;
use tonic::transport::{Channel, Endpoint};
use tower::{Layer, Service, ServiceExt as _};

use super::status::to_status;
use crate::app::{Durable, SharedCore, read};
use crate::domain::{DomainError, Reason};

/// The response header in which the writer names the store's count of commits its answer
/// reflects.
pub const STORED_HEADER: &str = "cif-stored";

/// How long a follower waits to apply the commit an answer reflects before answering anyway
/// (it falls that far behind only when its store is failing, which stops it).
const CATCH_UP: Duration = Duration::from_secs(10);

/// Whether a method changes the state (so a follower forwards it): everything in cif.v1's
/// services except reads and streams.
fn changes_state(path: &str) -> bool {
    let Some((service, method)) = path.trim_start_matches('/').split_once('/') else {
        return false;
    };
    let ours = matches!(
        service,
        "cif.v1.ProviderService" | "cif.v1.AgentService" | "cif.v1.AdminService"
    );
    let reads = method.starts_with("Get")
        || method.starts_with("List")
        || matches!(method, "Subscribe" | "Watch" | "CanCreateSession");
    ours && !reads
}

/// Wraps the authenticated services: on a follower, changes go to the writer; on the writer,
/// answers to changes name the commit they reflect.
#[derive(Clone)]
pub struct ForwardLayer {
    state: SharedCore,
}

impl ForwardLayer {
    pub fn new(state: SharedCore) -> Self {
        Self { state }
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
        }
    }
}

/// The service [`ForwardLayer`] makes.
#[derive(Clone)]
pub struct Forward<S> {
    inner: S,
    state: SharedCore,
    durable: tokio::sync::watch::Receiver<Durable>,
    /// The connection to the writer, made when first needed and again when the writer moves.
    writer: Arc<Mutex<Option<(String, Channel)>>>,
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
        if !changes_state(request.uri().path()) {
            return Box::pin(inner.call(request));
        }
        let (following, writer) = {
            let core = read(&self.state);
            (core.follows(), core.replica().writer.clone())
        };
        let mut durable = self.durable.clone();
        if !following {
            return Box::pin(async move {
                let mut response = inner.call(request).await?;
                let stored = durable.borrow().stored;
                response
                    .headers_mut()
                    .insert(STORED_HEADER, http::HeaderValue::from(stored));
                Ok(response)
            });
        }
        let channel = self.channel(&writer);
        Box::pin(async move {
            let channel = match channel {
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
            let stored = response
                .headers()
                .get(STORED_HEADER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse::<u64>().ok());
            if let Some(stored) = stored {
                let applied = tokio::time::timeout(
                    CATCH_UP,
                    durable.wait_for(|durable| durable.stored >= stored),
                )
                .await;
                if !matches!(applied, Ok(Ok(_))) {
                    tracing::warn!(
                        stored,
                        "answering a forwarded call before applying the commit it reflects"
                    );
                }
            }
            Ok(response)
        })
    }
}

impl<S> Forward<S> {
    /// The connection to the writer at `address` (the same one while the writer stays).
    fn channel(&self, address: &str) -> Result<Channel, DomainError> {
        if address.is_empty() {
            return Err(unavailable(
                "no replica holds the writer's lease right now (one is taking over)".into(),
            ));
        }
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((known, channel)) = writer.as_ref()
            && known == address
        {
            return Ok(channel.clone());
        }
        let channel = Endpoint::from_shared(address.to_owned())
            .map_err(|error| {
                unavailable(format!(
                    "the writer announced the address {address:?}, which is not a URL ({error}); set --advertise on each replica"
                ))
            })?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .connect_lazy();
        *writer = Some((address.to_owned(), channel.clone()));
        Ok(channel)
    }
}

fn unavailable(what: String) -> DomainError {
    DomainError::new(
        Reason::WriterUnavailable,
        format!("{what}; retry the call with its request_id"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_forwarded_and_reads_and_streams_are_served_here() {
        for changing in [
            "/cif.v1.ProviderService/CreateSession",
            "/cif.v1.ProviderService/NotifyEvent",
            "/cif.v1.AgentService/SwitchSession",
            "/cif.v1.AdminService/CreateProvider",
        ] {
            assert!(changes_state(changing), "{changing}");
        }
        for here in [
            "/cif.v1.ProviderService/GetSession",
            "/cif.v1.ProviderService/ListTabs",
            "/cif.v1.ProviderService/Subscribe",
            "/cif.v1.ProviderService/CanCreateSession",
            "/cif.v1.AdminService/Watch",
            "/grpc.health.v1.Health/Check",
            "/desk/",
        ] {
            assert!(!changes_state(here), "{here}");
        }
    }
}
