//! Link discovery with gloo-net's HTTP client:
//! `GET <lbsUrl>?appKey=…` → `{"code":200,"links":["ws://…"]}`.

use gloo_net::http::Request;
use serde::Deserialize;

/// The LBS answer (other fields are ignored).
#[derive(Deserialize)]
struct Answer {
    code: u32,
    links: Vec<String>,
}

/// The first usable link URL the LBS offers, or `None` on any failure (an
/// HTTP error, a body that is not such an answer, no `ws:`/`wss:` link): the
/// caller then falls back to `linkUrl`. No time-out of its own: the
/// connection attempt's `connectTimeoutMs` covers discovery too.
pub async fn discover(lbs_url: &str, app_key: &str) -> Option<String> {
    let response = Request::get(lbs_url)
        .query([("appKey", app_key)])
        .send()
        .await
        .ok()?;
    if !response.ok() {
        return None;
    }
    let body = response.text().await.ok()?;
    let answer: Answer = super::wire::from_json(&body)?;
    if answer.code != 200 {
        return None;
    }
    answer
        .links
        .into_iter()
        .find(|s| s.starts_with("ws://") || s.starts_with("wss://"))
}
