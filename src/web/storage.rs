//! The persisted session record and the device id, in Web Storage.
//!
//! Keys: `imlogin:<appKey>:session` (in the storage `persistence` names) and
//! `imlogin:<appKey>:device` (always localStorage, unless `persistence` is
//! `"none"`). A value this version cannot read is removed and treated as
//! absent; storage that throws (disabled, sandboxed, full) never makes the
//! manager throw.

use imlogin_protocol::limits;
use wasm_bindgen::JsValue;

use super::options::Persistence;
use super::{js, json};
use crate::{StoredSession, StoredSessionError};

/// Why a session record could not be written.
#[derive(Debug)]
pub struct WriteError(pub JsValue);

/// Reads and writes one app's records.
pub struct Store {
    persistence: Persistence,
    session_key: String,
    device_key: String,
}

fn key(app_key: &str, what: &str) -> String {
    let mut k = String::from("imlogin:");
    k.push_str(app_key);
    k.push(':');
    k.push_str(what);
    k
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

impl Store {
    /// The store of `app_key`'s records.
    pub fn new(app_key: &str, persistence: Persistence) -> Self {
        Store {
            persistence,
            session_key: key(app_key, "session"),
            device_key: key(app_key, "device"),
        }
    }

    fn session_storage(&self) -> Option<web_sys::Storage> {
        match self.persistence {
            Persistence::Local => local(),
            Persistence::Session => session(),
            Persistence::None => None,
        }
    }

    /// The key of the session record (`imlogin:<appKey>:session`).
    pub fn session_key(&self) -> &str {
        &self.session_key
    }

    /// The persisted session, if a valid one is stored. A record that does
    /// not decode is removed.
    pub fn load_session(&self) -> Option<StoredSession> {
        let storage = self.session_storage()?;
        let text = storage.get_item(&self.session_key).ok().flatten()?;
        let parsed = json::parse(&JsValue::from_str(&text)).ok_or(StoredSessionError::Malformed);
        match parsed.and_then(StoredSession::from_value) {
            Ok(session) => Some(session),
            Err(_) => {
                let _ = storage.remove_item(&self.session_key);
                js::console_warn(
                    "imlogin: removed an unreadable session record",
                    &JsValue::from_str(&self.session_key),
                );
                None
            }
        }
    }

    /// Stores the session record. A failure (quota, disabled storage) is
    /// returned for the caller to report; the live session is unaffected.
    pub fn save_session(&self, session: &StoredSession) -> Result<(), WriteError> {
        let Some(storage) = self.session_storage() else {
            return if self.persistence == Persistence::None {
                Ok(())
            } else {
                Err(WriteError(JsValue::from_str("storage unavailable")))
            };
        };
        storage
            .set_item(&self.session_key, &session.to_json())
            .map_err(WriteError)
    }

    /// Removes the session record.
    pub fn clear_session(&self) {
        if let Some(storage) = self.session_storage() {
            let _ = storage.remove_item(&self.session_key);
        }
    }

    /// This browser profile's device id: read from localStorage, or created
    /// (32 random hex digits) and stored there. With `persistence: "none"`,
    /// or without storage, a fresh id lives as long as the manager.
    pub fn device_id(&self) -> String {
        let storage = if self.persistence == Persistence::None {
            None
        } else {
            local()
        };
        let Some(storage) = storage else {
            return js::random_hex(16);
        };
        if let Ok(Some(id)) = storage.get_item(&self.device_key) {
            if limits::check_device_id(&id).is_ok() {
                return id;
            }
            let _ = storage.remove_item(&self.device_key);
        }
        let id = js::random_hex(16);
        if storage.set_item(&self.device_key, &id).is_err() {
            js::console_warn(
                "imlogin: could not store the device id",
                &JsValue::from_str(&self.device_key),
            );
        }
        id
    }
}
