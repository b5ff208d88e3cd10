//! imlogin: the browser login module for IM services, as a WebAssembly
//! module that exports the JS `LoginManager`.
//!
//! The logic lives in [`imlogin_core`], target-agnostic and free of I/O:
//! the login machine ([`LoginMachine`]), the tab group
//! ([`tab_group::TabGroup`]) and the session record. This crate is their
//! browser driver (`web/`, wasm32 only): it wires the tab group, and
//! through it the machine, to a WebSocket, timers, Web Storage, Web Locks,
//! a BroadcastChannel and the browser's events, and calls the app's
//! listeners and hooks. Everything of `imlogin_core` is re-exported here,
//! so that Rust code (the native driver, the reference server's tests) can
//! name it through either crate.

pub use imlogin_core::*;

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub use web::LoginManager;
