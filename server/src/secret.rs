//! Secrets: a redacting string wrapper, random token generation and the
//! one-way token hash that the store keeps instead of the token.

use core::fmt;
use core::str::FromStr;

use sha2::{Digest, Sha256};

/// A secret string (token, AppSecret) whose `Debug` and `Display` never show
/// the value. Use [`Secret::expose`] where the value itself is needed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Secret {
    type Err = core::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Reads a JSON string (a password in a request body) without ever
/// showing it in `Debug` output.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// `bytes` random bytes from the operating system's CSPRNG, as lower-case
/// hex (`2 * bytes` characters).
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(to_hex(&buf))
}

/// A new token: 128 bits from the OS CSPRNG as 32 hex characters.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn generate_token() -> Result<Secret, getrandom::Error> {
    random_hex(16).map(Secret)
}

/// The stored form of a token: lower-case hex SHA-256. Tokens are either
/// generated with 128 bits of entropy or chosen by an app server, so a fast
/// hash is enough to keep a leaked database from yielding usable tokens.
pub fn hash_token(token: &str) -> String {
    to_hex(&Sha256::digest(token.as_bytes()))
}

/// Whether `token` hashes to `stored`, compared in constant time.
pub fn token_matches(token: &str, stored: &str) -> bool {
    imlogin_protocol::checksum::constant_time_eq_ignore_ascii_case(
        hash_token(token).as_bytes(),
        stored.as_bytes(),
    )
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}{s}").contains("hunter2"));
    }

    #[test]
    fn generated_tokens_are_32_hex_and_differ() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_eq!(a.expose().len(), 32);
        assert!(a.expose().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn token_hash_round_trips() {
        let h = hash_token("tok");
        assert!(token_matches("tok", &h));
        assert!(!token_matches("tok2", &h));
    }
}
