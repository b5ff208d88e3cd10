//! The imlogin wire protocol, shared by the browser module and the server.
//!
//! Link frames are JSON text frames over one WebSocket, tagged by `"t"`
//! ([`ClientFrame`], [`ServerFrame`]). Login outcomes use NIM's numbering
//! ([`LoginCode`]), which also answers the two questions every party asks
//! of a failure: may it be retried ([`LoginCode::is_retryable`]) and does it
//! invalidate the persisted session ([`LoginCode::clears_session`]).
//!
//! Every frame has one serde definition, used by the server, the native
//! driver and the browser alike; [`ClientFrame::to_json`] and
//! [`ServerFrame::to_json`] write it, and `tests/fixtures/` pins the exact
//! text. Input from the network is decoded with [`decode_client_frame`] and
//! [`decode_server_frame`], which read it with that same derive, enforce
//! the limits of [`limits`] and return a typed [`DecodeError`] for every bad
//! input; they never panic.
//! The server API's `CheckSum` header is computed and verified in
//! [`checksum`].

pub mod checksum;
pub mod close;
mod codes;
mod decode;
mod fields;
mod frames;
pub mod limits;

pub use codes::LoginCode;
pub use decode::{
    decode_client_frame, decode_server_frame, decode_server_value, decode_server_variant,
    DecodeError,
};
pub use fields::field_names;
pub use frames::{
    Client, ClientFrame, ClientType, ClientsChange, Credential, KickReason, LoginFrame, LoginMode,
    ResumeTicket, ServerFrame, CLIENT_TAGS, RESUME_SIGNATURE_CONTEXT, SERVER_TAGS,
};
pub use limits::FieldError;

/// The `sdk` value the browser module sends: `imlogin/<crate version>`.
pub const SDK_NAME: &str = concat!("imlogin/", env!("CARGO_PKG_VERSION"));
