//! imlogin: the browser login module for IM services.
//!
//! The login logic is [`LoginMachine`], a deterministic state machine that
//! performs no I/O and reads no clock (the style of quinn-proto and str0m):
//! inputs carry `now`, effects are polled as [`Output`]s. The browser driver
//! in `web/` (wasm32 only) wires it to a WebSocket, timers, storage and the
//! browser's online/offline and visibility events; the native tests drive it
//! with a virtual clock.
//!
//! [`tab_group::TabGroup`] is the second core: it owns a tab's machine and
//! plays the tab's part in the group of tabs that share one connection
//! (`tabs: "shared"`), in the same style.
//!
//! A driver's loop, in short: after every input, drain the outputs, then
//! sleep until the one deadline the machine shows.
//!
//! ```
//! use imlogin::{Config, LoginMachine, Output};
//!
//! let mut machine = LoginMachine::new(Config::new("app-key", "device-1"), 42);
//! let mut now = 0.0;
//! machine.login(now, "alice", "secret-token", false);
//! loop {
//!     while let Some(output) = machine.poll_output() {
//!         match output {
//!             Output::Connect(_conn) => { /* open a WebSocket, report its events */ }
//!             _ => { /* send, close, persist, emit, settle … */ }
//!         }
//!     }
//!     // Sleep until the deadline (or an input arrives, e.g. the socket's
//!     // events); here no socket ever answers, so time just runs on.
//!     match machine.poll_timeout() {
//!         Some(at) if now < 60_000.0 => {
//!             now = at;
//!             machine.handle_timeout(now);
//!         }
//!         _ => break,
//!     }
//! }
//! // Three connection attempts that never opened, then the manual login
//! // gave up.
//! assert_eq!(machine.status().as_str(), "loggedOut");
//! ```

mod config;
mod error;
mod machine;
mod output;
mod rng;
mod session;
mod status;
pub mod tab_group;
mod tabs;
mod timer;

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub use web::LoginManager;

pub use config::{BackoffConfig, Config, ConfigError, MAX_DURATION_MS};
pub use error::LoginError;
pub use imlogin_protocol as protocol;
pub use machine::{DelayHook, LoginMachine};
pub use output::{ConnId, Event, Output, RequestId};
pub use rng::Rng;
pub use session::{Credentials, StoredSession, StoredSessionError, STORED_SESSION_VERSION};
pub use status::Status;
pub use tabs::{TabCall, TabMessage};
