//! A TCP proxy for chaos tests: forwards every connection to a target
//! until told to black-hole (stop forwarding both ways while keeping both
//! sockets open: a half-open connection), and can run a hook on the first
//! client message after the HTTP upgrade (the login frame).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Hook = Box<dyn FnMut() + Send>;

#[derive(Default)]
struct Shared {
    /// While set, new connections forward nothing.
    blackhole: AtomicBool,
    /// Connections with a lower number forward nothing, ever again.
    cut_below: AtomicUsize,
    /// Connections accepted so far.
    accepted: AtomicUsize,
    /// Runs once, on the second client→server chunk of a connection (the
    /// first is the HTTP upgrade request): the login frame.
    on_login: Mutex<Option<Hook>>,
}

/// A running proxy; dropped with the test's runtime.
#[derive(Clone)]
pub struct Proxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free port and forwards to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let id = s.accepted.fetch_add(1, Ordering::SeqCst);
                let born_dead = s.blackhole.load(Ordering::SeqCst);
                tokio::spawn(serve(client, target, s.clone(), id, born_dead));
            }
        });
        Proxy { addr, shared }
    }

    /// `true`: stops forwarding, both ways, on every open connection for
    /// good, and on new ones while it lasts; sockets stay open (half-open
    /// connections). `false`: new connections forward again.
    pub fn blackhole(&self, on: bool) {
        if on {
            let next = self.shared.accepted.load(Ordering::SeqCst);
            self.shared.cut_below.store(next, Ordering::SeqCst);
        }
        self.shared.blackhole.store(on, Ordering::SeqCst);
    }

    /// Runs `hook` once when a connection sends its login frame, before
    /// that frame is forwarded.
    pub fn on_login(&self, hook: impl FnMut() + Send + 'static) {
        *self.shared.on_login.lock().unwrap() = Some(Box::new(hook));
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

async fn serve(
    client: TcpStream,
    target: SocketAddr,
    shared: Arc<Shared>,
    id: usize,
    born_dead: bool,
) {
    let Ok(server) = TcpStream::connect(target).await else {
        return;
    };
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let conn = Conn { id, born_dead };
    let up = tokio::spawn(pump(cr, sw, shared.clone(), true, conn));
    let down = tokio::spawn(pump(sr, cw, shared, false, conn));
    let _ = tokio::join!(up, down);
}

#[derive(Clone, Copy)]
struct Conn {
    id: usize,
    born_dead: bool,
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    shared: Arc<Shared>,
    upstream: bool,
    conn: Conn,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut chunks = 0usize;
    let mut dead = false;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        dead = conn.born_dead || conn.id < shared.cut_below.load(Ordering::SeqCst);
        if dead {
            continue;
        }
        chunks += 1;
        if upstream && chunks == 2 {
            // The hook runs before the login frame is forwarded, so the
            // server it kills can never have answered that frame.
            let hook = shared.on_login.lock().unwrap().take();
            if let Some(mut hook) = hook {
                hook();
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    dead |= conn.born_dead || conn.id < shared.cut_below.load(Ordering::SeqCst);
    if dead {
        // Keep both sockets open and silent: dropping `to` would send a
        // FIN and let the other side notice.
        std::future::pending::<()>().await;
    }
    let _ = to.shutdown().await;
}
