//! The baseline: a tonic server with cifd's transport settings that does no work of its own.
//! It answers every unary call of `cif.v1` with an empty message, and routes: a server
//! stream is registered under its caller's bearer credential, and a unary call with a
//! `route-to` header (credentials, comma-separated) copies its request body, unparsed, to
//! every stream registered under those credentials. It is what the raw stack can do, the
//! ceiling each cifd figure is quoted against.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};
use tonic::{Request, Response, Status};

/// Messages as bytes, neither parsed nor built.
#[derive(Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// A stream's queue, as long as cifd's default `--subscriber-queue`.
const QUEUE: usize = 1024;

type Sender = tokio::sync::mpsc::Sender<Result<Bytes, Status>>;

/// Open streams by their caller's credential, and the answer to every unary call.
#[derive(Clone, Default)]
struct Streams(Arc<Mutex<HashMap<String, Vec<Sender>>>>, Bytes);

fn credential<T>(request: &Request<T>) -> String {
    request
        .metadata()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned()
}

impl UnaryService<Bytes> for Streams {
    type Response = Bytes;
    type Future = std::future::Ready<Result<Response<Bytes>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        if let Some(targets) = request.metadata().get("route-to") {
            let targets = targets.to_str().unwrap_or_default();
            let streams = self.0.lock().expect("not poisoned");
            for target in targets.split(',') {
                for stream in streams.get(target).into_iter().flatten() {
                    // A full queue drops the message: the benchmark counts what arrives.
                    let _ = stream.try_send(Ok(request.get_ref().clone()));
                }
            }
        }
        std::future::ready(Ok(Response::new(self.1.clone())))
    }
}

impl ServerStreamingService<Bytes> for Streams {
    type Response = Bytes;
    type ResponseStream = tokio_stream::wrappers::ReceiverStream<Result<Bytes, Status>>;
    type Future = std::future::Ready<Result<Response<Self::ResponseStream>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let (sender, receiver) = tokio::sync::mpsc::channel(QUEUE);
        let mut streams = self.0.lock().expect("not poisoned");
        let registered = streams.entry(credential(&request)).or_default();
        registered.retain(|stream| !stream.is_closed());
        registered.push(sender);
        std::future::ready(Ok(Response::new(receiver.into())))
    }
}

/// The name a baseline service answers to.
pub trait ServiceName: Clone + Send + Sync + 'static {
    const NAME: &'static str;
}

#[derive(Clone)]
pub struct Provider;
impl ServiceName for Provider {
    const NAME: &'static str = "cif.v1.ProviderService";
}

#[derive(Clone)]
pub struct Agent;
impl ServiceName for Agent {
    const NAME: &'static str = "cif.v1.AgentService";
}

/// One `cif.v1` service's paths, answered by [`Streams`].
#[derive(Clone)]
struct Baseline<N> {
    streams: Streams,
    name: PhantomData<N>,
}

impl<N: ServiceName> NamedService for Baseline<N> {
    const NAME: &'static str = N::NAME;
}

impl<N: ServiceName> tower::Service<http::Request<Body>> for Baseline<N> {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let streams = self.streams.clone();
        let streaming = request.uri().path().ends_with("/Subscribe");
        Box::pin(async move {
            let mut grpc = Grpc::new(RawCodec);
            Ok(if streaming {
                grpc.server_streaming(streams, request).await
            } else {
                grpc.unary(streams, request).await
            })
        })
    }
}

/// cifd's default `--dead-peer-timeout`.
const CIFD_DEAD_PEER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// cifd's default `--max-streams-per-connection`.
const CIFD_MAX_STREAMS_PER_CONNECTION: u32 = 256;

/// Serves the baseline on `address` until the process is killed, printing
/// `baseline listening on <address>` once it accepts calls.
pub async fn serve(
    address: std::net::SocketAddr,
    answer_bytes: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("baseline listening on {}", listener.local_addr()?);
    let streams = Streams(Arc::default(), unknown_field(answer_bytes));
    let routes = tonic::service::Routes::new(Baseline::<Provider> {
        streams: streams.clone(),
        name: PhantomData,
    })
    .add_service(Baseline::<Agent> {
        streams,
        name: PhantomData,
    });
    let settings = cifd::http::HttpSettings {
        header_read_timeout: CIFD_DEAD_PEER_TIMEOUT,
        max_streams_per_connection: CIFD_MAX_STREAMS_PER_CONNECTION,
    };
    let incoming = cifd::incoming(listener, CIFD_DEAD_PEER_TIMEOUT);
    cifd::http::serve(incoming, routes, settings, std::future::pending()).await;
    Ok(())
}

/// A message of about `bytes` bytes that decodes as any message: one length-delimited field
/// number 1000, which no cif.v1 message has, so clients skip it.
fn unknown_field(bytes: usize) -> Bytes {
    if bytes == 0 {
        return Bytes::new();
    }
    let mut message = Vec::with_capacity(bytes + 5);
    // The key of field 1000, wire type 2 (length-delimited), as a varint.
    message.extend_from_slice(&[0xC2, 0x3E]);
    let mut length = bytes as u64;
    while length >= 0x80 {
        message.push((length as u8) | 0x80);
        length >>= 7;
    }
    message.push(length as u8);
    message.resize(message.len() + bytes, b'x');
    Bytes::from(message)
}
