//! Link discovery: `GET <lbsUrl>?appKey=…` → `{"code":200,"links":["ws://…"]}`.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The first usable link URL the LBS offers, or `None` on any failure (the
/// caller then falls back to `linkUrl`).
pub async fn discover(lbs_url: &str, app_key: &str) -> Option<String> {
    let window = web_sys::window()?;
    let mut url = String::from(lbs_url);
    url.push(if lbs_url.contains('?') { '&' } else { '?' });
    url.push_str("appKey=");
    url.push_str(&String::from(js_sys::encode_uri_component(app_key)));
    let response = JsFuture::from(window.fetch_with_str(&url)).await.ok()?;
    let response: web_sys::Response = response.dyn_into().ok()?;
    if !response.ok() {
        return None;
    }
    let body = JsFuture::from(response.json().ok()?).await.ok()?;
    if Reflect::get(&body, &JsValue::from_str("code"))
        .ok()?
        .as_f64()
        != Some(200.0)
    {
        return None;
    }
    let links: Array = Reflect::get(&body, &JsValue::from_str("links"))
        .ok()?
        .dyn_into()
        .ok()?;
    links
        .iter()
        .filter_map(|v| v.as_string())
        .find(|s| s.starts_with("ws://") || s.starts_with("wss://"))
}
