//! Device binding (docs/protocol.md, "Device-bound sessions"): what the
//! machine asks of the device key and what it gets back, and the base64url
//! encoding the wire uses.
//!
//! The key itself lives with the driver (WebCrypto and IndexedDB in the
//! browser, a P-256 crate natively): the machine asks for a
//! [`ProofRequest`] with [`crate::Output::Prove`] and gets a
//! [`DeviceProof`] back through `LoginMachine::handle_proof`, in the style
//! of dynamic tokens. The driver also reads the wall clock and draws the
//! nonce: the machine does neither.

use core::fmt;

use imlogin_protocol::LoginFrame;

/// `bytes` in base64url without padding (RFC 4648 §5), the wire form of
/// public keys, signatures and nonces.
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// What the machine needs from the device key for one login attempt.
#[derive(Clone, PartialEq)]
pub enum ProofRequest {
    /// A login with a token: only the public key, which the server binds
    /// the ticket it issues to.
    PublicKey,
    /// A resume with a ticket: a signature over
    /// [`LoginFrame::resume_message`] with
    /// these fields and a `ts` and `nonce` the driver picks (`ts`: its wall
    /// clock plus `skew_ms`, its estimate of the server's clock).
    Resume(ResumeFields),
}

/// The fields of a resume the driver signs (see
/// [`LoginFrame::resume_message`]).
#[derive(Clone, PartialEq)]
pub struct ResumeFields {
    /// The app's key.
    pub app_key: String,
    /// The accid as the login frame sends it.
    pub accid: String,
    /// The device id of the login frame.
    pub device_id: String,
    /// The resume ticket: a secret, redacted in `Debug`.
    pub ticket: String,
    /// The server's clock minus the device's wall clock, in ms, as last
    /// measured at a login (0 when never measured).
    pub skew_ms: f64,
}

impl ResumeFields {
    /// The text to sign for this `ts` and `nonce`.
    pub fn message(&self, ts: u64, nonce: &str) -> String {
        LoginFrame::resume_message(
            &self.app_key,
            &self.accid,
            &self.device_id,
            &self.ticket,
            ts,
            nonce,
        )
    }
}

impl fmt::Debug for ProofRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofRequest::PublicKey => f.write_str("PublicKey"),
            ProofRequest::Resume(fields) => f
                .debug_struct("Resume")
                .field("accid", &fields.accid)
                .field("device_id", &fields.device_id)
                .field("ticket", &"<redacted>")
                .field("skew_ms", &fields.skew_ms)
                .finish(),
        }
    }
}

/// The driver's answer to a [`ProofRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceProof {
    /// The public key, base64url of the 65-byte uncompressed SEC1 point.
    pub device_key: String,
    /// The device's wall clock when it answered, ms since the Unix epoch:
    /// with the server's `serverTime` it gives the clock offset the next
    /// resume needs.
    pub wall_ms: f64,
    /// For [`ProofRequest::Resume`]: the signed resume.
    pub resume: Option<ResumeProof>,
}

/// A signed resume: the `ts`, `nonce` and `sig` of the login frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeProof {
    /// The driver's estimate of the server's clock, ms since the epoch.
    pub ts: u64,
    /// 16 random bytes, base64url.
    pub nonce: String,
    /// The P1363 (r‖s) ECDSA P-256/SHA-256 signature over the resume
    /// message, base64url.
    pub sig: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_rfc_4648_vectors_without_padding() {
        let cases = [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, expected) in cases {
            assert_eq!(base64url(input.as_bytes()), expected);
        }
        assert_eq!(base64url(&[0xfb, 0xff, 0xbf]), "-_-_");
        assert_eq!(base64url(&[0u8; 32]).len(), 43);
        assert_eq!(base64url(&[0u8; 16]).len(), 22);
    }

    #[test]
    fn the_fields_sign_the_protocols_resume_message() {
        let fields = ResumeFields {
            app_key: "key".into(),
            accid: "alice".into(),
            device_id: "dev".into(),
            ticket: "tkt".into(),
            skew_ms: 0.0,
        };
        assert_eq!(
            fields.message(1_700_000_000_000, "n"),
            "imlogin-resume-v1\nkey\nalice\ndev\ntkt\n1700000000000\nn"
        );
    }

    #[test]
    fn debug_never_shows_a_ticket() {
        let request = ProofRequest::Resume(ResumeFields {
            app_key: "k".into(),
            accid: "a".into(),
            device_id: "d".into(),
            ticket: "secret-ticket".into(),
            skew_ms: 0.0,
        });
        assert!(!format!("{request:?}").contains("secret-ticket"));
    }
}
