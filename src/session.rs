//! Credentials and the persisted session record.

use core::fmt;

use imlogin_protocol::limits::{self, FieldError};
use serde::{Deserialize, Serialize};

/// An accid and its token, as the app passes them to `login`.
///
/// `Debug` redacts the token: it is a secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The IM account id, lower case.
    pub accid: String,
    /// The account's token.
    pub token: String,
}

impl Credentials {
    /// Validates both fields against the protocol's limits and lower-cases
    /// the accid, so that bad input is refused before any network traffic.
    pub fn new(accid: &str, token: &str) -> Result<Self, FieldError> {
        let accid = limits::normalize_accid(accid)?;
        limits::check_token(token)?;
        Ok(Credentials {
            accid,
            token: token.to_owned(),
        })
    }

    /// An accid without a token yet, for dynamic tokens: every attempt
    /// fetches its own.
    pub(crate) fn accid_only(accid: &str) -> Result<Self, FieldError> {
        let accid = limits::normalize_accid(accid)?;
        Ok(Credentials {
            accid,
            token: String::new(),
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("accid", &self.accid)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// The record persisted after a successful login, so that a reloaded page
/// can log in again by itself: `{"v":1,"accid","token","savedAt"}`.
///
/// Serializes to that record, and deserializes only from a record this
/// version wrote (see [`StoredSession::from_json`] for what is refused).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Record", try_from = "Record")]
pub struct StoredSession {
    /// The credentials that logged in.
    pub credentials: Credentials,
    /// When they last logged in, in ms since the Unix epoch (server time).
    pub saved_at: u64,
}

/// The only record version this build reads and writes.
pub const STORED_SESSION_VERSION: u64 = 1;

/// Why a stored record was refused (it is then removed and treated as absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredSessionError {
    /// Not JSON, or not an object of exactly the expected fields and types.
    Malformed,
    /// A version other than [`STORED_SESSION_VERSION`].
    ForeignVersion,
    /// The accid or token breaks the protocol's limits.
    BadField(FieldError),
}

impl fmt::Display for StoredSessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredSessionError::Malformed => f.write_str("stored session is malformed"),
            StoredSessionError::ForeignVersion => f.write_str("stored session has another version"),
            StoredSessionError::BadField(e) => {
                f.write_str("stored session: ")?;
                fmt::Display::fmt(e, f)
            }
        }
    }
}

impl std::error::Error for StoredSessionError {}

/// The stored form of a [`StoredSession`], field for field.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Record {
    v: u64,
    accid: String,
    token: String,
    saved_at: u64,
}

impl From<StoredSession> for Record {
    fn from(session: StoredSession) -> Record {
        Record {
            v: STORED_SESSION_VERSION,
            accid: session.credentials.accid,
            token: session.credentials.token,
            saved_at: session.saved_at,
        }
    }
}

impl TryFrom<Record> for StoredSession {
    type Error = StoredSessionError;

    fn try_from(record: Record) -> Result<Self, StoredSessionError> {
        if record.v != STORED_SESSION_VERSION {
            return Err(StoredSessionError::ForeignVersion);
        }
        let credentials =
            Credentials::new(&record.accid, &record.token).map_err(StoredSessionError::BadField)?;
        Ok(StoredSession {
            credentials,
            saved_at: record.saved_at,
        })
    }
}

impl StoredSession {
    /// The record as stored: `{"v":1,"accid","token","savedAt"}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored record from its text, refusing anything this version
    /// did not write: not JSON, missing, extra or wrongly typed fields
    /// ([`StoredSessionError::Malformed`]), another version, and an accid or
    /// token outside the protocol's limits.
    pub fn from_json(text: &str) -> Result<Self, StoredSessionError> {
        let record: Record =
            serde_json::from_str(text).map_err(|_| StoredSessionError::Malformed)?;
        StoredSession::try_from(record)
    }
}

impl fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSession")
            .field("credentials", &self.credentials)
            .field("saved_at", &self.saved_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> StoredSession {
        StoredSession {
            credentials: Credentials::new("Alice", "tok").unwrap(),
            saved_at: 1_000_000_000_000,
        }
    }

    #[test]
    fn round_trips_as_version_1() {
        let json = session().to_json();
        assert_eq!(
            json,
            r#"{"v":1,"accid":"alice","token":"tok","savedAt":1000000000000}"#
        );
        assert_eq!(StoredSession::from_json(&json).unwrap(), session());
    }

    #[test]
    fn refuses_corrupt_foreign_and_out_of_limit_records() {
        use StoredSessionError::*;
        let cases: &[(&str, StoredSessionError)] = &[
            ("", Malformed),
            ("not json", Malformed),
            ("[]", Malformed),
            ("null", Malformed),
            (r#"{"accid":"a","token":"t","savedAt":1}"#, Malformed),
            (
                r#"{"v":2,"accid":"a","token":"t","savedAt":1}"#,
                ForeignVersion,
            ),
            (
                r#"{"v":"1","accid":"a","token":"t","savedAt":1}"#,
                Malformed,
            ),
            (
                r#"{"v":1,"accid":"a","token":"t","savedAt":1.5}"#,
                Malformed,
            ),
            (r#"{"v":1,"accid":"a","token":"t","savedAt":-1}"#, Malformed),
            (r#"{"v":1,"accid":5,"token":"t","savedAt":1}"#, Malformed),
            (r#"{"v":1,"accid":"a","token":"t"}"#, Malformed),
            (
                r#"{"v":1,"accid":"a","token":"t","savedAt":1,"x":1}"#,
                Malformed,
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(
                StoredSession::from_json(text).unwrap_err(),
                *expected,
                "{text}"
            );
        }
        let long_token = format!(
            r#"{{"v":1,"accid":"a","token":"{}","savedAt":1}}"#,
            "t".repeat(129)
        );
        assert!(matches!(
            StoredSession::from_json(&long_token),
            Err(BadField(_))
        ));
    }

    #[test]
    fn debug_redacts_the_token() {
        let text = format!("{:?}", session());
        assert!(!text.contains("tok\""), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
