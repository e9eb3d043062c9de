//! Connected clients: one per role, each sending its credential with every call.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Status};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_stream::StreamExt;

use crate::Error;
use crate::pb;
use crate::subscription::{MessageStream, Opener, Start, Subscription};

/// Opens a channel to a cifd at `endpoint` (e.g. `http://127.0.0.1:50051`). The channel is
/// cheap to clone and can carry clients of every role at once.
pub async fn connect(endpoint: impl Into<String>) -> Result<Channel, Error> {
    let endpoint = Endpoint::from_shared(endpoint.into())
        .map_err(|error| Status::invalid_argument(format!("bad endpoint: {error}")))?;
    Ok(endpoint.connect().await?)
}

/// Opens a channel to a cifd that serves TLS at `endpoint` (`https://cifd.example.com:50051`),
/// trusting the certificates `ca_pem` (PEM) signed; the server's name must be in its
/// certificate. `identity` (certificate chain and private key, PEM) is presented to a server
/// that asks for client certificates.
pub async fn connect_tls(
    endpoint: impl Into<String>,
    ca_pem: &[u8],
    identity: Option<(&[u8], &[u8])>,
) -> Result<Channel, Error> {
    let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem));
    if let Some((certificate, key)) = identity {
        tls = tls.identity(Identity::from_pem(certificate, key));
    }
    let endpoint = Endpoint::from_shared(endpoint.into())
        .map_err(|error| Status::invalid_argument(format!("bad endpoint: {error}")))?
        .tls_config(tls)?;
    Ok(endpoint.connect().await?)
}

/// Opens a channel to several cifd replicas of one deployment (e.g. `http://10.0.0.1:50051`,
/// `http://10.0.0.2:50051`): each call goes to one of those that answer health checks now, so
/// when a replica dies the channel stops using it within a check or two, and takes it back
/// when it answers again. A call that was on a dying replica fails with UNAVAILABLE: retry
/// it (with its `request_id` when it changes something); a [`Subscription`] resumes on
/// another replica by itself. Fails when no replica answers at first.
pub async fn connect_any<I, S>(endpoints: I) -> Result<Channel, Error>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let endpoints = endpoints
        .into_iter()
        .map(|endpoint| {
            Endpoint::from_shared(endpoint.into())
                .map_err(|error| Status::invalid_argument(format!("bad endpoint: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if endpoints.is_empty() {
        return Err(Status::invalid_argument("give at least one endpoint").into());
    }
    let (channel, changes) = Channel::balance_channel(endpoints.len().max(1));
    let mut replicas = crate::replicas::Replicas::new(endpoints, changes);
    if !replicas.check().await {
        return Err(Status::unavailable(format!(
            "none of the replicas answers: {}",
            replicas.describe()
        ))
        .into());
    }
    tokio::spawn(replicas.keep_checking());
    Ok(channel)
}

/// The response header in which cifd names the store's count of commits an answer reflects,
/// and the request header in which a client asks a replica to reflect at least that many.
const STORED: &str = "cif-stored";
const MIN_STORED: &str = "cif-min-stored";

/// Adds `authorization: Bearer <credential>` to every request, and, across replicas, what
/// the client has already seen: each answer names the commit it reflects, and every later
/// request asks for at least that one, so a replica that has not applied it yet waits. A
/// client reads its own writes whichever replica answers.
#[derive(Clone)]
pub struct BearerAuth {
    header: MetadataValue<Ascii>,
    seen: Arc<AtomicU64>,
}

impl BearerAuth {
    /// Fails when the credential cannot travel in a header (it is not printable ASCII).
    pub fn new(credential: &str) -> Result<Self, Error> {
        let header = format!("Bearer {credential}").parse().map_err(|_| {
            Status::invalid_argument("the credential must be printable ASCII without spaces")
        })?;
        Ok(Self {
            header,
            seen: Arc::default(),
        })
    }

    /// Remembers the commit an answer reflects.
    pub fn saw(&self, metadata: &tonic::metadata::MetadataMap) {
        let stored = metadata
            .get(STORED)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok());
        if let Some(stored) = stored {
            self.seen.fetch_max(stored, Ordering::Relaxed);
        }
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let metadata = request.metadata_mut();
        metadata.insert("authorization", self.header.clone());
        let seen = self.seen.load(Ordering::Relaxed);
        if seen > 0 {
            metadata.insert(MIN_STORED, MetadataValue::from(seen));
        }
        Ok(request)
    }
}

/// A channel that authenticates every call.
pub type AuthenticatedChannel = InterceptedService<Channel, BearerAuth>;

// One client per role, generated from the proto (see build.rs): `new`, `generated`, and one
// method per unary RPC with the proto's doc comment.
include!(concat!(env!("OUT_DIR"), "/role_clients.rs"));

/// Makes an [`Opener`] from a generated client's streaming call.
macro_rules! opener {
    ($client:expr, $method:ident, |$start:ident| $request:expr) => {{
        let client = $client.clone();
        let opener: Opener = Arc::new(move |$start: Start| {
            let mut client = client.clone();
            let request = $request;
            Box::pin(async move {
                let stream = client.$method(request).await?.into_inner();
                let messages: MessageStream = Box::pin(
                    stream.map(|item| item.map(|response| response.message.unwrap_or_default())),
                );
                Ok(messages)
            })
        });
        opener
    }};
}

impl ProviderClient {
    /// Follows the events of the caller's sessions (on `agent_ids` only, unless empty),
    /// resuming by itself after disconnects; with `snapshot`, it starts with the caller's open
    /// sessions.
    pub fn subscribe(&self, agent_ids: Vec<String>, snapshot: bool) -> Subscription {
        let opener = opener!(self.inner, subscribe, |start| {
            let (snapshot, log_id, after_sequence) = start.fields();
            pb::SubscribeRequest {
                agent_ids: agent_ids.clone(),
                snapshot,
                log_id,
                after_sequence,
            }
        });
        Subscription::new(opener, snapshot)
    }
}

impl AgentClient {
    /// Follows every event of the caller's desk, resuming by itself after disconnects; with
    /// `snapshot`, it starts with the whole desk.
    pub fn subscribe(&self, snapshot: bool) -> Subscription {
        let opener = opener!(self.inner, subscribe, |start| {
            let (snapshot, log_id, after_sequence) = start.fields();
            pb::AgentServiceSubscribeRequest {
                snapshot,
                log_id,
                after_sequence,
            }
        });
        Subscription::new(opener, snapshot)
    }
}

impl AdminClient {
    /// Follows every event of every desk, resuming by itself after disconnects; with
    /// `snapshot`, it starts with every desk.
    pub fn watch(&self, snapshot: bool) -> Subscription {
        let opener = opener!(self.inner, watch, |start| {
            let (snapshot, log_id, after_sequence) = start.fields();
            pb::WatchRequest {
                snapshot,
                log_id,
                after_sequence,
            }
        });
        Subscription::new(opener, snapshot)
    }
}
