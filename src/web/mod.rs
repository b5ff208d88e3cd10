//! The browser driver (wasm32 only): wires [`crate::LoginMachine`] to a
//! WebSocket, timers, Web Storage and the browser's online/offline and
//! visibility events, and exports the JS `LoginManager`.
//!
//! One file per concern: [`js`] (the few globals used), [`options`]
//! (constructor options → `Config`), [`lbs`] (link discovery), [`storage`] (session record and device
//! id), [`transport`] (one WebSocket), [`timers`] (one `setTimeout` per
//! machine timer), [`network`] (online/offline/visibility listeners),
//! [`payloads`] (JS shapes of errors and events), [`bindings`] (the exported
//! class and the pump that runs the machine), [`types`] (TypeScript).
//!
//! Every closure handed to the browser is owned by the object that
//! registered it and unregistered on drop; callbacks hold only a weak
//! reference to the driver, so `free()` ends everything.

mod bindings;
mod js;
mod lbs;
mod network;
mod options;
mod payloads;
mod storage;
mod timers;
mod transport;
mod types;

pub use bindings::LoginManager;
