//! Credentials and the persisted session record.

use core::fmt;

use imlogin_protocol::limits::{self, FieldError};
use serde::{Deserialize, Serialize};

/// An accid and its token, as the app passes them to `login`, or the
/// resume ticket a device-bound login earned (docs/behaviour.md, "Device
/// binding").
///
/// `Debug` redacts the token and the ticket: they are secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The IM account id, lower case.
    pub accid: String,
    /// The account's token; empty when only a ticket is known (a session
    /// resumed from a device-bound record), and with dynamic tokens.
    pub token: String,
    /// The resume ticket bound to this device's key, once one was issued:
    /// from then on every attempt resumes with it instead of the token.
    pub ticket: Option<Ticket>,
}

/// A resume ticket and the clock offset measured when it was used last.
///
/// `Debug` redacts the ticket: it is a secret.
#[derive(Clone, PartialEq)]
pub struct Ticket {
    /// The opaque ticket the server issued (43 base64url characters).
    pub ticket: String,
    /// The server's clock minus this device's wall clock, in ms, as
    /// measured at the last login: a resume's `ts` is the wall clock plus
    /// this.
    pub skew_ms: f64,
}

// `skew_ms` is always finite (see `Credentials::resumed`), so equality is
// an equivalence.
impl Eq for Ticket {}

impl Ticket {
    /// A clock offset fit to keep: finite, at most a day either way.
    pub fn checked_skew(skew_ms: f64) -> f64 {
        if skew_ms.is_finite() {
            skew_ms.round().clamp(-MAX_SKEW_MS, MAX_SKEW_MS)
        } else {
            0.0
        }
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("ticket", &"<redacted>")
            .field("skew_ms", &self.skew_ms)
            .finish()
    }
}

/// The largest clock offset a record may carry: a day. A device clock
/// further off than that is a broken clock, not a skew to keep.
const MAX_SKEW_MS: f64 = 86_400_000.0;

impl Credentials {
    /// Validates both fields against the protocol's limits and lower-cases
    /// the accid, so that bad input is refused before any network traffic.
    pub fn new(accid: &str, token: &str) -> Result<Self, FieldError> {
        let accid = limits::normalize_accid(accid)?;
        limits::check_token(token)?;
        Ok(Credentials {
            accid,
            token: token.to_owned(),
            ticket: None,
        })
    }

    /// An accid with only a resume ticket (a device-bound record), both
    /// checked against the protocol's limits.
    /// A skew that is not a finite number counts as 0; one beyond a day
    /// is clamped to it.
    pub fn resumed(accid: &str, ticket: &str, skew_ms: f64) -> Result<Self, FieldError> {
        let accid = limits::normalize_accid(accid)?;
        limits::check_ticket(ticket)?;
        Ok(Credentials {
            accid,
            token: String::new(),
            ticket: Some(Ticket {
                ticket: ticket.to_owned(),
                skew_ms: Ticket::checked_skew(skew_ms),
            }),
        })
    }

    /// Whether these are the same account and token (a ticket earned
    /// since does not make them other credentials).
    pub fn same_login(&self, other: &Credentials) -> bool {
        self.accid == other.accid && self.token == other.token
    }

    /// An accid without a token yet, for dynamic tokens: every attempt
    /// fetches its own.
    pub(crate) fn accid_only(accid: &str) -> Result<Self, FieldError> {
        let accid = limits::normalize_accid(accid)?;
        Ok(Credentials {
            accid,
            token: String::new(),
            ticket: None,
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("accid", &self.accid)
            .field("token", &"<redacted>")
            .field("ticket", &self.ticket)
            .finish()
    }
}

/// The record persisted after a successful login, so that a reloaded page
/// can log in again by itself: `{"v":1,"accid","ticket","skew","savedAt"}`
/// for a device-bound session (never the token), or
/// `{"v":1,"accid","token","savedAt"}` where the app allowed the token
/// record (`sessionBinding: "token"` without a device key, or a server
/// that issued no ticket) and as records of earlier versions were.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skew: Option<f64>,
    saved_at: u64,
}

impl From<StoredSession> for Record {
    /// A record with a ticket never holds the token.
    fn from(session: StoredSession) -> Record {
        let Credentials {
            accid,
            token,
            ticket,
        } = session.credentials;
        let (token, ticket, skew) = match ticket {
            Some(t) => (None, Some(t.ticket), Some(t.skew_ms)),
            None => (Some(token), None, None),
        };
        Record {
            v: STORED_SESSION_VERSION,
            accid,
            token,
            ticket,
            skew,
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
        let credentials = match (&record.token, &record.ticket, record.skew) {
            (Some(token), None, None) => Credentials::new(&record.accid, token),
            (None, Some(ticket), Some(skew)) => Credentials::resumed(&record.accid, ticket, skew),
            _ => return Err(StoredSessionError::Malformed),
        }
        .map_err(StoredSessionError::BadField)?;
        Ok(StoredSession {
            credentials,
            saved_at: record.saved_at,
        })
    }
}

impl StoredSession {
    /// The record as stored: `{"v":1,"accid","ticket","skew","savedAt"}`
    /// or `{"v":1,"accid","token","savedAt"}`.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a stored record from its text, refusing anything this version
    /// did not write: not JSON, missing, extra or wrongly typed fields, a
    /// token together with a ticket or neither
    /// ([`StoredSessionError::Malformed`]), another version, and an accid,
    /// token or ticket outside the protocol's limits.
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

    const TICKET: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn a_ticket_record_round_trips_without_a_token() {
        let mut credentials = Credentials::new("Alice", "tok").unwrap();
        credentials.ticket = Some(Ticket {
            ticket: TICKET.into(),
            skew_ms: -1500.0,
        });
        let session = StoredSession {
            credentials,
            saved_at: 7,
        };
        let json = session.to_json();
        assert_eq!(
            json,
            format!(r#"{{"v":1,"accid":"alice","ticket":"{TICKET}","skew":-1500.0,"savedAt":7}}"#)
        );
        let read = StoredSession::from_json(&json).unwrap();
        assert_eq!(
            read.credentials.token, "",
            "a ticket record never holds the token"
        );
        assert_eq!(read.credentials.ticket, session.credentials.ticket);
    }

    #[test]
    fn refuses_ticket_records_that_mix_or_break_their_fields() {
        use StoredSessionError::*;
        let both = format!(
            r#"{{"v":1,"accid":"a","token":"t","ticket":"{TICKET}","skew":0,"savedAt":1}}"#
        );
        let no_skew = format!(r#"{{"v":1,"accid":"a","ticket":"{TICKET}","savedAt":1}}"#);
        let text_skew =
            format!(r#"{{"v":1,"accid":"a","ticket":"{TICKET}","skew":"0","savedAt":1}}"#);
        let neither = r#"{"v":1,"accid":"a","savedAt":1}"#.to_owned();
        for text in [both, no_skew, text_skew, neither] {
            assert_eq!(
                StoredSession::from_json(&text).unwrap_err(),
                Malformed,
                "{text}"
            );
        }
        let short = r#"{"v":1,"accid":"a","ticket":"abc","skew":0,"savedAt":1}"#;
        assert!(matches!(StoredSession::from_json(short), Err(BadField(_))));
    }

    #[test]
    fn debug_redacts_the_token() {
        let text = format!("{:?}", session());
        assert!(!text.contains("tok\""), "{text}");
        assert!(text.contains("<redacted>"));
    }
}
