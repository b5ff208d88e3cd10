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
    fn field_error_names_the_field() {
        let e = check_device_id(&"d".repeat(65)).unwrap_err();
        assert_eq!(e.to_string(), "deviceId is too long");
    }
}
