//! NIM's server API signature: `CheckSum = hex(sha1(AppSecret + Nonce + CurTime))`.

use sha1::{Digest, Sha1};

/// The lower-case hex `CheckSum` for a request.
pub fn checksum(app_secret: &str, nonce: &str, cur_time: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(app_secret.as_bytes());
    hasher.update(nonce.as_bytes());
    hasher.update(cur_time.as_bytes());
    let digest = hasher.finalize();
    let mut out = String::with_capacity(40);
    for byte in digest {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0x0f));
    }
    out
}

/// Whether `given` is the right `CheckSum` for the request. Hex digits are
/// compared case-insensitively, in time independent of where they differ.
pub fn verify_checksum(app_secret: &str, nonce: &str, cur_time: &str, given: &str) -> bool {
    let expected = checksum(app_secret, nonce, cur_time);
    constant_time_eq_ignore_ascii_case(expected.as_bytes(), given.as_bytes())
}

/// Byte-wise equality, ASCII case folded, that looks at every byte of equal
/// length inputs whatever they hold.
pub fn constant_time_eq_ignore_ascii_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x.to_ascii_lowercase() ^ y.to_ascii_lowercase();
    }
    diff == 0
}

fn hex_digit(n: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(n & 0x0f)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_sha1() {
        // sha1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
        assert_eq!(
            checksum("a", "b", "c"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn verify_accepts_upper_case_and_rejects_others() {
        let sum = checksum("secret", "nonce", "1700000000");
        assert!(verify_checksum("secret", "nonce", "1700000000", &sum));
        assert!(verify_checksum(
            "secret",
            "nonce",
            "1700000000",
            &sum.to_uppercase()
        ));
        assert!(!verify_checksum("secret", "nonce", "1700000001", &sum));
        assert!(!verify_checksum(
            "secret",
            "nonce",
            "1700000000",
            &sum[..39]
        ));
        assert!(!verify_checksum("secret", "nonce", "1700000000", ""));
    }
}
