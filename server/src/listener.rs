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

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How long a closed connection keeps reading what the peer still sends.
pub const DRAIN: Duration = Duration::from_secs(2);

/// Accepts TCP connections that close gracefully (see the module docs),
/// with `TCP_NODELAY` set.
#[derive(Debug)]
pub struct Listener(TcpListener);

impl Listener {
    /// Listens on `listener`.
    pub fn new(listener: TcpListener) -> Self {
        Listener(listener)
    }
}

impl axum::serve::Listener for Listener {
    type Io = GracefulClose;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (GracefulClose, SocketAddr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    // Link frames are small pushes (`kicked`, `clients`)
                    // that often follow another push within the peer's
                    // delayed-ACK window: without TCP_NODELAY, Nagle held
                    // each of them back ~40 ms.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(error = %e, "cannot set TCP_NODELAY");
                    }
                    return (GracefulClose(Some(stream)), addr);
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

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
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
