//! The cryptography of device-bound sessions (docs/protocol.md,
//! "Device-bound sessions"): reading a device's P-256 public key, checking
//! a resume's ECDSA signature, drawing a resume ticket and hashing it for
//! storage. Every input here comes from the network: each function answers
//! bad bytes with a refusal, never a panic.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};

use crate::secret::{hash_token, Secret};

/// A device's public key, read from its `deviceKey` (base64url of the
/// 65-byte uncompressed SEC1 point).
#[derive(Debug, Clone)]
pub struct DeviceKey(VerifyingKey);

impl DeviceKey {
    /// Reads `deviceKey`; `None` unless it is the base64url of a 65-byte
    /// uncompressed point on P-256 (not the identity).
    pub fn parse(encoded: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        // Uncompressed only: the form WebCrypto exports, and one spelling
        // per key, so that the stored key compares as text.
        if bytes.len() != 65 || bytes[0] != 0x04 {
            return None;
        }
        VerifyingKey::from_sec1_bytes(&bytes).ok().map(DeviceKey)
    }

    /// Whether `sig` (base64url of the 64-byte r‖s) is this key's ECDSA
    /// P-256/SHA-256 signature of `message`. Both `s` and `n − s` verify
    /// (WebCrypto makes either); a signature with `r` or `s` zero or not
    /// below the group order never does.
    pub fn verifies(&self, message: &[u8], sig: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(sig) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.0.verify(message, &signature).is_ok()
    }
}

/// A new resume ticket: 32 bytes from the OS CSPRNG, base64url without
/// padding (43 characters).
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn new_ticket() -> Result<Secret, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
}

/// The stored form of a ticket: lower-case hex SHA-256, as for tokens (a
/// ticket carries 256 random bits, so a fast hash is enough).
pub fn hash_ticket(ticket: &str) -> String {
    hash_token(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;

    fn key() -> SigningKey {
        SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    fn public(key: &SigningKey) -> String {
        URL_SAFE_NO_PAD.encode(key.verifying_key().to_sec1_point(false).as_bytes())
    }

    fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
        let sig: Signature = key.sign(message);
        sig.to_bytes().to_vec()
    }

    #[test]
    fn a_signature_verifies_for_its_message_and_key_only() {
        let key = key();
        let device = DeviceKey::parse(&public(&key)).expect("a valid key");
        let sig = URL_SAFE_NO_PAD.encode(sign(&key, b"hello"));
        assert!(device.verifies(b"hello", &sig));
        assert!(!device.verifies(b"hellp", &sig));
        let other = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let other_sig = URL_SAFE_NO_PAD.encode(sign(&other, b"hello"));
        assert!(!device.verifies(b"hello", &other_sig));
    }

    #[test]
    fn high_s_verifies_and_zero_or_out_of_range_never_does() {
        let key = key();
        let device = DeviceKey::parse(&public(&key)).unwrap();
        let sig = Signature::from_slice(&sign(&key, b"m")).unwrap();
        // The other of (r, s) and (r, n − s): one of them is high-S.
        let (r, s) = sig.split_scalars();
        let flipped = Signature::from_scalars(r, -*s).unwrap();
        let both = [sig, flipped];
        assert!(both.iter().any(|s| s.normalize_s() != *s), "one is high-S");
        for s in both {
            assert!(device.verifies(b"m", &URL_SAFE_NO_PAD.encode(s.to_bytes())));
        }
        for bad in [[0u8; 64], [0xff; 64]] {
            assert!(!device.verifies(b"m", &URL_SAFE_NO_PAD.encode(bad)));
        }
        let mut zero_s = sign(&key, b"m");
        zero_s[32..].fill(0);
        assert!(!device.verifies(b"m", &URL_SAFE_NO_PAD.encode(zero_s)));
        for malformed in ["", "!!", "AAAA", &"A".repeat(86), &"A".repeat(87)] {
            assert!(!device.verifies(b"m", malformed));
        }
    }

    #[test]
    fn only_uncompressed_points_on_the_curve_are_keys() {
        let key = key();
        let good = key.verifying_key().to_sec1_point(false);
        assert!(DeviceKey::parse(&URL_SAFE_NO_PAD.encode(good.as_bytes())).is_some());
        let compressed = key.verifying_key().to_sec1_point(true);
        assert!(DeviceKey::parse(&URL_SAFE_NO_PAD.encode(compressed.as_bytes())).is_none());
        let mut off_curve = good.as_bytes().to_vec();
        off_curve[64] ^= 1;
        assert!(DeviceKey::parse(&URL_SAFE_NO_PAD.encode(&off_curve)).is_none());
        let mut zero = vec![0u8; 65];
        zero[0] = 4;
        assert!(DeviceKey::parse(&URL_SAFE_NO_PAD.encode(&zero)).is_none());
        for malformed in ["", "%%%", &"A".repeat(87), &"_".repeat(87)] {
            assert!(DeviceKey::parse(malformed).is_none());
        }
    }

    #[test]
    fn tickets_are_43_fresh_characters_and_hash_like_tokens() {
        let a = new_ticket().unwrap();
        let b = new_ticket().unwrap();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        assert!(imlogin_protocol::limits::check_ticket(a.expose()).is_ok());
        assert_eq!(hash_ticket(a.expose()).len(), 64);
    }
}
