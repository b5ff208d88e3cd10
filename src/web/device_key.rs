//! The device key of device-bound sessions (docs/behaviour.md, "Device
//! binding"): a non-extractable ECDSA P-256 key pair made with WebCrypto
//! and kept, as its `CryptoKeyPair`, in IndexedDB (database `imlogin`,
//! object store `deviceKeys`, key = appKey), or in memory only with
//! `persistence: "none"`.
//!
//! IndexedDB's structured clone keeps a `CryptoKey` non-extractable: the
//! page can sign with it but never read the private key. Two tabs that
//! find no key at the same time each make one and `add` it; `add` fails
//! for the second, which then reads the first's, so a profile ends with
//! one key.

use std::cell::RefCell;
use std::rc::Rc;

use imlogin_core::device::{base64url, DeviceProof, ProofRequest, ResumeProof};
use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    CryptoKey, CryptoKeyPair, IdbDatabase, IdbFactory, IdbObjectStore, IdbOpenDbRequest,
    IdbRequest, IdbTransactionMode, SubtleCrypto,
};

use super::js;

/// The IndexedDB database that holds every app's device key.
pub const DATABASE: &str = "imlogin";
/// Its object store: one `CryptoKeyPair` per appKey.
pub const STORE: &str = "deviceKeys";

/// `globalThis[name]`, when present.
fn global(name: &str) -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// `crypto.subtle`, when this context has it (a secure context).
fn subtle() -> Option<SubtleCrypto> {
    let crypto = global("crypto")?;
    Reflect::get(&crypto, &JsValue::from_str("subtle"))
        .ok()?
        .dyn_into()
        .ok()
}

/// `indexedDB`, when this context has it.
fn indexed_db() -> Option<IdbFactory> {
    global("indexedDB")?.dyn_into().ok()
}

/// One app's device key; loaded (or made) on first use, then kept.
pub struct DeviceKey {
    app_key: String,
    /// Keep the key in IndexedDB (`false`: memory only).
    persist: bool,
    /// The key pair, once loaded.
    pair: RefCell<Option<CryptoKeyPair>>,
}

impl DeviceKey {
    /// The device key of `app_key`, or `None` when this browser cannot
    /// keep one: no WebCrypto, or (when `persist`) no IndexedDB.
    pub fn new(app_key: &str, persist: bool) -> Option<Rc<DeviceKey>> {
        subtle()?;
        if persist {
            indexed_db()?;
        }
        Some(Rc::new(DeviceKey {
            app_key: app_key.to_owned(),
            persist,
            pair: RefCell::new(None),
        }))
    }

    /// The key pair: the stored one, or a new one stored now. When two
    /// loads race (an abandoned attempt's and the next one's), the first
    /// to finish is kept and both answer with it.
    async fn pair(&self) -> Result<CryptoKeyPair, JsValue> {
        if let Some(pair) = self.pair.borrow().clone() {
            return Ok(pair);
        }
        let pair = load_or_create(&self.app_key, self.persist).await?;
        Ok(self.pair.borrow_mut().get_or_insert(pair).clone())
    }

    /// Answers the machine's request: the public key, and for a resume
    /// the signed fields (`ts` = wall clock + the stored skew, a fresh
    /// random nonce). `None` when the key cannot be loaded or used.
    pub async fn prove(&self, request: &ProofRequest) -> Option<DeviceProof> {
        let result = self.try_prove(request).await;
        if let Err(e) = &result {
            js::console_warn("imlogin: the device key failed", e);
        }
        result.ok()
    }

    async fn try_prove(&self, request: &ProofRequest) -> Result<DeviceProof, JsValue> {
        let subtle = subtle().ok_or_else(|| JsValue::from_str("no WebCrypto"))?;
        let pair = self.pair().await?;
        let raw = JsFuture::from(subtle.export_key("raw", &pair.get_public_key())?).await?;
        let device_key = base64url(&Uint8Array::new(&raw).to_vec());
        let wall_ms = js_sys::Date::now();
        let resume = match request {
            ProofRequest::PublicKey => None,
            ProofRequest::Resume(fields) => {
                let ts = (wall_ms + fields.skew_ms).max(0.0) as u64;
                let mut nonce = [0u8; 16];
                js::get_random_values(&mut nonce)?;
                let nonce = base64url(&nonce);
                let message = fields.message(ts, &nonce);
                let algorithm = algorithm(&[("name", "ECDSA"), ("hash", "SHA-256")]);
                let sig = subtle.sign_with_object_and_u8_array(
                    &algorithm,
                    &pair.get_private_key(),
                    message.as_bytes(),
                )?;
                let sig = Uint8Array::new(&JsFuture::from(sig).await?).to_vec();
                Some(ResumeProof {
                    ts,
                    nonce,
                    sig: base64url(&sig),
                })
            }
        };
        Ok(DeviceProof {
            device_key,
            wall_ms,
            resume,
        })
    }
}

/// A WebCrypto algorithm object of string fields.
fn algorithm(fields: &[(&str, &str)]) -> Object {
    let object = Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &(*name).into(), &(*value).into());
    }
    object
}

/// A new non-extractable P-256 signing key pair.
async fn generate() -> Result<CryptoKeyPair, JsValue> {
    let subtle = subtle().ok_or_else(|| JsValue::from_str("no WebCrypto"))?;
    let params = algorithm(&[("name", "ECDSA"), ("namedCurve", "P-256")]);
    let usages = Array::of2(&"sign".into(), &"verify".into());
    let pair = JsFuture::from(subtle.generate_key_with_object(&params, false, &usages)?).await?;
    Ok(pair.unchecked_into())
}

/// The stored pair of `app_key`, or a new one: stored with `add`, so that
/// when another tab stored one first, that one is read back and used.
async fn load_or_create(app_key: &str, persist: bool) -> Result<CryptoKeyPair, JsValue> {
    if !persist {
        return generate().await;
    }
    let db = open().await?;
    let result = load_or_add(&db, &JsValue::from_str(app_key)).await;
    db.close();
    result
}

/// The pair stored under `key` in `db`, or a new one added now.
async fn load_or_add(db: &IdbDatabase, key: &JsValue) -> Result<CryptoKeyPair, JsValue> {
    if let Some(pair) = stored_pair(db, key).await? {
        return Ok(pair);
    }
    let pair = generate().await?;
    let added = request(store(db, IdbTransactionMode::Readwrite)?.add_with_key(&pair, key)?);
    if added.await.is_ok() {
        return Ok(pair);
    }
    // Another tab's key came first (or the write failed): use what is there.
    stored_pair(db, key)
        .await?
        .ok_or_else(|| JsValue::from_str("the device key could not be stored"))
}

/// The pair stored under `key`, if it is one.
async fn stored_pair(db: &IdbDatabase, key: &JsValue) -> Result<Option<CryptoKeyPair>, JsValue> {
    let value = request(store(db, IdbTransactionMode::Readonly)?.get(key)?).await?;
    let is_key = |name: &str| {
        Reflect::get(&value, &JsValue::from_str(name))
            .is_ok_and(|k| k.is_instance_of::<CryptoKey>())
    };
    Ok(
        (value.is_object() && is_key("privateKey") && is_key("publicKey"))
            .then(|| value.unchecked_into()),
    )
}

fn store(db: &IdbDatabase, mode: IdbTransactionMode) -> Result<IdbObjectStore, JsValue> {
    db.transaction_with_str_and_mode(STORE, mode)?
        .object_store(STORE)
}

/// Opens the database, creating its store on first use.
async fn open() -> Result<IdbDatabase, JsValue> {
    let factory = indexed_db().ok_or_else(|| JsValue::from_str("no IndexedDB"))?;
    let opening: IdbOpenDbRequest = factory.open_with_u32(DATABASE, 1)?;
    let upgrade = Closure::<dyn FnMut()>::new({
        let opening = opening.clone();
        move || {
            if let Ok(db) = opening.result() {
                let db: IdbDatabase = db.unchecked_into();
                if !db.object_store_names().contains(STORE) {
                    let _ = db.create_object_store(STORE);
                }
            }
        }
    });
    opening.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    let db = request(opening.clone().into()).await;
    opening.set_onupgradeneeded(None);
    Ok(db?.unchecked_into())
}

/// The outcome of an IndexedDB request: its `result`, or its `error`.
async fn request(request: IdbRequest) -> Result<JsValue, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    let outcome = JsFuture::from(promise).await;
    request.set_onsuccess(None);
    request.set_onerror(None);
    match outcome {
        Ok(_) => request.result(),
        Err(_) => Err(request
            .error()
            .ok()
            .flatten()
            .map_or(JsValue::UNDEFINED, JsValue::from)),
    }
}
