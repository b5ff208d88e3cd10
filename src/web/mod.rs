//! The browser driver (wasm32 only): wires [`crate::LoginMachine`] to a
//! WebSocket, timers, Web Storage and the browser's online/offline and
//! visibility events, and exports the JS `LoginManager`.
//!
//! The stack, each crate for its own job: wasm-bindgen and js-sys (the JS
//! boundary), web-sys (timers, online/offline, visibility, the `storage`
//! event), gloo-net (the WebSocket and the LBS request), gloo-storage
//! (localStorage/sessionStorage), serde-wasm-bindgen (options in, event
//! payloads and errors out) and wasm-bindgen-futures (promises and tasks).
//!
//! One file per concern: [`js`] (the few globals used), [`options`]
//! (constructor options → `Config`), [`lbs`] (link discovery), [`storage`]
//! (session record and device id), [`transport`] (one WebSocket),
//! [`timers`] (the one `setTimeout`, armed for the machine's deadline), [`network`]
//! (online/offline/visibility listeners), [`payloads`] (JS shapes of errors
//! and events), [`bindings`] (the exported class), [`driver`] (the pump that
//! runs the machine, and the manager's role in its tab group), [`tabs`] (Web
//! Locks + BroadcastChannel), [`debug`] (console logging), [`types`]
//! (TypeScript).
//!
//! Every closure handed to the browser is owned by the object that
//! registered it and unregistered on drop; callbacks hold only a weak
//! reference to the driver, so `free()` ends everything.

mod bindings;
mod debug;
mod driver;
mod js;
mod lbs;
mod network;
mod options;
mod payloads;
mod storage;
mod tabs;
mod timers;
mod transport;
mod types;
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
