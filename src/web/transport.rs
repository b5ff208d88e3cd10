//! One WebSocket to the link server (gloo-net), read by a loop on a
//! `spawn_local` task that reports its events to a callback; frames go out
//! through the socket's sink.
//!
//! Dropping a [`Socket`] closes the WebSocket (gloo-net detaches its
//! listeners) and ends the loop without a further report, so an abandoned
//! connection can never call back.

use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_sink::Sink;
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};

/// Something that happened on the socket.
pub enum SocketEvent {
    /// The handshake completed.
    Opened,
    /// A text frame arrived.
    Text(String),
    /// A binary frame arrived (the protocol never uses them).
    Binary,
    /// The socket closed (or never opened) with this code; nothing follows.
    Closed(u16),
}

/// The WebSocket, shared by its owner and its read loop until the owner
/// drops it.
type Slot = Rc<RefCell<Option<WebSocket>>>;

/// An open or opening WebSocket.
pub struct Socket {
    ws: Slot,
}

impl Socket {
    /// Opens a WebSocket to `url` and starts its read loop; its events go to
    /// `on_event`. Fails when the browser refuses the URL (bad URL, blocked
    /// by CSP).
    pub fn open(url: &str, on_event: impl Fn(SocketEvent) + 'static) -> Option<Socket> {
        let ws: Slot = Rc::new(RefCell::new(Some(WebSocket::open(url).ok()?)));
        let reader = Rc::clone(&ws);
        wasm_bindgen_futures::spawn_local(async move {
            let mut opened = false;
            // The borrow lasts one poll, never across a report.
            while let Some(event) = poll_fn(|cx| match reader.borrow_mut().as_mut() {
                Some(ws) => next_event(ws, &mut opened, cx).map(Some),
                None => Poll::Ready(None), // dropped by its owner
            })
            .await
            {
                let last = matches!(event, SocketEvent::Closed(_));
                on_event(event);
                if last {
                    return;
                }
            }
        });
        Some(Socket { ws })
    }

    /// Sends a text frame; a socket that is not open drops it (its close
    /// event follows).
    pub fn send(&self, text: String) {
        if let Some(ws) = self.ws.borrow_mut().as_mut() {
            let mut ws = Pin::new(ws);
            // Never pending once open: gloo-net sends synchronously.
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(Ok(())) = ws.as_mut().poll_ready(&mut cx) {
                let _ = ws.start_send(Message::Text(text));
            }
        }
    }

    /// Closes with `code`; nothing more is reported.
    pub fn close(self, code: u16) {
        if let Some(ws) = self.ws.borrow_mut().take() {
            let _ = ws.close(Some(code), None);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // gloo-net's WebSocket closes itself and detaches its listeners on
        // drop; the read loop finds the slot empty and ends.
        drop(self.ws.borrow_mut().take());
    }
}

/// The next event of `ws`: `Opened` once, when the handshake completes
/// (the sink becomes ready), then frames and the close.
fn next_event(ws: &mut WebSocket, opened: &mut bool, cx: &mut Context<'_>) -> Poll<SocketEvent> {
    if !*opened && Pin::new(&mut *ws).poll_ready(cx).is_ready() {
        // Ready also after a failed handshake: the stream then reports it.
        if matches!(ws.state(), State::Open) {
            *opened = true;
            return Poll::Ready(SocketEvent::Opened);
        }
    }
    Pin::new(ws).poll_next(cx).map(|item| match item {
        Some(Ok(Message::Text(text))) => SocketEvent::Text(text),
        Some(Ok(Message::Bytes(_))) => SocketEvent::Binary,
        Some(Err(WebSocketError::ConnectionClose(e))) => SocketEvent::Closed(e.code),
        // An error event always precedes the close of a failed connection:
        // 1006 says so at once.
        Some(Err(_)) | None => SocketEvent::Closed(1006),
    })
}
