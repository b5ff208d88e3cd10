//! The browser driver (wasm32 only): wires this manager's tab-group core
//! ([`crate::tab_group::TabGroup`], which owns its
//! [`crate::LoginMachine`]) to a WebSocket, a timer, Web Storage, Web
//! Locks, a BroadcastChannel and the browser's online/offline and
//! visibility events, and exports the JS `LoginManager`.
//!
//! The stack, each crate for its own job: wasm-bindgen and js-sys (the JS
//! boundary), web-sys (online/offline, visibility, the `storage` event),
//! gloo-net (the WebSocket and the LBS request), gloo-storage
//! (localStorage/sessionStorage), serde-wasm-bindgen (options in, event
//! payloads and errors out, server frames in, the tab group's messages in
//! and out) and wasm-bindgen-futures (promises and tasks).
//!
//! One file per concern: [`js`] (the few globals used), [`options`]
//! (constructor and call options → `Config`), [`lbs`] (link discovery),
//! [`storage`] (session record and device id), [`transport`] (one
//! WebSocket), [`wire`] (server frames from their text), [`timers`] (the
//! one `setTimeout`, armed for the core's deadline), [`network`]
//! (online/offline/visibility and `storage` listeners), [`group`] (Web
//! Locks + BroadcastChannel for the tab group), [`lifetime`] (a manager
//! that holds a session outlives the app's last reference), [`payloads`]
//! (JS shapes of errors and events, the `LoginError` class of `api.js`),
//! [`listeners`] (`on`/`once`/`off`), [`views`] (getters that keep their
//! object while its value is unchanged), [`abort`] (a call's
//! `AbortSignal`), [`bindings`] (the exported class),
//! [`driver`] (the pump that runs the core and calls app code outside its
//! borrow), [`debug`] (console logging), [`types`] (TypeScript).
//!
//! Every closure handed to the browser is owned by the object that
//! registered it and unregistered on drop; callbacks hold only a weak
//! reference to the driver, so `free()` ends everything.

mod abort;
mod bindings;
mod debug;
mod device_key;
mod driver;
mod group;
mod js;
mod lbs;
mod lifetime;
mod listeners;
mod network;
mod options;
mod payloads;
mod storage;
mod timers;
mod transport;
mod types;
mod views;
mod wire;

pub use bindings::LoginManager;

/// The package's allocator: a small free-list allocator (coalescing,
/// address-sorted) in place of dlmalloc, which is twice its size; the
/// module's heap stays small (a session, a few frames), so its linear-time
/// free list costs nothing noticeable.
#[cfg(feature = "small-allocator")]
#[global_allocator]
// SAFETY: wasm32-unknown-unknown without the atomics feature runs one
// thread, which is what AssumeSingleThreaded requires.
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
