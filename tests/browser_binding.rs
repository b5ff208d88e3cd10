//! Device-bound sessions in a real browser against the reference server
//! (docs/behaviour.md, "Device binding"): after a login no key of
//! localStorage, sessionStorage or IndexedDB holds the token; the private
//! key is not extractable; a record copied into "another profile" (the
//! same localStorage, another device key) is refused with 419 and cleared
//! while the original profile still resumes; a reload resumes with the
//! ticket; managers of one profile share one key.
#![cfg(target_arch = "wasm32")]

mod browser_support;

use browser_support::*;
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function withStore(mode, f) {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open("imlogin", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("deviceKeys");
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
  try {
    return await request(f(db.transaction("deviceKeys", mode).objectStore("deviceKeys")));
  } finally {
    db.close();
  }
}
function dump(value, seen = new Set()) {
  if (value === null || typeof value !== "object") return String(value);
  if (seen.has(value)) return "";
  seen.add(value);
  if (value instanceof CryptoKey) {
    return `CryptoKey(${value.type},${value.extractable})`;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return new TextDecoder().decode(value);
  }
  return Object.entries(value).map(([k, v]) => k + ":" + dump(v, seen)).join(",");
}
export async function idb_text() {
  const names = (await indexedDB.databases()).map((d) => d.name);
  const parts = [];
  for (const name of names) {
    const db = await new Promise((resolve, reject) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    for (const store of db.objectStoreNames) {
      const s = db.transaction(store, "readonly").objectStore(store);
      const keys = await request(s.getAllKeys());
      const values = await request(s.getAll());
      parts.push(`${name}/${store}: ${keys.map(String).join(" ")} ${values.map((v) => dump(v)).join(" ")}`);
    }
    db.close();
  }
  return parts.join("\n");
}
export function device_pair(appKey) {
  return withStore("readonly", (s) => s.get(appKey));
}
export function put_device_pair(appKey, pair) {
  return withStore("readwrite", (s) => s.put(pair, appKey));
}
export function delete_device_pair(appKey) {
  return withStore("readwrite", (s) => s.delete(appKey));
}
let subtle;
export function hide_subtle() {
  subtle = Object.getOwnPropertyDescriptor(Crypto.prototype, "subtle");
  Object.defineProperty(Crypto.prototype, "subtle", { get: () => undefined, configurable: true });
}
export function restore_subtle() {
  Object.defineProperty(Crypto.prototype, "subtle", subtle);
}
export async function export_private(pair) {
  await crypto.subtle.exportKey("pkcs8", pair.privateKey);
  return "exported";
}
"#)]
extern "C" {
    fn idb_text() -> Promise;
    fn device_pair(app_key: &str) -> Promise;
    fn put_device_pair(app_key: &str, pair: &JsValue) -> Promise;
    fn delete_device_pair(app_key: &str) -> Promise;
    fn export_private(pair: &JsValue) -> Promise;
    fn hide_subtle();
    fn restore_subtle();
}

/// A manager made where WebCrypto is missing (as in a page that is not a
/// secure context).
fn manager_without_webcrypto(extra: &[(&str, JsValue)]) -> imlogin::LoginManager {
    hide_subtle();
    let m = imlogin::LoginManager::new(options(extra));
    restore_subtle();
    m.unwrap_or_else(|e| panic!("the constructor threw: {}", error_text(&e)))
}

async fn done(promise: Promise) -> JsValue {
    JsFuture::from(promise)
        .await
        .unwrap_or_else(|e| panic!("{}", error_text(&e)))
}

/// Every key and value of localStorage and sessionStorage, as text.
fn web_storage_text() -> String {
    let window = web_sys::window().unwrap();
    let mut text = String::new();
    for storage in [
        window.local_storage().unwrap().unwrap(),
        window.session_storage().unwrap().unwrap(),
    ] {
        for i in 0..storage.length().unwrap() {
            let key = storage.key(i).unwrap().unwrap();
            let value = storage.get_item(&key).unwrap().unwrap_or_default();
            text.push_str(&key);
            text.push('=');
            text.push_str(&value);
            text.push('\n');
        }
    }
    text
}

fn record() -> String {
    local_get(&session_key()).expect("a session record is saved")
}

/// Logs in with a fresh account on a new manager, which is then freed
/// (the page "reloads"); returns the account.
async fn bound_login() -> (String, String) {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    assert_eq!(m.session_binding().unwrap(), "device");
    login_ok(&m, &accid, &token).await;
    wait_until("the ticket record", || {
        local_get(&session_key()).is_some_and(|r| r.contains("\"ticket\""))
    })
    .await;
    drop(m);
    (accid, token)
}

#[wasm_bindgen_test]
async fn after_a_login_no_storage_of_the_page_holds_the_token() {
    let (accid, token) = bound_login().await;
    let saved = record();
    assert!(
        saved.contains(&accid) && saved.contains("\"ticket\""),
        "{saved}"
    );

    let web = web_storage_text();
    let idb = done(idb_text()).await.as_string().unwrap();
    assert!(!web.contains(&token), "Web Storage holds the token:\n{web}");
    assert!(!idb.contains(&token), "IndexedDB holds the token:\n{idb}");
    assert!(
        idb.contains(&format!("imlogin/deviceKeys: {}", app_key())),
        "the device key is stored under the app key:\n{idb}"
    );
}

#[wasm_bindgen_test]
async fn the_private_key_is_not_extractable_and_export_rejects() {
    bound_login().await;
    let pair = done(device_pair(app_key())).await;
    let private: web_sys::CryptoKey = get(&pair, "privateKey").dyn_into().unwrap();
    assert!(!private.extractable());
    assert_eq!(private.type_(), "private");
    let exported = JsFuture::from(export_private(&pair)).await;
    let e = exported.expect_err("exportKey on the private key must reject");
    assert_eq!(
        get(&e, "name").as_string().as_deref(),
        Some("InvalidAccessError"),
        "{}",
        error_text(&e)
    );
}

#[wasm_bindgen_test]
async fn a_reload_resumes_with_the_ticket_and_never_sends_the_token() {
    let (accid, _token) = bound_login().await;
    let before = record();
    let m = manager(&[]);
    let resumed = settle(m.auto_login(None))
        .await
        .expect("autoLogin resolves");
    assert_eq!(resumed.as_bool(), Some(true));
    wait_status(&m, "loggedIn").await;
    let live = sessions(&accid).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].mode, "auto");
    // The ticket lives on: the record is the same ticket.
    let ticket = |r: &str| r.split("\"ticket\":\"").nth(1).map(|t| t[..43].to_owned());
    assert_eq!(ticket(&record()), ticket(&before));
    m.logout_now().await;
}

#[wasm_bindgen_test]
async fn a_record_copied_into_another_profile_is_refused_419_and_cleared_while_the_original_resumes(
) {
    let (accid, _token) = bound_login().await;
    let copied = record();
    let original_key = done(device_pair(app_key())).await;

    // "Another profile": the same localStorage (record and device id), but
    // its own device key — the original's is not there.
    done(delete_device_pair(app_key())).await;
    let thief = manager(&[]);
    let rec = Recorder::new(&thief);
    let e = settle(thief.auto_login(None))
        .await
        .expect_err("a copied record must not log in");
    assert_login_error(&e, 419);
    assert_eq!(get(&e, "retryable").as_bool(), Some(false));
    assert_login_error(&rec.wait_for("loginFailed").await, 419);
    assert_eq!(thief.status().unwrap(), "loggedOut");
    assert_eq!(local_get(&session_key()), None, "the record is cleared");
    sleep(QUIET_MS).await;
    let refused = attempts(&accid).await;
    assert_eq!(
        refused.iter().filter(|a| a.code == 419).count(),
        1,
        "419 is never retried: {refused:?}"
    );
    assert!(sessions(&accid).await.is_empty());
    drop(thief);

    // The original profile (its key and its record) still resumes.
    done(put_device_pair(app_key(), &original_key)).await;
    local_set(&session_key(), &copied);
    let owner = manager(&[]);
    settle(owner.auto_login(None))
        .await
        .expect("the original profile resumes");
    wait_status(&owner, "loggedIn").await;
    owner.logout_now().await;
}

#[wasm_bindgen_test]
async fn two_managers_creating_the_key_at_once_end_with_one_key_that_resumes() {
    clear_storage();
    done(delete_device_pair(app_key())).await;
    let (a_accid, a_token) = create_account().await;
    let (b_accid, b_token) = create_account().await;
    let a = manager(&[]);
    let b = manager(&[]);
    // Both find no key and make one at the same time.
    let (ra, rb) = futures_join(
        settle(a.login(a_accid.as_str().into(), a_token.into(), None)),
        settle(b.login(b_accid.as_str().into(), b_token.into(), None)),
    )
    .await;
    ra.expect("a logs in");
    rb.expect("b logs in");
    drop(a);
    drop(b);
    // Whichever record was saved last, its ticket is bound to the one key
    // IndexedDB holds: a reload resumes with it.
    let saved = record();
    let accid = if saved.contains(&a_accid) {
        a_accid
    } else {
        b_accid
    };
    let m = manager(&[]);
    settle(m.auto_login(None)).await.expect("resumes");
    wait_status(&m, "loggedIn").await;
    assert_eq!(m.accid().unwrap().as_deref(), Some(accid.as_str()));
    m.logout_now().await;
}

#[wasm_bindgen_test]
async fn the_tab_group_shares_the_key_a_follower_taking_over_resumes_with_the_ticket() {
    let (accid, _token) = bound_login().await;
    let shared = [("tabs", JsValue::from_str("shared"))];
    let leader = manager(&shared);
    settle(leader.auto_login(None)).await.expect("resumes");
    wait_status(&leader, "loggedIn").await;
    let follower = manager(&shared);
    wait_status(&follower, "loggedIn").await;
    // The leader goes: the follower takes the session over, resuming with
    // the ticket and signing with the profile's one key.
    drop(leader);
    wait_for_server(
        "the follower's own session",
        async || sessions(&accid).await,
        |live| live.len() == 1 && live[0].mode == "auto",
    )
    .await;
    wait_status(&follower, "loggedIn").await;
    assert!(record().contains("\"ticket\""));
    follower.logout_now().await;
}

#[wasm_bindgen_test]
async fn token_mode_binds_too_where_a_key_can_be_kept() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[("sessionBinding", "token".into())]);
    assert_eq!(m.session_binding().unwrap(), "device");
    login_ok(&m, &accid, &token).await;
    let saved = record();
    assert!(
        saved.contains("\"ticket\"") && !saved.contains(&token),
        "{saved}"
    );
    m.logout_now().await;
}

#[wasm_bindgen_test]
async fn without_webcrypto_device_mode_saves_nothing_and_says_so_once() {
    clear_storage();
    let (accid, token) = create_account().await;
    let console = ConsoleCapture::new("warn");
    let m = manager_without_webcrypto(&[]);
    assert_eq!(m.session_binding().unwrap(), "none");
    let warned = console.lines();
    assert_eq!(
        warned
            .iter()
            .filter(|l| l.contains("sessionBinding \"device\""))
            .count(),
        1,
        "{warned:?}"
    );
    // A token record from an earlier version (of this device: it logged
    // in before) is used once, then removed.
    known_device(&accid, &token).await;
    save_record(&accid, &token);
    settle(m.auto_login(None)).await.expect("resumes");
    wait_status(&m, "loggedIn").await;
    assert_eq!(local_get(&session_key()), None, "nothing is saved");
    assert!(!web_storage_text().contains(&token));
    m.logout_now().await;
}

#[wasm_bindgen_test]
async fn without_webcrypto_token_mode_falls_back_to_the_token_record() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager_without_webcrypto(&[("sessionBinding", "token".into())]);
    assert_eq!(m.session_binding().unwrap(), "token");
    login_ok(&m, &accid, &token).await;
    let saved = record();
    assert!(
        saved.contains(&token) && !saved.contains("\"ticket\""),
        "{saved}"
    );
    m.logout_now().await;
}

#[wasm_bindgen_test]
async fn a_token_record_of_an_earlier_version_loads_and_is_upgraded_to_a_ticket() {
    clear_storage();
    let (accid, token) = create_account().await;
    known_device(&accid, &token).await;
    save_record(&accid, &token);
    let m = manager(&[]);
    settle(m.auto_login(None)).await.expect("resumes");
    wait_status(&m, "loggedIn").await;
    wait_until("the ticket record", || {
        local_get(&session_key()).is_some_and(|r| r.contains("\"ticket\""))
    })
    .await;
    assert!(!record().contains(&token), "the token record is replaced");
    m.logout_now().await;
}

#[wasm_bindgen_test]
fn session_binding_is_checked_like_every_option() {
    let e = imlogin::LoginManager::new(options(&[("sessionBinding", "cookie".into())]))
        .err()
        .expect("a bad sessionBinding throws");
    assert!(e.is_instance_of::<js_sys::TypeError>());
    assert_eq!(
        error_text(&e),
        "TypeError: imlogin: option sessionBinding must be \"device\" or \"token\""
    );
}

/// Logs this profile's device in once (the server's device rule then lets
/// it auto login) and lets the manager go without logging out.
async fn known_device(accid: &str, token: &str) {
    let m = manager(&[]);
    login_ok(&m, accid, token).await;
    drop(m);
}

/// Awaits two futures side by side.
async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let (a, b) = (Box::pin(a), Box::pin(b));
    let mut a = Some(a);
    let mut b = Some(b);
    let mut ra = None;
    let mut rb = None;
    std::future::poll_fn(move |cx| {
        if let Some(f) = a.as_mut() {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
                ra = Some(v);
                a = None;
            }
        }
        if let Some(f) = b.as_mut() {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
                rb = Some(v);
                b = None;
            }
        }
        if a.is_none() && b.is_none() {
            std::task::Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

/// Logs out and waits for it.
trait LogoutNow {
    async fn logout_now(&self);
}

impl LogoutNow for imlogin::LoginManager {
    async fn logout_now(&self) {
        let _ = settle(self.logout()).await;
    }
}
