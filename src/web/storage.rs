//! The persisted session record and the device id, in Web Storage through
//! gloo-storage (values are JSON: the record is [`StoredSession`]'s serde
//! form, the device id a JSON string).
//!
//! Keys: `imlogin:<appKey>:session` (in the storage `persistence` names) and
//! `imlogin:<appKey>:device` (always localStorage, unless `persistence` is
//! `"none"`). A value this version cannot read is removed and treated as
//! absent; storage that is missing or throws on access (disabled, sandboxed)
//! leaves the manager working from memory, and a failed write (full) is
//! reported, never thrown.

use gloo_storage::errors::StorageError;
use gloo_storage::{LocalStorage, SessionStorage, Storage};
use imlogin_protocol::limits;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;

use super::js;
use super::options::Persistence;
use crate::StoredSession;

/// Why a session record could not be written.
#[derive(Debug)]
pub struct WriteError(pub JsValue);

/// One of the two Web Storage areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Local,
    Session,
}

impl Area {
    /// The area, if this page may use it: gloo-storage throws where the
    /// browser has none or refuses access, so that is asked first.
    fn usable(self) -> Option<Area> {
        let window = web_sys::window()?;
        let storage = match self {
            Area::Local => window.local_storage(),
            Area::Session => window.session_storage(),
        };
        matches!(storage, Ok(Some(_))).then_some(self)
    }

    fn get<T: DeserializeOwned>(self, key: &str) -> Result<T, StorageError> {
        match self {
            Area::Local => LocalStorage::get(key),
            Area::Session => SessionStorage::get(key),
        }
    }

    fn set<T: Serialize>(self, key: &str, value: T) -> Result<(), StorageError> {
        match self {
            Area::Local => LocalStorage::set(key, value),
            Area::Session => SessionStorage::set(key, value),
        }
    }

    fn delete(self, key: &str) {
        match self {
            Area::Local => LocalStorage::delete(key),
            Area::Session => SessionStorage::delete(key),
        }
    }
}

/// What a failed write says, for the console: the browser's error (a
/// `QuotaExceededError`, say). Only writes fail this way; serialization of
/// a record cannot.
fn describe(e: &StorageError) -> JsValue {
    match e {
        StorageError::JsError(e) => {
            let mut text = e.name.clone();
            text.push_str(": ");
            text.push_str(&e.message);
            JsValue::from_str(&text)
        }
        _ => JsValue::UNDEFINED,
    }
}

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

impl Store {
    /// The store of `app_key`'s records.
    pub fn new(app_key: &str, persistence: Persistence) -> Self {
        Store {
            persistence,
            session_key: key(app_key, "session"),
            device_key: key(app_key, "device"),
        }
    }

    /// Where the session record lives, if that storage is usable.
    fn session_area(&self) -> Option<Area> {
        match self.persistence {
            Persistence::Local => Area::Local.usable(),
            Persistence::Session => Area::Session.usable(),
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
        let area = self.session_area()?;
        match area.get::<StoredSession>(&self.session_key) {
            Ok(session) => Some(session),
            Err(StorageError::KeyNotFound(_)) => None,
            Err(_) => {
                area.delete(&self.session_key);
                js::console_warn(
                    "imlogin: removed an unreadable session record",
                    &JsValue::from_str(&self.session_key),
                );
                None
            }
        }
    }

    /// Stores the session record. A failure (quota, storage unusable) is
    /// returned for the caller to report; the live session is unaffected.
    pub fn save_session(&self, session: &StoredSession) -> Result<(), WriteError> {
        match self.session_area() {
            Some(area) => area
                .set(&self.session_key, session)
                .map_err(|e| WriteError(describe(&e))),
            None if self.persistence == Persistence::None => Ok(()),
            None => Err(WriteError(JsValue::from_str("storage unavailable"))),
        }
    }

    /// Removes the session record.
    pub fn clear_session(&self) {
        if let Some(area) = self.session_area() {
            area.delete(&self.session_key);
        }
    }

    /// This browser profile's device id: read from localStorage, or created
    /// (32 random hex digits) and stored there. With `persistence: "none"`,
    /// or without storage, a fresh id lives as long as the manager.
    ///
    /// An id stored as plain text by earlier versions (not JSON) is kept
    /// and rewritten as JSON, so that an upgrade never changes a device's
    /// id (which would make its next auto login a 403).
    pub fn device_id(&self) -> String {
        let area = match self.persistence {
            Persistence::None => None,
            _ => Area::Local.usable(),
        };
        let Some(area) = area else {
            return js::random_hex(16);
        };
        let stored = match area.get::<String>(&self.device_key) {
            Ok(id) if limits::check_device_id(&id).is_ok() => return id,
            // Not JSON: an earlier version's plain-text id, or garbage.
            Err(StorageError::SerdeError(_)) => LocalStorage::raw()
                .get_item(&self.device_key)
                .ok()
                .flatten(),
            _ => None,
        };
        let id = stored
            .filter(|id| limits::check_device_id(id).is_ok())
            .unwrap_or_else(|| js::random_hex(16));
        if let Err(e) = area.set(&self.device_key, &id) {
            js::console_warn("imlogin: could not store the device id", &describe(&e));
        }
        id
    }
}
