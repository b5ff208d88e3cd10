//! Headless-browser tests: corrupt storage never throws, option errors are
//! `TypeError`s naming the field, `LoginError`'s shape.
#![cfg(target_arch = "wasm32")]

mod browser_support;

use browser_support::*;
use imlogin::LoginManager;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Session records this version must refuse, with what is wrong.
fn corrupt_records() -> Vec<(&'static str, String)> {
    let good = |token: &str| format!(r#"{{"v":1,"accid":"alice","token":"{token}","savedAt":1}}"#);
    vec![
        ("not JSON", "{not json".to_owned()),
        ("empty string", String::new()),
        ("JSON null", "null".to_owned()),
        ("JSON array", r#"["alice","tok"]"#.to_owned()),
        ("JSON string", r#""alice""#.to_owned()),
        ("empty object", "{}".to_owned()),
        (
            "foreign version",
            r#"{"v":2,"accid":"alice","token":"tok","savedAt":1}"#.to_owned(),
        ),
        (
            "version as a string",
            r#"{"v":"1","accid":"alice","token":"tok","savedAt":1}"#.to_owned(),
        ),
        (
            "accid of the wrong type",
            r#"{"v":1,"accid":5,"token":"tok","savedAt":1}"#.to_owned(),
        ),
        (
            "savedAt of the wrong type",
            r#"{"v":1,"accid":"alice","token":"tok","savedAt":"yesterday"}"#.to_owned(),
        ),
        (
            "token missing",
            r#"{"v":1,"accid":"alice","savedAt":1}"#.to_owned(),
        ),
        (
            "extra field",
            r#"{"v":1,"accid":"alice","token":"tok","savedAt":1,"admin":true}"#.to_owned(),
        ),
        ("token too long", good(&"t".repeat(129))),
        ("empty token", good("")),
        (
            "accid with forbidden characters",
            r#"{"v":1,"accid":"al ice","token":"tok","savedAt":1}"#.to_owned(),
        ),
        ("huge string", "x".repeat(1_000_000)),
        ("huge token", good(&"t".repeat(500_000))),
    ]
}

#[wasm_bindgen_test]
async fn corrupt_session_records_are_removed_and_never_throw() {
    for (what, record) in corrupt_records() {
        clear_storage();
        local_set(&session_key(), &record);
        let m = LoginManager::new(options(&[]))
            .unwrap_or_else(|e| panic!("{what}: the constructor threw {}", error_text(&e)));
        let rec = Recorder::new(&m);
        let resumed = settle(m.auto_login(None))
            .await
            .unwrap_or_else(|e| panic!("{what}: autoLogin rejected {}", error_text(&e)));
        assert_eq!(resumed, JsValue::FALSE, "{what}");
        assert_eq!(local_get(&session_key()), None, "{what}: the record stays");
        assert_eq!(m.status().unwrap(), "loggedOut", "{what}");
        assert!(rec.statuses().is_empty(), "{what}: {:?}", rec.statuses());
    }
}

#[wasm_bindgen_test]
async fn corrupt_record_in_session_storage_is_removed_too() {
    clear_storage();
    let storage = web_sys::window()
        .unwrap()
        .session_storage()
        .unwrap()
        .unwrap();
    storage.set_item(&session_key(), "{\"v\":1}").unwrap();
    let m = manager(&[("persistence", "session".into())]);
    assert_eq!(settle(m.auto_login(None)).await.unwrap(), JsValue::FALSE);
    assert_eq!(session_storage_get(&session_key()), None);
}

#[wasm_bindgen_test]
fn corrupt_device_ids_are_replaced() {
    for bad in ["", "tab\there", &"d".repeat(65), "\u{1F600}"] {
        clear_storage();
        local_set(&device_key(), bad);
        let m = manager(&[]);
        let id = m.device_id().unwrap();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert_eq!(stored_device_id(), Some(id.clone()), "stored for next time");
        assert_eq!(manager(&[]).device_id().unwrap(), id, "kept");
    }
}

#[wasm_bindgen_test]
fn a_device_id_stored_as_plain_text_by_an_earlier_version_is_kept() {
    clear_storage();
    for old in [
        "0123456789abcdef0123456789abcdef",
        "9f86d081884c7d659a2feaa0c55ad015",
    ] {
        local_set(&device_key(), old);
        assert_eq!(manager(&[]).device_id().unwrap(), old);
        assert_eq!(
            stored_device_id().as_deref(),
            Some(old),
            "rewritten as JSON"
        );
        assert_eq!(manager(&[]).device_id().unwrap(), old);
    }
}

#[wasm_bindgen_test]
async fn storage_that_throws_or_is_missing_leaves_the_manager_working_from_memory() {
    let (accid, token) = create_account().await;
    for how in [BrokenStorage::Throws, BrokenStorage::Missing] {
        for (property, persistence) in [("localStorage", "local"), ("sessionStorage", "session")] {
            let what = format!("{property} {how:?}");
            clear_storage();
            let broken = StorageOverride::new(property, how);
            let m = LoginManager::new(options(&[("persistence", persistence.into())]))
                .unwrap_or_else(|e| panic!("{what}: the constructor threw {}", error_text(&e)));
            let id = m.device_id().unwrap();
            assert_eq!(id.len(), 32, "{what}: {id}");
            let resumed = settle(m.auto_login(None))
                .await
                .unwrap_or_else(|e| panic!("{what}: autoLogin rejected {}", error_text(&e)));
            assert_eq!(resumed, JsValue::FALSE, "{what}");
            login_ok(&m, &accid, &token).await;
            assert_eq!(m.status().unwrap(), "loggedIn", "{what}");
            settle(m.logout())
                .await
                .unwrap_or_else(|e| panic!("{what}: logout rejected {}", error_text(&e)));
            drop(m);
            drop(broken);
            if property == "localStorage" {
                assert_eq!(local_get(&device_key()), None, "{what}: nothing stored");
            }
            assert_eq!(local_get(&session_key()), None, "{what}");
            assert_eq!(session_storage_get(&session_key()), None, "{what}");
        }
    }
}

#[wasm_bindgen_test]
fn option_errors_are_type_errors_naming_the_field() {
    clear_storage();
    let link = link_url();
    let cases: Vec<(&str, JsValue)> = vec![
        ("bogus", options(&[("bogus", 1.into())])),
        ("appKey", object(&[("linkUrl", link.as_str().into())])),
        ("appKey", options(&[("appKey", 5.into())])),
        ("linkUrl", object(&[("appKey", app_key().into())])),
        (
            "linkUrl",
            options(&[("linkUrl", "http://127.0.0.1:1/link".into())]),
        ),
        ("linkUrl", options(&[("linkUrl", "not a url".into())])),
        (
            "lbsUrl",
            options(&[("lbsUrl", "ws://127.0.0.1:1/lbs".into())]),
        ),
        ("persistence", options(&[("persistence", "disk".into())])),
        ("retryCount", options(&[("retryCount", 0.into())])),
        ("retryCount", options(&[("retryCount", 11.into())])),
        ("retryCount", options(&[("retryCount", 2.5.into())])),
        ("retryCount", options(&[("retryCount", "3".into())])),
        (
            "loginTimeoutMs",
            options(&[("loginTimeoutMs", f64::NAN.into())]),
        ),
        ("loginTimeoutMs", options(&[("loginTimeoutMs", 999.into())])),
        (
            "connectTimeoutMs",
            options(&[("connectTimeoutMs", f64::INFINITY.into())]),
        ),
        ("backoff", options(&[("backoff", 5.into())])),
        (
            "backoff.initialMs",
            options(&[("backoff", object(&[("initialMs", (-1).into())]))]),
        ),
        (
            "backoff.jitter",
            options(&[("backoff", object(&[("jitter", true.into())]))]),
        ),
        (
            "backoff.maxMs",
            options(&[(
                "backoff",
                object(&[("initialMs", 5_000.into()), ("maxMs", 1_000.into())]),
            )]),
        ),
        (
            "customTag",
            options(&[("customTag", "t".repeat(33).into())]),
        ),
        ("customTag", options(&[("customTag", 7.into())])),
        ("debug", options(&[("debug", "yes".into())])),
        ("tabs", options(&[("tabs", "everywhere".into())])),
        ("reconnectDelay", options(&[("reconnectDelay", 100.into())])),
        // Every other field's type error names it too.
        ("linkUrl", options(&[("linkUrl", 5.into())])),
        ("lbsUrl", options(&[("lbsUrl", true.into())])),
        ("persistence", options(&[("persistence", 1.into())])),
        (
            "connectTimeoutMs",
            options(&[("connectTimeoutMs", "10".into())]),
        ),
        (
            "backoff",
            options(&[("backoff", js_sys::Array::new().into())]),
        ),
        (
            "backoff.maxMs",
            options(&[("backoff", object(&[("maxMs", "x".into())]))]),
        ),
        ("tabs", options(&[("tabs", true.into())])),
        ("tokenProvider", options(&[("tokenProvider", "f".into())])),
    ];
    for (field, value) in cases {
        let description = stringify(&value);
        let e = match LoginManager::new(value) {
            Ok(_) => panic!("{description}: accepted; want a TypeError naming {field}"),
            Err(e) => e,
        };
        assert!(
            e.is_instance_of::<js_sys::TypeError>(),
            "{description}: threw {} (not a TypeError)",
            error_text(&e)
        );
        let message = get(&e, "message").as_string().unwrap_or_default();
        assert!(
            message.starts_with(&format!("imlogin: option {field} ")),
            "{description}: message {message:?} does not start with the field {field}"
        );
    }
    for not_an_object in [JsValue::NULL, JsValue::UNDEFINED, "appKey".into(), 1.into()] {
        let e = LoginManager::new(not_an_object.clone())
            .err()
            .unwrap_or_else(|| panic!("{not_an_object:?} accepted as options"));
        assert!(
            e.is_instance_of::<js_sys::TypeError>(),
            "{}",
            error_text(&e)
        );
    }
    // The defaults and every documented option are accepted.
    let full = options(&[
        ("persistence", "local".into()),
        ("retryCount", 10.into()),
        ("loginTimeoutMs", 1_000.into()),
        ("connectTimeoutMs", 86_400_000.into()),
        ("customTag", "t".repeat(32).into()),
        ("debug", false.into()),
        ("tabs", "perTab".into()),
    ]);
    let m = LoginManager::new(full).unwrap_or_else(|e| panic!("{}", error_text(&e)));
    assert_eq!(m.status().unwrap(), "loggedOut");
    // `null` and `undefined` mean "not set", as in the TypeScript types.
    let unset = options(&[
        ("customTag", JsValue::NULL),
        ("backoff", JsValue::NULL),
        ("tokenProvider", JsValue::NULL),
        ("debug", JsValue::UNDEFINED),
    ]);
    LoginManager::new(unset).unwrap_or_else(|e| panic!("{}", error_text(&e)));
}

#[wasm_bindgen_test]
async fn login_options_are_checked_too() {
    clear_storage();
    let m = manager(&[]);
    let e = settle(m.login(
        "alice".into(),
        "tok".into(),
        Some(object(&[("forse", true.into())])),
    ))
    .await
    .expect_err("an unknown login option must reject");
    assert!(
        e.is_instance_of::<js_sys::TypeError>(),
        "{}",
        error_text(&e)
    );
    assert!(error_text(&e).contains("forse"), "{}", error_text(&e));
    let e = settle(m.auto_login(Some(object(&[("force", "yes".into())]))))
        .await
        .expect_err("force must be a boolean");
    assert!(error_text(&e).contains("force"), "{}", error_text(&e));
    assert_eq!(m.status().unwrap(), "loggedOut");
}

#[wasm_bindgen_test]
async fn login_error_has_name_code_message_and_retryable() {
    clear_storage();
    let m = manager(&[]);
    let rec = Recorder::new(&m);
    // Bad arguments are refused before any traffic: 414.
    for (accid, token) in [
        (JsValue::from_str("not valid!"), JsValue::from_str("tok")),
        (JsValue::from_str("alice"), JsValue::from_str("")),
        (JsValue::from(42), JsValue::from_str("tok")),
        (JsValue::from_str("alice"), JsValue::NULL),
    ] {
        let e = settle(m.login(accid.clone(), token, None))
            .await
            .expect_err("bad arguments must reject");
        assert_login_error(&e, 414);
        assert_eq!(get(&e, "retryable").as_bool(), Some(false), "{accid:?}");
        assert_eq!(m.status().unwrap(), "loggedOut");
    }
    let failed = rec.of("loginFailed");
    assert_eq!(failed.len(), 4);
    for f in &failed {
        assert_login_error(f, 414);
    }
    assert!(
        rec.statuses().is_empty(),
        "no connection was attempted: {:?}",
        rec.statuses()
    );
}
