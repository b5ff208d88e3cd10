//! The `signal` of `login` and `autoLogin`: an `AbortSignal` whose abort
//! cancels the call (the core's [`abort`](imlogin_core::tab_group::TabGroup::abort)
//! input), watched while the call is pending.

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

/// An `abort` listener on a call's signal, removed when the call settles
/// (this is dropped) so that a long-lived signal keeps nothing alive.
pub struct AbortWatch {
    signal: AbortSignal,
    listener: Closure<dyn FnMut()>,
}

impl AbortWatch {
    /// Calls `on_abort` once when `signal` aborts.
    pub fn new(signal: AbortSignal, on_abort: impl FnOnce() + 'static) -> AbortWatch {
        let mut on_abort = Some(on_abort);
        let listener = Closure::<dyn FnMut()>::new(move || {
            if let Some(f) = on_abort.take() {
                f();
            }
        });
        let _ = signal.add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref());
        AbortWatch { signal, listener }
    }

    /// Why the signal aborted (`signal.reason`), for the error's `cause`.
    pub fn reason(&self) -> JsValue {
        self.signal.reason()
    }
}

impl Drop for AbortWatch {
    fn drop(&mut self) {
        let listener: &Function = self.listener.as_ref().unchecked_ref();
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", listener);
    }
}
