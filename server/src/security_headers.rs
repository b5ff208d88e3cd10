//! Security headers on the HTML pages the server serves (the demo page from
//! `--static-dir`, the console): a Content-Security-Policy that allows only
//! the server's own scripts plus WebAssembly compilation
//! (`'wasm-unsafe-eval'`, what the imlogin package needs) and connections
//! to itself and the announced link URLs — the policy the README
//! recommends, exercised by the browser tests.

use axum::http::{header, HeaderValue};
use axum::response::Response;

use crate::config::origin_of;

/// The Content-Security-Policy for pages: `connect-src` is `'self'` plus
/// the origins of `link_urls`.
pub fn content_security_policy(link_urls: &[String]) -> String {
    let mut connect = vec!["'self'".to_owned()];
    for origin in link_urls.iter().filter_map(|u| origin_of(u)) {
        if !connect.contains(&origin) {
            connect.push(origin);
        }
    }
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src {}; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
        connect.join(" ")
    )
}

/// Adds the policy (and `nosniff`, `no-referrer`) to `text/html`
/// responses; others pass unchanged.
pub fn add_to_pages(csp: &HeaderValue, mut response: Response) -> Response {
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        let h = response.headers_mut();
        h.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_allows_wasm_and_the_link_origins() {
        let p = content_security_policy(&["ws://127.0.0.1:9/link".to_owned()]);
        assert!(p.contains("script-src 'self' 'wasm-unsafe-eval'"), "{p}");
        assert!(p.contains("connect-src 'self' ws://127.0.0.1:9;"), "{p}");
    }
}
