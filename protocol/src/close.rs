//! WebSocket close codes used on the link (RFC 6455 §7.4 numbering).

/// Normal closure: sent after `loginErr`, `kicked` or a logout.
pub const NORMAL: u16 = 1000;
/// A binary frame was received; the link only carries text.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// A text frame was not valid UTF-8.
pub const INVALID_PAYLOAD: u16 = 1007;
/// Malformed JSON, an unknown tag, a frame before login, or a second login.
pub const POLICY_VIOLATION: u16 = 1008;
/// A frame payload over [`crate::limits::MAX_FRAME_BYTES`].
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// The server is restarting: reconnect with the usual jittered backoff.
pub const SERVICE_RESTART: u16 = 1012;
/// Try again later: sent after a 416 `loginErr` carrying `retryAfterMs`.
pub const TRY_AGAIN_LATER: u16 = 1013;
