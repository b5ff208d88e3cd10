//! The browser's `online`/`offline` (window) and `visibilitychange`
//! (document) events, listened to for the manager's lifetime.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Document, EventTarget, StorageEvent, VisibilityState, Window};

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

/// Watches another tab remove one localStorage/sessionStorage key (the
/// `storage` event), for the per-tab fallback of shared tabs: a logout in
/// any tab clears the session record, and every tab logs out with it.
pub struct StorageWatch {
    window: Window,
    callback: Closure<dyn FnMut(web_sys::Event)>,
}

impl StorageWatch {
    /// Calls `on_removed` when another tab removes `key`.
    pub fn new(key: String, on_removed: impl Fn() + 'static) -> Option<StorageWatch> {
        let window = web_sys::window()?;
        let callback = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(e) = e.dyn_ref::<StorageEvent>() else {
                return;
            };
            if e.key().is_some_and(|k| k == key) && e.new_value().is_none() {
                on_removed();
            }
        });
        window
            .add_event_listener_with_callback("storage", callback.as_ref().unchecked_ref())
            .ok()?;
        Some(StorageWatch { window, callback })
    }
}

impl Drop for StorageWatch {
    fn drop(&mut self) {
        let _ = self
            .window
            .remove_event_listener_with_callback("storage", self.callback.as_ref().unchecked_ref());
    }
}
