//! Raw WebSocket clients for the throughput and hold tests: one TCP
//! connection from a chosen 127.0.0.x source address, one login frame.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use futures_util::{SinkExt, StreamExt};
use imlogin::protocol::{ClientFrame, ClientType, LoginFrame, LoginMode};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// The AppKey every bench server is started with.
pub const APP_KEY: &str = "bench-app";

/// The clientTypes a bench account's sessions spread over: each account
/// holds up to five sessions (one per type) under the default policy.
pub const CLIENT_TYPES: [ClientType; 5] = [
    ClientType::Web,
    ClientType::Pc,
    ClientType::Mac,
    ClientType::Android,
    ClientType::Ios,
];

/// A connected WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// The `i`-th of `n` loopback source addresses: 127.0.0.2, 127.0.0.3, …
pub fn source(i: usize, n: usize) -> IpAddr {
    let k = (i % n.max(1)) as u32 + 2;
    IpAddr::V4(Ipv4Addr::from(0x7f00_0000 | k))
}

/// Opens a WebSocket to `ws://addr/path` from `src`.
pub async fn connect(addr: SocketAddr, src: IpAddr, path: &str) -> Result<Ws, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(src, 0))
        .map_err(|e| format!("bind {src}: {e}"))?;
    let stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let url = format!("ws://{addr}{path}");
    let (ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

/// The JSON of a manual login frame, as the browser module sends it.
pub fn login_frame(accid: &str, token: &str, client_type: ClientType, device: &str) -> String {
    ClientFrame::Login(LoginFrame {
        app_key: APP_KEY.to_owned(),
        accid: accid.to_owned(),
        token: Some(token.to_owned()),
        device_id: device.to_owned(),
        client_type,
        mode: LoginMode::Manual,
        force: false,
        custom_tag: None,
        sdk: imlogin::protocol::SDK_NAME.to_owned(),
        device_key: None,
        ticket: None,
        ts: None,
        nonce: None,
        sig: None,
    })
    .to_json()
}

/// Sends `text` and waits for the first text frame back; with `expect`,
/// that frame must contain it (e.g. `"loginOk"`).
pub async fn round_trip(ws: &mut Ws, text: String, expect: Option<&str>) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| e.to_string())?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(reply))) => {
                return match expect {
                    Some(want) if !reply.contains(want) => Err(format!("got {reply}")),
                    _ => Ok(()),
                };
            }
            Some(Ok(Message::Close(f))) => return Err(format!("closed: {f:?}")),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("connection ended".into()),
        }
    }
}
