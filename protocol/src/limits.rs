//! Field limits of the link protocol and the validators that enforce them.
//!
//! `accid` is normalized to lower case at every boundary (NIM's rule); every
//! other field is checked, never altered.

use core::fmt;

/// Largest accepted client frame payload, in bytes (larger → close 1009).
pub const MAX_FRAME_BYTES: usize = 4096;
/// Largest accepted server frame payload, in bytes, on the client side. A
/// `clients` list of many sessions may be longer than a client frame.
pub const MAX_SERVER_FRAME_BYTES: usize = 256 * 1024;
/// `accid`: 1–32 characters of `[A-Za-z0-9_@.-]`.
pub const ACCID_MAX: usize = 32;
/// `token`: 1–128 printable ASCII characters.
pub const TOKEN_MAX: usize = 128;
/// `deviceId`: 1–64 printable ASCII characters.
pub const DEVICE_ID_MAX: usize = 64;
/// `customTag`: at most 32 printable ASCII characters.
pub const CUSTOM_TAG_MAX: usize = 32;
/// `sdk`: 1–64 printable ASCII characters.
pub const SDK_MAX: usize = 64;
/// `appKey`: 1–64 printable ASCII characters (NIM app keys are 32 hex digits;
/// NIM sets no limit, this one keeps frames bounded).
pub const APP_KEY_MAX: usize = 64;
/// `deviceKey`: the 65-byte uncompressed SEC1 P-256 point, base64url
/// without padding: exactly 87 characters.
pub const DEVICE_KEY_LEN: usize = 87;
/// `ticket`: 32 random bytes, base64url without padding: exactly 43
/// characters.
pub const TICKET_LEN: usize = 43;
/// `nonce` of a resume: 16 random bytes, base64url without padding:
/// exactly 22 characters.
pub const NONCE_LEN: usize = 22;
/// `sig` of a resume: the 64-byte r‖s ECDSA signature, base64url without
/// padding: exactly 86 characters.
pub const SIG_LEN: usize = 86;

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The field is required and absent (or `null`).
    Missing,
    /// The field has the wrong JSON type or an unknown enum value.
    WrongType,
    /// The field is shorter than its minimum (usually: empty).
    TooShort,
    /// The field is longer than its maximum.
    TooLong,
    /// The field holds characters it may not hold.
    BadChars,
    /// The field may not appear in this login (a `ticket` together with a
    /// `token`, a `ticket` in a manual login, a `deviceKey` or `ts` without
    /// the credential it belongs to).
    NotAllowed,
}

/// A field that failed validation: answered with `loginErr` 414 on the link,
/// and with `{"code":414}` on the server API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// The field's wire name (`"accid"`, `"token"`, …).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: Problem,
}

impl FieldError {
    /// A new error for `field`.
    pub const fn new(field: &'static str, problem: Problem) -> Self {
        FieldError { field, problem }
    }

    /// A short explanation of the problem, without the field name.
    pub const fn reason(&self) -> &'static str {
        match self.problem {
            Problem::Missing => "is required",
            Problem::WrongType => "has the wrong type or value",
            Problem::TooShort => "is empty",
            Problem::TooLong => "is too long",
            Problem::BadChars => "has characters that are not allowed",
            Problem::NotAllowed => "is not allowed in this login",
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field)?;
        f.write_str(" ")?;
        f.write_str(self.reason())
    }
}

impl std::error::Error for FieldError {}

fn is_accid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '.' | '-')
}

fn is_printable_ascii(c: char) -> bool {
    (' '..='~').contains(&c)
}

fn check(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
    allowed: fn(char) -> bool,
) -> Result<(), FieldError> {
    // Counting chars, not bytes, so that a multi-byte character is reported
    // as a bad character rather than as a length problem.
    let len = value.chars().count();
    if len < min {
        return Err(FieldError::new(field, Problem::TooShort));
    }
    if len > max {
        return Err(FieldError::new(field, Problem::TooLong));
    }
    if !value.chars().all(allowed) {
        return Err(FieldError::new(field, Problem::BadChars));
    }
    Ok(())
}

/// Validates an accid and returns it in lower case.
pub fn normalize_accid(accid: &str) -> Result<String, FieldError> {
    check("accid", accid, 1, ACCID_MAX, is_accid_char)?;
    Ok(accid.to_ascii_lowercase())
}

/// Validates a token (1–128 printable ASCII).
pub fn check_token(token: &str) -> Result<(), FieldError> {
    check("token", token, 1, TOKEN_MAX, is_printable_ascii)
}

/// Validates a deviceId (1–64 printable ASCII).
pub fn check_device_id(device_id: &str) -> Result<(), FieldError> {
    check("deviceId", device_id, 1, DEVICE_ID_MAX, is_printable_ascii)
}

/// Validates a customTag (0–32 printable ASCII).
pub fn check_custom_tag(tag: &str) -> Result<(), FieldError> {
    check("customTag", tag, 0, CUSTOM_TAG_MAX, is_printable_ascii)
}

/// Validates an sdk name (1–64 printable ASCII).
pub fn check_sdk(sdk: &str) -> Result<(), FieldError> {
    check("sdk", sdk, 1, SDK_MAX, is_printable_ascii)
}

/// Validates an appKey (1–64 printable ASCII).
pub fn check_app_key(app_key: &str) -> Result<(), FieldError> {
    check("appKey", app_key, 1, APP_KEY_MAX, is_printable_ascii)
}

/// Validates a `deviceKey`: the base64url form of 65 bytes.
pub fn check_device_key(key: &str) -> Result<(), FieldError> {
    check_base64url("deviceKey", key, DEVICE_KEY_LEN)
}

/// Validates a resume `ticket`: the base64url form of 32 bytes.
pub fn check_ticket(ticket: &str) -> Result<(), FieldError> {
    check_base64url("ticket", ticket, TICKET_LEN)
}

/// Validates a resume `nonce`: the base64url form of 16 bytes.
pub fn check_nonce(nonce: &str) -> Result<(), FieldError> {
    check_base64url("nonce", nonce, NONCE_LEN)
}

/// Validates a resume `sig`: the base64url form of 64 bytes.
pub fn check_sig(sig: &str) -> Result<(), FieldError> {
    check_base64url("sig", sig, SIG_LEN)
}

/// The value of one base64url character, `None` for any other character.
fn base64url_value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    })
}

/// Checks that `value` is the canonical unpadded base64url encoding of some
/// bytes, `len` characters long: only the alphabet, and the bits of the last
/// character past the encoded bytes are zero (so that every strict decoder
/// reads it, and one byte string has exactly one spelling).
fn check_base64url(field: &'static str, value: &str, len: usize) -> Result<(), FieldError> {
    check(field, value, len, len, |c| {
        c.is_ascii() && base64url_value(c as u8).is_some()
    })?;
    // `len` characters carry 6·len bits; whole bytes use 8·⌊6·len/8⌋ of them.
    let spare_bits = (6 * len) % 8;
    let last = value.as_bytes()[len - 1];
    match base64url_value(last) {
        Some(v) if v & ((1u8 << spare_bits) - 1) == 0 => Ok(()),
        _ => Err(FieldError::new(field, Problem::BadChars)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accid_is_lowercased_and_limited() {
        assert_eq!(normalize_accid("Alice_01@X.y-Z").unwrap(), "alice_01@x.y-z");
        assert_eq!(normalize_accid(&"a".repeat(32)).unwrap().len(), 32);
        assert_eq!(
            normalize_accid(&"a".repeat(33)).unwrap_err().problem,
            Problem::TooLong
        );
        assert_eq!(normalize_accid("").unwrap_err().problem, Problem::TooShort);
        assert_eq!(
            normalize_accid("a b").unwrap_err().problem,
            Problem::BadChars
        );
        assert_eq!(normalize_accid("ä").unwrap_err().problem, Problem::BadChars);
    }

    #[test]
    fn token_allows_printable_ascii_only() {
        assert!(check_token("a b~!").is_ok());
        assert_eq!(check_token("tab\t").unwrap_err().problem, Problem::BadChars);
        assert_eq!(check_token("😀").unwrap_err().problem, Problem::BadChars);
        assert_eq!(
            check_token(&"t".repeat(129)).unwrap_err().problem,
            Problem::TooLong
        );
        assert!(check_token(&"t".repeat(128)).is_ok());
        assert!(check_custom_tag("").is_ok());
    }

    #[test]
    fn base64url_fields_have_one_length_and_canonical_spelling() {
        assert!(check_ticket(&"A".repeat(43)).is_ok());
        assert!(check_ticket(&format!("{}w", "_".repeat(42))).is_ok());
        // 43 characters hold 258 bits: the last character's 2 low bits are
        // not part of any byte and must be zero.
        assert_eq!(
            check_ticket(&format!("{}B", "A".repeat(42)))
                .unwrap_err()
                .problem,
            Problem::BadChars
        );
        assert_eq!(
            check_ticket(&"A".repeat(42)).unwrap_err().problem,
            Problem::TooShort
        );
        assert_eq!(
            check_ticket(&"A".repeat(44)).unwrap_err().problem,
            Problem::TooLong
        );
        assert_eq!(
            check_ticket(&format!("{}+", "A".repeat(42)))
                .unwrap_err()
                .problem,
            Problem::BadChars
        );
        assert_eq!(
            check_nonce(&format!("{}=", "A".repeat(21)))
                .unwrap_err()
                .problem,
            Problem::BadChars
        );
        assert!(check_nonce(&format!("{}Q", "A".repeat(21))).is_ok());
        assert!(check_nonce(&format!("{}R", "A".repeat(21))).is_err());
        assert!(check_sig(&format!("{}Q", "z".repeat(85))).is_ok());
        assert!(check_device_key(&format!("{}E", "B".repeat(86))).is_ok());
        assert!(check_device_key(&format!("{}F", "B".repeat(86))).is_err());
        assert!(check_sig(&"é".repeat(86)).is_err());
    }

    #[test]
    fn field_error_names_the_field() {
        let e = check_device_id(&"d".repeat(65)).unwrap_err();
        assert_eq!(e.to_string(), "deviceId is too long");
    }
}
