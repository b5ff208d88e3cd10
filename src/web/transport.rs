//! One WebSocket to the link server, reporting its events to a callback.
//!
//! The socket owns its four handler closures; dropping it detaches them and
//! closes the socket, so an abandoned connection can never call back.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// Something that happened on the socket.
pub enum SocketEvent {
    /// The handshake completed.
    Opened,
    /// A frame arrived: a JS string for a text frame, anything else for a
    /// binary one (which the protocol never uses).
    Frame(JsValue),
    /// The socket closed (or never opened) with this code.
    Closed(u16),
}

/// An open or opening WebSocket.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _on_error: Closure<dyn FnMut()>,
}

impl Socket {
    /// Opens a WebSocket to `url`; its events go to `on_event`. Fails when
    /// the browser refuses the URL (bad URL, blocked by CSP).
    pub fn open(
        url: &str,
        on_event: impl Fn(SocketEvent) + Clone + 'static,
    ) -> Result<Socket, JsValue> {
        let ws = WebSocket::new(url)?;
        let opened = on_event.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || opened(SocketEvent::Opened));
        let message = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            message(SocketEvent::Frame(e.data()))
        });
        let closed = on_event.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            closed(SocketEvent::Closed(e.code()))
        });
        // An error event is always followed by close; 1006 here makes a
        // missing close harmless, and the later one is ignored as stale.
        let on_error = Closure::<dyn FnMut()>::new(move || on_event(SocketEvent::Closed(1006)));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        })
    }

    /// Sends a text frame; a socket that is not open drops it (its close
    /// event follows).
    pub fn send(&self, text: &str) {
        let _ = self.ws.send_with_str(text);
    }

    /// Closes with `code` (and detaches the handlers, on drop).
    pub fn close(self, code: u16) {
        let _ = self.ws.close_with_code(code);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}
