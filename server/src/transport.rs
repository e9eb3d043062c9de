//! The connections cifd accepts: TCP settings, TLS, and bounds on how many one client may
//! hold. The benchmark's baseline server accepts the same way and is served the same way
//! (`http.rs`), so the two differ only in the work they do.

use std::collections::HashMap;
use std::future::Future as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

/// The connections `listener` accepts, with TCP_NODELAY: the builder's setting applies only to
/// listeners it binds itself. Without it, a small write (a stream's event) holds back the next
/// one (a unary answer) until the peer's delayed ACK, some 40 ms.
///
/// Each socket also gets TCP keepalive probes (an idle connection to a vanished peer) and
/// TCP_USER_TIMEOUT of `dead_peer` (a busy one: heartbeats keep data in flight, and while
/// data waits for acknowledgement the kernel sends no keepalive probe, so keepalive alone
/// never notices).
pub fn incoming(
    listener: TcpListener,
    dead_peer: Duration,
) -> impl Stream<Item = io::Result<Connection>> {
    accepted(listener, dead_peer)
}

/// The connections `listener` accepts (see [`incoming`]) within `limits`, counted in
/// `metrics`, each through a TLS
/// handshake when `tls` is given. Handshakes run side by side, each bounded by `dead_peer`, so
/// a client that never finishes its handshake holds up nobody; and a connection that sends no
/// request within `dead_peer` of being accepted is closed.
pub fn incoming_maybe_tls(
    listener: TcpListener,
    dead_peer: Duration,
    limits: ConnectionLimits,
    metrics: ConnectionMetrics,
    tls: Option<(tokio_rustls::TlsAcceptor, Option<crate::tls::Replicas>)>,
) -> Pin<Box<dyn Stream<Item = io::Result<Accepted>> + Send>> {
    let counts = Arc::new(Counts {
        open: Mutex::default(),
        metrics,
    });
    let accepted = accepted(listener, dead_peer).filter_map(move |connection| {
        let connection = connection.ok()?;
        let counted = counts.count(&connection, limits)?;
        Some((connection, counted))
    });
    let Some((tls, replicas)) = tls else {
        return Box::pin(accepted.map(move |(connection, counted)| {
            Ok(Accepted::new(
                Secured::Plain(connection),
                false,
                counted,
                dead_peer,
            ))
        }));
    };
    let (secured, handshaken) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        tokio::pin!(accepted);
        while let Some((connection, counted)) = accepted.next().await {
            let (tls, secured, replicas) = (tls.clone(), secured.clone(), replicas.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(dead_peer, tls.accept(connection)).await {
                    Ok(Ok(stream)) => {
                        let replica = replicas.is_some_and(|replicas| {
                            replicas.recognise(stream.get_ref().1.peer_certificates())
                        });
                        let stream = Secured::Tls(Box::new(stream));
                        let accepted = Accepted::new(stream, replica, counted, dead_peer);
                        let _ = secured.send(Ok(accepted)).await;
                    }
                    Ok(Err(error)) => tracing::debug!(%error, "a TLS handshake failed"),
                    Err(_) => tracing::debug!("a TLS handshake did not finish in time"),
                }
            });
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(handshaken))
}

/// How many connections cifd holds open: in all, and from one address. Past either, a new
/// connection is closed at once, so one client opening connections without end cannot use up
/// the server's sockets. 0: no limit.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub total: usize,
    pub per_address: usize,
}

/// What the metrics show of connections: how many are open, and how many were closed at
/// once for going over the limits.
#[derive(Clone, Default)]
pub struct ConnectionMetrics {
    pub open: Gauge,
    pub refused: Counter,
}

/// The connections open now, in all and by address.
#[derive(Default)]
struct Counts {
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
    metrics: ConnectionMetrics,
}

/// One open connection's place in [`Counts`], given back when it closes.
pub struct Counted {
    counts: Arc<Counts>,
    address: IpAddr,
}

impl Counts {
    /// Counts `connection`, or refuses it (`None`) when it would go over `limits`.
    fn count(
        self: &Arc<Self>,
        connection: &Connection,
        limits: ConnectionLimits,
    ) -> Option<Counted> {
        let address = connection.0.peer_addr().ok()?.ip();
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, by_address) = &mut *open;
        let from_address = by_address.get(&address).copied().unwrap_or(0);
        let over = |count: usize, limit: usize| limit > 0 && count >= limit;
        if over(*total, limits.total) || over(from_address, limits.per_address) {
            self.metrics.refused.inc();
            tracing::debug!(%address, open = *total, from_address, "refused a connection over the limits");
            return None;
        }
        *total += 1;
        self.metrics.open.inc();
        by_address.insert(address, from_address + 1);
        Some(Counted {
            counts: self.clone(),
            address,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self
            .counts
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (total, by_address) = &mut *open;
        *total -= 1;
        self.counts.metrics.open.dec();
        if let Some(count) = by_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                by_address.remove(&self.address);
            }
        }
    }
}

fn accepted(
    listener: TcpListener,
    dead_peer: Duration,
) -> impl Stream<Item = io::Result<Connection>> + Send + 'static {
    let probes = 3;
    let probe_every = dead_peer / (probes + 1);
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(probe_every))
        .with_keepalive_interval(Some(probe_every))
        .with_keepalive_retries(Some(probes))
        .map(move |accepted| {
            accepted.map(|stream| {
                if let Err(error) = SockRef::from(&stream).set_tcp_user_timeout(Some(dead_peer)) {
                    tracing::warn!(%error, "cannot bound unacknowledged data on a connection");
                }
                Connection(stream)
            })
        })
}

/// An accepted socket that asks HTTP/2 to copy frames into its write buffer rather than
/// write them as vectors. h2 keeps a DATA frame larger than 256 bytes as a separate buffer
/// when the socket takes vectored writes, and must flush it before it can add the next frame:
/// every answer over 256 bytes then costs a second system call for its trailers. Without
/// vectored writes it copies frames up to 1 KiB, and an answer goes out in one write.
pub struct Connection(TcpStream);

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.connect_info()
    }
}

/// Who is at the other end of a connection, for the limits: its address, and whether it is
/// another replica (recognised by its client certificate).
#[derive(Debug, Clone)]
pub struct Peer {
    pub address: Option<SocketAddr>,
    pub replica: bool,
}

/// A connection in clear or through TLS.
pub enum Secured {
    Plain(Connection),
    Tls(Box<tokio_rustls::server::TlsStream<Connection>>),
}

/// An accepted connection: until its first bytes of request arrive, it is closed when its
/// deadline passes.
pub struct Accepted {
    stream: Secured,
    replica: bool,
    first_request: Option<Pin<Box<tokio::time::Sleep>>>,
    _counted: Counted,
}

impl Accepted {
    fn new(
        stream: Secured,
        replica: bool,
        counted: Counted,
        first_request_within: Duration,
    ) -> Self {
        Self {
            stream,
            replica,
            first_request: Some(Box::pin(tokio::time::sleep(first_request_within))),
            _counted: counted,
        }
    }

    fn stream(self: Pin<&mut Self>) -> Pin<&mut dyn AsyncReadWrite> {
        match &mut self.get_mut().stream {
            Secured::Plain(connection) => Pin::new(connection),
            Secured::Tls(stream) => Pin::new(stream.as_mut()),
        }
    }
}

/// What a connection is to HTTP.
trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin {}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncReadWrite for T {}

impl AsyncRead for Accepted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let filled = buf.filled().len();
        let read = self.as_mut().stream().poll_read(cx, buf);
        let this = self.get_mut();
        if let Some(deadline) = &mut this.first_request {
            if buf.filled().len() > filled {
                this.first_request = None;
            } else if read.is_pending() && deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no request came on a new connection in time",
                )));
            }
        }
        read
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.stream().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl Connected for Accepted {
    type ConnectInfo = Peer;

    fn connect_info(&self) -> Peer {
        let connection = match &self.stream {
            Secured::Plain(connection) => connection,
            Secured::Tls(stream) => stream.get_ref().0,
        };
        Peer {
            address: connection.0.peer_addr().ok(),
            replica: self.replica,
        }
    }
}
