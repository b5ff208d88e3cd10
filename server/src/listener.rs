//! The server's TCP listener. Every accepted connection — an HTTP request
//! or a link WebSocket — ends with a graceful close: when the server is
//! done with it, its write side is shut down (a FIN after everything sent,
//! a WebSocket close frame included) and whatever the peer still sends is
//! read and thrown away for up to [`DRAIN`], until the peer closes too.
//!
//! Closing a socket while unread data sits in its receive buffer, or
//! arrives after, makes the kernel answer with a reset, and a reset can
//! overtake the last frames sent: a client that sent a frame over the
//! size limit used to see a reset instead of the close 1009 about two times
//! in five (`server/tests/link_close.rs`).
//!
//! With a TLS acceptor (`--tls-cert`), each accepted connection's
//! handshake runs in its own task (at most [`HANDSHAKE_TIMEOUT`]), so that
//! a slow or silent client never holds up the others; the TLS stream runs
//! over the same gracefully closing TCP stream.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// How long a closed connection keeps reading what the peer still sends.
pub const DRAIN: Duration = Duration::from_secs(2);

/// How long a TLS client may take to complete its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TCP connections that close gracefully (see the module docs),
/// with `TCP_NODELAY` set, and with TLS when given an acceptor.
pub struct Listener {
    tcp: TcpListener,
    tls: Option<TlsAcceptor>,
    handshakes: JoinSet<Option<(Connection, SocketAddr)>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("tcp", &self.tcp)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Listens on `listener`, plain.
    pub fn new(listener: TcpListener) -> Self {
        Self::with_tls(listener, None)
    }

    /// Listens on `listener`, with TLS when `tls` is given.
    pub fn with_tls(listener: TcpListener, tls: Option<TlsAcceptor>) -> Self {
        Listener {
            tcp: listener,
            tls,
            handshakes: JoinSet::new(),
        }
    }
}

/// The next accepted TCP connection, with `TCP_NODELAY` set.
async fn accept_tcp(tcp: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match tcp.accept().await {
            Ok((stream, addr)) => {
                // Link frames are small pushes (`kicked`, `clients`)
                // that often follow another push within the peer's
                // delayed-ACK window: without TCP_NODELAY, Nagle held
                // each of them back ~40 ms.
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                }
                return (stream, addr);
            }
            Err(e) => {
                // Out of file descriptors and the like: wait a moment
                // rather than spin, as axum's own listener does.
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The TLS handshake of one accepted connection; `None` when it fails or
/// times out (logged at debug: scanners and health probes do this).
async fn handshake(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    addr: SocketAddr,
) -> Option<(Connection, SocketAddr)> {
    let accepted = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        acceptor.accept(GracefulClose(Some(stream))),
    )
    .await;
    match accepted {
        Ok(Ok(tls)) => Some((Connection::Tls(Box::new(tls)), addr)),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

impl axum::serve::Listener for Listener {
    type Io = Connection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Connection, SocketAddr) {
        loop {
            let Some(acceptor) = self.tls.clone() else {
                let (stream, addr) = accept_tcp(&self.tcp).await;
                return (Connection::Plain(GracefulClose(Some(stream))), addr);
            };
            tokio::select! {
                (stream, addr) = accept_tcp(&self.tcp) => {
                    self.handshakes.spawn(handshake(acceptor, stream, addr));
                }
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// An accepted connection: plain, or TLS over the same gracefully closing
/// TCP stream.
#[derive(Debug)]
pub enum Connection {
    /// Plain TCP.
    Plain(GracefulClose),
    /// TLS (`--tls-cert`).
    Tls(Box<TlsStream<GracefulClose>>),
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_flush(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Connection::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Connection::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Connection::Plain(s) => s.is_write_vectored(),
            Connection::Tls(s) => s.is_write_vectored(),
        }
    }
}

/// The peer's address of a connection, for handlers (`ConnectInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

impl Connected<IncomingStream<'_, Listener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, Listener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

/// An accepted connection that closes gracefully when dropped.
#[derive(Debug)]
pub struct GracefulClose(Option<TcpStream>);

impl GracefulClose {
    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.0
            .as_mut()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl AsyncRead for GracefulClose {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => Pin::new(s).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for GracefulClose {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.stream() {
            Ok(s) => Pin::new(s).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => Pin::new(s).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.stream() {
            Ok(s) => Pin::new(s).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.stream() {
            Ok(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }
}

impl Drop for GracefulClose {
    fn drop(&mut self) {
        let Some(stream) = self.0.take() else { return };
        // Outside a runtime (the process is ending) the socket just closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(stream));
        }
    }
}

/// Sends a FIN after what was written, then reads and discards until the
/// peer closes, its connection fails, or [`DRAIN`] has passed.
async fn drain(mut stream: TcpStream) {
    // Already shut down (hyper does so for HTTP) is no reason to skip the
    // draining.
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(DRAIN, async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}
