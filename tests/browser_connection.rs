//! Headless-browser tests against the real reference server: offline and
//! online events, a dropped link, a paused server, the session policy
//! (`--max-sessions 2`), `clients` and `kickClient`.
#![cfg(target_arch = "wasm32")]

mod browser_support;

use browser_support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn client_list(value: &JsValue) -> Vec<JsValue> {
    js_sys::Array::from(value).to_vec()
}

#[wasm_bindgen_test]
async fn offline_event_goes_offline_without_traffic_and_online_logs_in_again() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    let rec = Recorder::new(&m);
    login_ok(&m, &accid, &token).await;
    let before = attempts(&accid).await.len();

    dispatch_window_event("offline");
    wait_status(&m, "offline").await;
    wait_for_server(
        "the socket closed",
        async || sessions(&accid).await,
        |s| s.is_empty(),
    )
    .await;
    sleep(QUIET_MS).await;
    assert_eq!(m.status().unwrap(), "offline");
    let during = attempts(&accid).await;
    assert_eq!(during.len(), before, "no attempt while offline: {during:?}");
    assert!(rec.of("reconnecting").is_empty());

    dispatch_window_event("online");
    wait_status(&m, "loggedIn").await;
    let live = sessions(&accid).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].mode, "auto");
    let last = attempts(&accid).await.pop().unwrap();
    assert_eq!((last.mode.as_str(), last.code), ("auto", 200));
}

#[wasm_bindgen_test]
async fn login_while_offline_rejects_415_retryable() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    dispatch_window_event("offline");
    let result = settle(m.login(accid.as_str().into(), token.as_str().into(), None)).await;
    dispatch_window_event("online");
    let e = result.expect_err("login while offline must reject");
    assert_login_error(&e, 415);
    assert_eq!(get(&e, "retryable").as_bool(), Some(true));
    assert_eq!(m.status().unwrap(), "loggedOut");
    assert!(attempts(&accid).await.is_empty());
}

#[wasm_bindgen_test]
async fn dropped_link_reconnects_without_app_code() {
    clear_storage();
    pause_links(0).await;
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    let rec = Recorder::new(&m);
    login_ok(&m, &accid, &token).await;
    rec.clear();

    drop_all_links().await;
    wait_until("leaving loggedIn", || {
        rec.statuses().iter().any(|s| s != "loggedIn")
    })
    .await;
    wait_status(&m, "loggedIn").await;
    assert!(!rec.of("reconnecting").is_empty());
    let live = wait_for_server(
        "one auto session",
        async || sessions(&accid).await,
        |s| s.len() == 1,
    )
    .await;
    assert_eq!(live[0].mode, "auto");
    assert_eq!(live[0].device_id, m.device_id().unwrap());
}

#[wasm_bindgen_test]
async fn paused_server_is_retried_until_it_answers() {
    clear_storage();
    pause_links(0).await;
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    let rec = Recorder::new(&m);
    login_ok(&m, &accid, &token).await;
    rec.clear();

    pause_links(2_000).await;
    drop_all_links().await;
    // At least one attempt fails against the paused server (HTTP 503).
    wait_until("a second reconnecting event", || {
        rec.of("reconnecting").len() >= 2
    })
    .await;
    wait_status(&m, "loggedIn").await;
    let attempts_seen: Vec<f64> = rec
        .of("reconnecting")
        .iter()
        .map(|r| get_f64(r, "attempt").unwrap())
        .collect();
    assert_eq!(attempts_seen[0], 1.0, "{attempts_seen:?}");
    assert!(
        attempts_seen.windows(2).all(|w| w[1] == w[0] + 1.0),
        "{attempts_seen:?}"
    );
    for r in rec.of("reconnecting") {
        assert!(get_f64(&r, "delayMs").is_some_and(|d| (0.0..=1_000.0).contains(&d)));
    }
    assert!(
        rec.of("loginFailed").is_empty(),
        "autoreconnect fails silently"
    );
    let live = sessions(&accid).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].mode, "auto");
}

#[wasm_bindgen_test]
async fn third_device_kicks_the_oldest_which_stays_logged_out() {
    clear_storage();
    let (accid, token) = create_account().await;
    let a = device(&[]);
    let rec_a = Recorder::new(&a);
    login_ok(&a, &accid, &token).await;
    let b = device(&[]);
    login_ok(&b, &accid, &token).await;
    let c = device(&[]);
    login_ok(&c, &accid, &token).await;

    let kicked = rec_a.wait_for("kicked").await;
    assert_eq!(
        get_str(&kicked, "reason"),
        "exclusive",
        "{}",
        stringify(&kicked)
    );
    wait_status(&a, "loggedOut").await;
    let after_kick = rec_a.statuses().len();

    sleep(QUIET_MS).await;
    assert_eq!(a.status().unwrap(), "loggedOut");
    assert_eq!(rec_a.statuses().len(), after_kick, "{:?}", rec_a.statuses());
    assert!(rec_a.of("reconnecting").is_empty());
    let mut live: Vec<String> = sessions(&accid)
        .await
        .into_iter()
        .map(|s| s.device_id)
        .collect();
    live.sort();
    let mut expected = vec![b.device_id().unwrap(), c.device_id().unwrap()];
    expected.sort();
    assert_eq!(live, expected);
    assert_eq!(b.status().unwrap(), "loggedIn");
    assert_eq!(c.status().unwrap(), "loggedIn");
}

#[wasm_bindgen_test]
async fn clients_update_and_kick_client_ends_the_other_device() {
    clear_storage();
    let (accid, token) = create_account().await;
    let a = device(&[("customTag", "tab-a".into())]);
    let rec_a = Recorder::new(&a);
    login_ok(&a, &accid, &token).await;
    assert!(client_list(&a.clients().unwrap()).is_empty());

    let b = device(&[("customTag", "tab-b".into())]);
    let rec_b = Recorder::new(&b);
    login_ok(&b, &accid, &token).await;
    let seen_by_b = client_list(&b.clients().unwrap());
    assert_eq!(seen_by_b.len(), 1);
    assert_eq!(get_str(&seen_by_b[0], "deviceId"), a.device_id().unwrap());
    assert_eq!(get_str(&seen_by_b[0], "customTag"), "tab-a");
    assert_eq!(get_str(&seen_by_b[0], "clientType"), "web");

    // (a's first `clients` event, at its own login, was the empty list.)
    wait_until("a clients event listing b", || {
        rec_a
            .of("clients")
            .last()
            .is_some_and(|l| client_list(l).len() == 1)
    })
    .await;
    let list = client_list(rec_a.of("clients").last().unwrap());
    assert_eq!(get_str(&list[0], "deviceId"), b.device_id().unwrap());
    assert!(get_f64(&list[0], "loginAt").is_some_and(|t| t > 1.6e12));
    let getter = client_list(&a.clients().unwrap());
    assert_eq!(getter.len(), 1);
    let target = get_str(&getter[0], "clientId");

    settle(a.kick_client(target.as_str().into()))
        .await
        .unwrap_or_else(|e| panic!("kickClient rejected: {}", error_text(&e)));
    let kicked = rec_b.wait_for("kicked").await;
    assert_eq!(
        get_str(&kicked, "reason"),
        "byClient",
        "{}",
        stringify(&kicked)
    );
    wait_status(&b, "loggedOut").await;
    wait_until("a's clients list empties", || {
        client_list(&a.clients().unwrap()).is_empty()
    })
    .await;
    assert!(rec_a
        .of("clients")
        .last()
        .is_some_and(|l| client_list(l).is_empty()));
    assert_eq!(a.status().unwrap(), "loggedIn");
    let live = sessions(&accid).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].device_id, a.device_id().unwrap());
}

#[wasm_bindgen_test]
async fn kick_client_of_an_unknown_client_rejects_404() {
    clear_storage();
    let (accid, token) = create_account().await;
    let m = manager(&[]);
    login_ok(&m, &accid, &token).await;
    let e = settle(m.kick_client("nope".into()))
        .await
        .expect_err("kickClient(\"nope\") must reject");
    assert_login_error(&e, 404);
    assert_eq!(get(&e, "retryable").as_bool(), Some(false));
    assert_eq!(m.status().unwrap(), "loggedIn");
}

#[wasm_bindgen_test]
async fn the_link_is_discovered_through_the_lbs_and_linkurl_is_the_fall_back() {
    clear_storage();
    let (accid, token) = create_account().await;
    let backoff = || object(&[("initialMs", 200.into()), ("maxMs", 1_000.into())]);
    let cases: Vec<(&str, JsValue)> = vec![
        (
            "lbsUrl only",
            object(&[
                ("appKey", app_key().into()),
                ("lbsUrl", format!("{}/lbs", server()).into()),
                ("backoff", backoff()),
                ("tabs", "perTab".into()),
            ]),
        ),
        (
            "lbsUrl with a query of its own",
            object(&[
                ("appKey", app_key().into()),
                ("lbsUrl", format!("{}/lbs?region=test", server()).into()),
                ("backoff", backoff()),
                ("tabs", "perTab".into()),
            ]),
        ),
        (
            "an LBS that answers 404: linkUrl",
            options(&[("lbsUrl", format!("{}/no-lbs-here", server()).into())]),
        ),
        (
            "an LBS that cannot be reached: linkUrl",
            options(&[("lbsUrl", "http://127.0.0.1:1/lbs".into())]),
        ),
    ];
    for (what, opts) in cases {
        let m = imlogin::LoginManager::new(opts)
            .unwrap_or_else(|e| panic!("{what}: the constructor threw {}", error_text(&e)));
        if let Err(e) = settle(m.login(accid.as_str().into(), token.as_str().into(), None)).await {
            panic!("{what}: login rejected {}", error_text(&e));
        }
        assert_eq!(m.status().unwrap(), "loggedIn", "{what}");
        settle(m.logout())
            .await
            .unwrap_or_else(|e| panic!("{what}: logout rejected {}", error_text(&e)));
    }
    let seen = attempts(&accid).await;
    assert_eq!(seen.len(), 4, "one attempt each: {seen:?}");
    assert!(seen.iter().all(|a| a.code == 200), "{seen:?}");
}
