//! A manager that holds or resumes a session stays alive when the app
//! drops its last reference to it, until `logout()` (or the session's end)
//! or `free()`, as socket.io and partysocket objects do: the JS object of
//! the `LoginManager` is held strongly meanwhile (`lifetime.js` says how it
//! is found), so wasm-bindgen's finalizer never frees it behind the app's
//! back.

use std::cell::{Cell, RefCell};
use std::rc::Weak;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;

use super::driver::Driver;

#[wasm_bindgen(module = "/src/web/lifetime.js")]
extern "C" {
    #[wasm_bindgen(js_name = watchConstruction)]
    fn watch_construction(probe: JsValue, on_constructed: &js_sys::Function);

    /// One manager's hold on its JS object.
    pub type Anchor;

    #[wasm_bindgen(constructor)]
    pub fn new() -> Anchor;

    #[wasm_bindgen(method)]
    fn adopt(this: &Anchor, object: &JsValue);

    /// Holds the JS object strongly (`true`) or only weakly (`false`).
    #[wasm_bindgen(method)]
    pub fn hold(this: &Anchor, yes: bool);
}

thread_local! {
    /// Whether the class's constructor is watched yet.
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    /// The driver of the manager being constructed, until its JS object is
    /// made (right after the Rust constructor returns).
    static CONSTRUCTING: RefCell<Option<Weak<RefCell<Driver>>>> = const { RefCell::new(None) };
    /// The watcher's callback, for the module's lifetime.
    static ON_CONSTRUCTED: Closure<dyn FnMut(JsValue)> = Closure::new(|object: JsValue| {
        let driver = CONSTRUCTING.with(|c| c.borrow_mut().take());
        if let Some(driver) = driver.and_then(|w| w.upgrade()) {
            if let Ok(driver) = driver.try_borrow() {
                driver.anchor.adopt(&object);
            }
        }
    });
}

/// Called by the constructor as it returns `driver`'s manager: the JS
/// object made for it next is adopted by its anchor. `probe` makes an
/// object of the class, the first time only (to find its prototype).
pub fn constructing(driver: Weak<RefCell<Driver>>, probe: impl FnOnce() -> JsValue) {
    if !WATCHING.with(|w| w.replace(true)) {
        ON_CONSTRUCTED.with(|callback| {
            watch_construction(probe(), callback.as_ref().unchecked_ref());
        });
    }
    CONSTRUCTING.with(|c| *c.borrow_mut() = Some(driver));
}
