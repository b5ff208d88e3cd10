//! The sans-IO cores of imlogin: the login machine, the tab group and the
//! session record. Nothing here performs I/O, reads a clock, draws entropy
//! or calls app code; it builds for any target, and the same code runs in
//! the browser package (the `imlogin` crate, which drives it from
//! WebAssembly) and natively (`imlogin-native`, and the tests here, on a
//! virtual clock).
//!
//! [`LoginMachine`] is the login logic, a deterministic state machine in
//! the style of quinn-proto and str0m: inputs carry `now`, effects are
//! polled as [`Output`]s, and one deadline ([`LoginMachine::poll_timeout`])
//! is all the timing a driver needs.
//!
//! [`tab_group::TabGroup`] is the second core: it owns a tab's machine and
//! plays the tab's part in the group of tabs that share one connection
//! (`tabs: "shared"`), in the same style.
//!
//! App callbacks are never called from here: where the app must be asked
//! something (a token for `tokenProvider`, a delay for `reconnectDelay`),
//! the machine asks its driver with an output ([`Output::FetchToken`],
//! [`Output::ChooseDelay`]) and carries on when the answer comes back as an
//! input; the driver calls the app after it is done with the core.
//!
//! A driver's loop, in short: after every input, drain the outputs, then
//! sleep until the one deadline the machine shows.
//!
//! ```
//! use imlogin_core::{Config, LoginMachine, Output};
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
pub mod device;
mod error;
mod machine;
mod output;
mod rng;
mod session;
mod status;
pub mod tab_group;
mod timer;

pub use config::{BackoffConfig, Config, ConfigError, MAX_DURATION_MS};
pub use error::LoginError;
pub use imlogin_protocol as protocol;
pub use machine::LoginMachine;
pub use output::{ClientsUpdate, ConnId, Disconnect, Event, Output, RequestId};
pub use rng::Rng;
pub use session::{Credentials, StoredSession, StoredSessionError, Ticket, STORED_SESSION_VERSION};
pub use status::Status;
