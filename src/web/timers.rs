//! The driver's one `setTimeout`: armed for the machine's `poll_timeout()`.
//!
//! The callback closure lives as long as the manager (so a firing timer
//! never frees the closure it runs in); at most one handle is armed, and
//! dropping the timer clears it.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::js;

/// One timer, re-armed for each new deadline.
pub struct WakeTimer {
    callback: Closure<dyn FnMut()>,
    /// The armed deadline (on `performance.now()`'s clock) and its handle.
    armed: Option<(f64, JsValue)>,
}

impl WakeTimer {
    /// A timer whose callback calls `on_fire()`.
    pub fn new(on_fire: impl Fn() + 'static) -> Self {
        WakeTimer {
            callback: Closure::<dyn FnMut()>::new(on_fire),
            armed: None,
        }
    }

    /// Arms the timer for `deadline` (or disarms it for `None`); a deadline
    /// already armed is left alone.
    pub fn arm(&mut self, deadline: Option<f64>) {
        if self.armed.as_ref().map(|(at, _)| *at) == deadline {
            return;
        }
        if let Some((_, handle)) = self.armed.take() {
            js::clear_timeout(&handle);
        }
        if let Some(at) = deadline {
            let delay_ms = (at - js::performance_now()).max(0.0);
            let handle = js::set_timeout(self.callback.as_ref().unchecked_ref(), delay_ms);
            self.armed = Some((at, handle));
        }
    }

    /// Forgets the handle of the timer that has just fired.
    pub fn fired(&mut self) {
        self.armed = None;
    }
}

impl Drop for WakeTimer {
    fn drop(&mut self) {
        if let Some((_, handle)) = self.armed.take() {
            js::clear_timeout(&handle);
        }
    }
}
