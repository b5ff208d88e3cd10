//! Bad input from the app and a full storage, in the browser: `login()`
//! arguments are refused with 414 before any traffic, and a storage that
//! cannot take the session record never logs the user out.
#![cfg(target_arch = "wasm32")]

mod browser_support;

use browser_support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn bad_login_arguments_are_refused_with_414_before_any_traffic() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    let long_accid = "a".repeat(33);
    let long_token = "t".repeat(129);
    let cases: Vec<(&str, JsValue, JsValue)> = vec![
        ("empty accid", "".into(), token.as_str().into()),
        (
            "33-char accid",
            long_accid.as_str().into(),
            token.as_str().into(),
        ),
        ("space in accid", "al ice".into(), token.as_str().into()),
        ("slash in accid", "al/ice".into(), token.as_str().into()),
        ("emoji accid", "😀".into(), token.as_str().into()),
        (
            "number accid",
            JsValue::from_f64(5.0),
            token.as_str().into(),
        ),
        ("null accid", JsValue::NULL, token.as_str().into()),
        (
            "object accid",
            js_sys::Object::new().into(),
            token.as_str().into(),
        ),
        ("empty token", accid.as_str().into(), "".into()),
        (
            "129-char token",
            accid.as_str().into(),
            long_token.as_str().into(),
        ),
        ("emoji token", accid.as_str().into(), "tök😀".into()),
        ("tab in token", accid.as_str().into(), "a\tb".into()),
        (
            "number token",
            accid.as_str().into(),
            JsValue::from_f64(7.0),
        ),
        ("missing token", accid.as_str().into(), JsValue::UNDEFINED),
    ];
    let count = cases.len();
    for (what, a, t) in cases {
        let e = settle(m.login(a, t, None)).await.expect_err(what);
        assert_login_error(&e, 414);
        assert_eq!(get(&e, "retryable").as_bool(), Some(false), "{what}");
        assert_eq!(m.status().unwrap(), "loggedOut", "{what}");
    }
    sleep(500).await;
    assert!(
        attempts(&accid).await.is_empty(),
        "no traffic for {count} bad calls"
    );
    // The same manager still logs in with good arguments.
    login_ok(&m, &accid, &token).await;
}

/// Fills localStorage until it throws; returns the keys written.
fn fill_local_storage() -> Vec<String> {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let mut keys = Vec::new();
    let mut chunk = "x".repeat(1 << 20);
    while chunk.len() >= 16 {
        let key = format!("filler-{}", keys.len());
        if storage.set_item(&key, &chunk).is_ok() {
            keys.push(key);
        } else {
            chunk.truncate(chunk.len() / 2);
        }
        assert!(keys.len() < 10_000, "localStorage never filled up");
    }
    keys
}

#[wasm_bindgen_test]
async fn a_full_storage_is_reported_and_never_logs_the_user_out() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]); // creates its device id while there is room
    let rec = Recorder::new(&m);
    let fillers = fill_local_storage();
    login_ok(&m, &accid, &token).await;
    assert_eq!(local_get(&session_key()), None, "the record did not fit");
    // The live session goes on, through a reconnection too.
    drop_all_links().await;
    rec.wait_for("reconnecting").await;
    wait_status(&m, "loggedIn").await;
    assert_eq!(sessions(&accid).await.len(), 1);
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    for key in fillers {
        storage.remove_item(&key).unwrap();
    }
}
