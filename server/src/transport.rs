//! How cifd serves connections: its HTTP/2 settings and the sockets it accepts. The
//! benchmark's baseline server uses the same, so the two differ only in the work they do.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::{Stream, StreamExt};
use tonic::transport::Server;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

/// The HTTP/2 server settings.
pub fn transport() -> Server {
    // Idle connections behind NATs and load balancers die silently without keepalive.
    Server::builder().http2_keepalive_interval(Some(Duration::from_secs(30)))
}

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

/// The connections `listener` accepts (see [`incoming`]), each through a TLS handshake when
/// `tls` is given. Handshakes run side by side, each bounded by `dead_peer`, so a client that
/// never finishes its handshake holds up nobody.
pub fn incoming_maybe_tls(
    listener: TcpListener,
    dead_peer: Duration,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> std::pin::Pin<Box<dyn Stream<Item = io::Result<Accepted>> + Send>> {
    let accepted = accepted(listener, dead_peer);
    let Some(tls) = tls else {
        return Box::pin(accepted.map(|connection| connection.map(Accepted::Plain)));
    };
    let (secured, handshaken) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        tokio::pin!(accepted);
        while let Some(connection) = accepted.next().await {
            let Ok(connection) = connection else { continue };
            let (tls, secured) = (tls.clone(), secured.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(dead_peer, tls.accept(connection)).await {
                    Ok(Ok(stream)) => {
                        let _ = secured.send(Ok(Accepted::Tls(Box::new(stream)))).await;
                    }
                    Ok(Err(error)) => tracing::debug!(%error, "a TLS handshake failed"),
                    Err(_) => tracing::debug!("a TLS handshake did not finish in time"),
                }
            });
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(handshaken))
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

/// An accepted connection, in clear or through TLS.
pub enum Accepted {
    Plain(Connection),
    Tls(Box<tokio_rustls::server::TlsStream<Connection>>),
}

impl AsyncRead for Accepted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(connection) => Pin::new(connection).poll_read(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(connection) => Pin::new(connection).poll_write(cx, buf),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(connection) => Pin::new(connection).poll_flush(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(connection) => Pin::new(connection).poll_shutdown(cx),
            Self::Tls(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        false
    }
}

impl Connected for Accepted {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        match self {
            Self::Plain(connection) => connection.connect_info(),
            Self::Tls(stream) => stream.get_ref().0.connect_info(),
        }
    }
}
