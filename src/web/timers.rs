//! One `setTimeout` per machine timer.
//!
//! Each slot owns one callback closure for the manager's lifetime (so a
//! firing timer never frees the closure it runs in) and at most one armed
//! handle; dropping the slots clears every armed handle.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::js;
use crate::Timer;

/// The five timers' callbacks and armed handles.
pub struct TimerSlots {
    callbacks: Vec<(Timer, Closure<dyn FnMut()>)>,
    armed: Vec<(Timer, JsValue)>,
}

impl TimerSlots {
    /// Slots whose callbacks call `on_fire(timer)`.
    pub fn new(on_fire: impl Fn(Timer) + Clone + 'static) -> Self {
        let callbacks = Timer::ALL
            .iter()
            .map(|&timer| {
                let on_fire = on_fire.clone();
                (timer, Closure::<dyn FnMut()>::new(move || on_fire(timer)))
            })
            .collect();
        TimerSlots {
            callbacks,
            armed: Vec::new(),
        }
    }

    /// Arms `timer` to fire after `delay_ms`, replacing an armed one.
    pub fn set(&mut self, timer: Timer, delay_ms: f64) {
        self.cancel(timer);
        if let Some((_, callback)) = self.callbacks.iter().find(|(t, _)| *t == timer) {
            let handle = js::set_timeout(callback.as_ref().unchecked_ref(), delay_ms.max(0.0));
            self.armed.push((timer, handle));
        }
    }

    /// Disarms `timer`.
    pub fn cancel(&mut self, timer: Timer) {
        if let Some(i) = self.armed.iter().position(|(t, _)| *t == timer) {
            let (_, handle) = self.armed.swap_remove(i);
            js::clear_timeout(&handle);
        }
    }

    /// Forgets the handle of a timer that has just fired.
    pub fn fired(&mut self, timer: Timer) {
        self.armed.retain(|(t, _)| *t != timer);
    }
}

impl Drop for TimerSlots {
    fn drop(&mut self) {
        for (_, handle) in self.armed.drain(..) {
            js::clear_timeout(&handle);
        }
    }
}
