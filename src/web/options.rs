//! The `LoginManager` constructor options: read field by field from the JS
//! object so that every error names its field, then range-checked by
//! [`Config::validate`].

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::{BackoffConfig, Config, ConfigError};

/// Where the session record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// `localStorage`: survives reloads and browser restarts.
    Local,
    /// `sessionStorage`: survives reloads of this tab only.
    Session,
    /// Nowhere: every page load needs a manual login.
    None,
}

/// The decoded options.
pub struct Options {
    /// Machine settings (the device id is filled in later, from storage).
    pub config: Config,
    /// The link server's WebSocket URL.
    pub link_url: Option<String>,
    /// The LBS endpoint, tried first when set.
    pub lbs_url: Option<String>,
    pub persistence: Persistence,
    pub debug: bool,
    /// The `reconnectDelay(defaultMs, attempt)` hook.
    pub reconnect_delay: Option<Function>,
    /// The `tokenProvider(accid)` function (dynamic tokens).
    pub token_provider: Option<Function>,
    /// `tabs: "shared"` (the default): one connection per browser profile.
    pub shared_tabs: bool,
}

const KNOWN: [&str; 13] = [
    "appKey",
    "linkUrl",
    "lbsUrl",
    "persistence",
    "retryCount",
    "loginTimeoutMs",
    "connectTimeoutMs",
    "backoff",
    "customTag",
    "debug",
    "tabs",
    "tokenProvider",
    "reconnectDelay",
];

/// A `TypeError` whose message starts with the field's name.
pub fn type_error(field: &str, reason: &str) -> JsValue {
    let mut message = String::from("imlogin: option ");
    message.push_str(field);
    message.push(' ');
    message.push_str(reason);
    js_sys::TypeError::new(&message).into()
}

fn config_error(e: ConfigError) -> JsValue {
    type_error(e.field, e.reason)
}

/// The value of `key`, `None` when absent or `undefined`.
fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined())
}

fn string(obj: &JsValue, key: &'static str) -> Result<Option<String>, JsValue> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| type_error(key, "must be a string")),
    }
}

fn number(obj: &JsValue, key: &'static str, field: &'static str) -> Result<Option<f64>, JsValue> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() => Ok(Some(n)),
            _ => Err(type_error(field, "must be a finite number")),
        },
    }
}

fn check_keys(obj: &JsValue, known: &[&str], prefix: &str) -> Result<(), JsValue> {
    let Some(object) = obj.dyn_ref::<Object>() else {
        return Ok(());
    };
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            let mut field = String::from(prefix);
            field.push_str(&key);
            return Err(type_error(&field, "is not a known option"));
        }
    }
    Ok(())
}

fn url_with_scheme(value: &str, field: &'static str, schemes: &[&str]) -> Result<(), JsValue> {
    let url = web_sys::Url::new(value).map_err(|_| type_error(field, "must be an absolute URL"))?;
    if schemes.contains(&url.protocol().as_str()) {
        Ok(())
    } else if schemes[0] == "ws:" {
        Err(type_error(field, "must be a ws: or wss: URL"))
    } else {
        Err(type_error(field, "must be an http: or https: URL"))
    }
}

impl Options {
    /// Decodes and validates the constructor's argument.
    pub fn from_js(value: &JsValue) -> Result<Options, JsValue> {
        if !value.is_object() || value.is_function() || js_sys::Array::is_array(value) {
            return Err(js_sys::TypeError::new("imlogin: options must be an object").into());
        }
        check_keys(value, &KNOWN, "")?;

        let app_key =
            string(value, "appKey")?.ok_or_else(|| type_error("appKey", "is required"))?;
        let mut config = Config::new(app_key, "pending");

        let link_url = string(value, "linkUrl")?;
        if let Some(url) = &link_url {
            url_with_scheme(url, "linkUrl", &["ws:", "wss:"])?;
        }
        let lbs_url = string(value, "lbsUrl")?;
        if let Some(url) = &lbs_url {
            url_with_scheme(url, "lbsUrl", &["http:", "https:"])?;
        }
        if link_url.is_none() && lbs_url.is_none() {
            return Err(type_error("linkUrl", "is required unless lbsUrl is set"));
        }

        let persistence = match string(value, "persistence")?.as_deref() {
            None | Some("local") => Persistence::Local,
            Some("session") => Persistence::Session,
            Some("none") => Persistence::None,
            Some(_) => {
                return Err(type_error(
                    "persistence",
                    "must be \"local\", \"session\" or \"none\"",
                ))
            }
        };

        if let Some(n) = number(value, "retryCount", "retryCount")? {
            if n.fract() != 0.0 || !(1.0..=10.0).contains(&n) {
                return Err(type_error("retryCount", "must be an integer from 1 to 10"));
            }
            config.retry_count = n as u32;
        }
        if let Some(n) = number(value, "loginTimeoutMs", "loginTimeoutMs")? {
            config.login_timeout_ms = n;
        }
        if let Some(n) = number(value, "connectTimeoutMs", "connectTimeoutMs")? {
            config.connect_timeout_ms = n;
        }
        if let Some(backoff) = get(value, "backoff") {
            if !backoff.is_object() || backoff.is_function() || js_sys::Array::is_array(&backoff) {
                return Err(type_error(
                    "backoff",
                    "must be an object { initialMs, maxMs }",
                ));
            }
            check_keys(&backoff, &["initialMs", "maxMs"], "backoff.")?;
            let defaults = BackoffConfig::default();
            config.backoff = BackoffConfig {
                initial_ms: number(&backoff, "initialMs", "backoff.initialMs")?
                    .unwrap_or(defaults.initial_ms),
                max_ms: number(&backoff, "maxMs", "backoff.maxMs")?.unwrap_or(defaults.max_ms),
            };
        }
        config.custom_tag = string(value, "customTag")?;

        let debug = match get(value, "debug") {
            None => false,
            Some(v) => v
                .as_bool()
                .ok_or_else(|| type_error("debug", "must be a boolean"))?,
        };
        let shared_tabs = match string(value, "tabs")?.as_deref() {
            None | Some("shared") => true,
            Some("perTab") => false,
            Some(_) => return Err(type_error("tabs", "must be \"shared\" or \"perTab\"")),
        };
        let function = |key: &'static str| -> Result<Option<Function>, JsValue> {
            match get(value, key) {
                None => Ok(None),
                Some(v) => v
                    .dyn_into::<Function>()
                    .map(Some)
                    .map_err(|_| type_error(key, "must be a function")),
            }
        };
        let reconnect_delay = function("reconnectDelay")?;
        let token_provider = function("tokenProvider")?;
        config.dynamic_token = token_provider.is_some();

        // Every range check in one place, shared with the native tests.
        config.validate().map_err(config_error)?;
        Ok(Options {
            config,
            link_url,
            lbs_url,
            persistence,
            debug,
            reconnect_delay,
            token_provider,
            shared_tabs,
        })
    }
}
