//! The browser's `online`/`offline` (window) and `visibilitychange`
//! (document) events, listened to for the manager's lifetime.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, EventTarget, VisibilityState, Window};

/// A network or visibility change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkEvent {
    Online,
    Offline,
    Visible,
}

struct Listener {
    target: EventTarget,
    name: &'static str,
    callback: Closure<dyn FnMut()>,
}

/// Registered listeners; removed on drop.
pub struct NetworkListeners {
    listeners: Vec<Listener>,
}

/// Whether the browser reports itself online (`navigator.onLine`); `true`
/// where there is no window to ask.
pub fn is_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

impl NetworkListeners {
    /// Listens and reports to `on_event`. Outside a window (a worker),
    /// nothing is listened to.
    pub fn new(on_event: impl Fn(NetworkEvent) + Clone + 'static) -> Self {
        let mut listeners = Vec::new();
        let Some(window): Option<Window> = web_sys::window() else {
            return NetworkListeners { listeners };
        };
        let mut add = |target: EventTarget,
                       name: &'static str,
                       event: NetworkEvent,
                       when_visible: Option<Document>| {
            let on_event = on_event.clone();
            let callback = Closure::<dyn FnMut()>::new(move || {
                let visible = when_visible
                    .as_ref()
                    .is_none_or(|d| d.visibility_state() == VisibilityState::Visible);
                if visible {
                    on_event(event);
                }
            });
            if target
                .add_event_listener_with_callback(name, callback.as_ref().unchecked_ref())
                .is_ok()
            {
                listeners.push(Listener {
                    target,
                    name,
                    callback,
                });
            }
        };
        add(window.clone().into(), "online", NetworkEvent::Online, None);
        add(
            window.clone().into(),
            "offline",
            NetworkEvent::Offline,
            None,
        );
        if let Some(document) = window.document() {
            add(
                document.clone().into(),
                "visibilitychange",
                NetworkEvent::Visible,
                Some(document),
            );
        }
        NetworkListeners { listeners }
    }
}

impl Drop for NetworkListeners {
    fn drop(&mut self) {
        for l in &self.listeners {
            let _ = l
                .target
                .remove_event_listener_with_callback(l.name, l.callback.as_ref().unchecked_ref());
        }
    }
}
