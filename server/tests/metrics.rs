//! `/metrics` on `--metrics-bind`: a scrape after logins (ok, refused,
//! rate limited), a kick and server API calls shows each counter moved by
//! at least the traffic made here, and no label carries an accid, a token
//! or an IP address. The metrics are the process's, so the test reads
//! differences between two scrapes.

mod common;

use std::collections::HashMap;

use common::{TestServer, DEADLINE};

const ACCID: &str = "metered-account";

/// `name{labels}` → value, for every sample line of a scrape.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn value(s: &HashMap<String, f64>, key: &str) -> f64 {
    s.get(key).copied().unwrap_or(0.0)
}

async fn scrape(http: &reqwest::Client, url: &str) -> String {
    let resp = tokio::time::timeout(DEADLINE, http.get(url).send())
        .await
        .expect("scraped in time")
        .expect("scraped");
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    resp.text().await.unwrap()
}

#[tokio::test]
async fn a_scrape_counts_the_traffic_and_names_no_account_token_or_address() {
    let mut server = TestServer::start(&[
        "--metrics-bind",
        "127.0.0.1:0",
        // Three attempts per account per minute: the fourth gets 416.
        "--login-rate-per-account",
        "3",
    ])
    .await;
    let metrics_url = format!(
        "http://{}/metrics",
        server
            .handle
            .as_ref()
            .unwrap()
            .metrics_addr()
            .expect("enabled")
    );
    // Never on the public address.
    let public = server
        .http
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(public.status(), 404);

    let before = samples(&scrape(&server.http, &metrics_url).await);
    let token = server.create(ACCID).await;
    let again = server
        .api("/nimserver/user/create.action", &[("accid", ACCID)])
        .await;
    assert_eq!(again["code"], 414);
    // 1: logged in on device a; 2: device b takes over (a is kicked,
    // `exclusive`); 3: a wrong token (302); 4: over the limit (416).
    let (mut a, _) = server.login_ok(ACCID, &token, "device-a", "manual").await;
    let (_b, _) = server.login_ok(ACCID, &token, "device-b", "manual").await;
    a.expect_kicked("exclusive").await;
    let (_, refused) = server
        .login(ACCID, "not-the-token", "device-c", "manual", false)
        .await;
    assert_eq!(refused["code"], 302, "{refused}");
    let (_, limited) = server
        .login(ACCID, &token, "device-d", "manual", false)
        .await;
    assert_eq!(limited["code"], 416, "{limited}");

    let text = scrape(&server.http, &metrics_url).await;
    let after = samples(&text);
    let moved = |key: &str| value(&after, key) - value(&before, key);
    assert!(moved("imlogin_logins_total{code=\"200\"}") >= 2.0, "{text}");
    assert!(moved("imlogin_logins_total{code=\"302\"}") >= 1.0, "{text}");
    assert!(moved("imlogin_logins_total{code=\"416\"}") >= 1.0, "{text}");
    assert!(
        moved("imlogin_login_duration_seconds_count") >= 4.0,
        "{text}"
    );
    assert!(
        moved("imlogin_kicks_total{reason=\"exclusive\"}") >= 1.0,
        "{text}"
    );
    assert!(
        moved("imlogin_abuse_refusals_total{limit=\"login_attempts\"}") >= 1.0,
        "{text}"
    );
    assert!(
        moved("imlogin_server_api_calls_total{action=\"user/create\",code=\"200\"}") >= 1.0,
        "{text}"
    );
    assert!(
        moved("imlogin_server_api_calls_total{action=\"user/create\",code=\"414\"}") >= 1.0,
        "{text}"
    );
    assert!(
        value(&after, "imlogin_sessions{client_type=\"web\"}") >= 1.0,
        "b is logged in: {text}"
    );
    assert!(value(&after, "imlogin_link_sockets") >= 1.0, "{text}");
    assert!(text.contains("imlogin_database_errors_total"), "{text}");
    if common::on_postgres() {
        // The kick travelled as a notice, even to this node itself.
        assert!(moved("imlogin_cluster_notices_sent_total") >= 1.0, "{text}");
        assert!(
            moved("imlogin_cluster_notices_received_total") >= 1.0,
            "{text}"
        );
    }

    // No label value is an accid, a token, a device or an address: every
    // one is a short word from a fixed set.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        for secret in [ACCID, token.as_str(), "device-", "127.0.0.1"] {
            assert!(!line.contains(secret), "{line}");
        }
        if let Some((_, labels)) = line.split_once('{') {
            let labels = labels.split('}').next().unwrap();
            for pair in labels.split(',') {
                let (_, v) = pair.split_once('=').expect("name=value");
                let v = v.trim_matches('"');
                assert!(
                    v.len() <= 24
                        && v.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "/_.+".contains(c)),
                    "unexpected label value in {line}"
                );
            }
        }
    }
    server.shutdown().await;
}
