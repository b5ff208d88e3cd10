//! The `LoginManager` constructor options, the `{ force }` options of
//! `login` and the `{ force, accid, token }` options of `autoLogin`: JS objects decoded with serde-wasm-bindgen into
//! serde-derived structs, then range-checked by [`Config::validate`].
//!
//! Every error is a `TypeError` whose message starts with
//! `imlogin: option <field>`: a key no struct declares (serde-wasm-bindgen
//! reads declared fields only, so unknown keys are checked against the
//! struct's own field list), a value of the wrong type (each field's
//! `deserialize_with` function names its field and says what it must be),
//! or a value out of range. `undefined` and `null` both mean "not set".

use crate::protocol::field_names;
use js_sys::{Array, Function, Object};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

use crate::{BackoffConfig, Config, ConfigError};

/// Where the session record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Persistence {
    /// `localStorage`: survives reloads and browser restarts.
    Local,
    /// `sessionStorage`: survives reloads of this tab only.
    Session,
    /// Nowhere: every page load needs a manual login.
    None,
}

/// What the saved session may hold (`sessionBinding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SessionBinding {
    /// A resume ticket bound to this profile's device key, never the
    /// token; without WebCrypto or IndexedDB nothing is saved.
    Device,
    /// The same where a device key can be kept; elsewhere the token
    /// record (`{accid, token}`) as before device binding.
    Token,
}

/// How the managers of the app's tabs connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
enum Tabs {
    /// One connection per browser profile, held by a leader tab.
    Shared,
    /// One connection per manager.
    PerTab,
}

/// The constructor's argument, as the app wrote it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManagerOptions {
    #[serde(default, deserialize_with = "app_key")]
    app_key: Option<String>,
    #[serde(default, deserialize_with = "link_url")]
    link_url: Option<String>,
    #[serde(default, deserialize_with = "lbs_url")]
    lbs_url: Option<String>,
    #[serde(default, deserialize_with = "persistence")]
    persistence: Option<Persistence>,
    #[serde(default, deserialize_with = "retry_count")]
    retry_count: Option<f64>,
    #[serde(default, deserialize_with = "login_timeout_ms")]
    login_timeout_ms: Option<f64>,
    #[serde(default, deserialize_with = "connect_timeout_ms")]
    connect_timeout_ms: Option<f64>,
    /// Decoded on its own as [`BackoffOptions`], so that its keys are
    /// checked too.
    #[serde(default, deserialize_with = "backoff")]
    backoff: Option<JsValue>,
    #[serde(default, deserialize_with = "custom_tag")]
    custom_tag: Option<String>,
    #[serde(default, deserialize_with = "debug")]
    debug: Option<bool>,
    #[serde(default, deserialize_with = "tabs")]
    tabs: Option<Tabs>,
    #[serde(default, deserialize_with = "token_provider")]
    token_provider: Option<Function>,
    #[serde(default, deserialize_with = "reconnect_delay")]
    reconnect_delay: Option<Function>,
    #[serde(default, deserialize_with = "session_binding")]
    session_binding: Option<SessionBinding>,
}

/// `backoff: { initialMs?, maxMs? }`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BackoffOptions {
    #[serde(default, deserialize_with = "initial_ms")]
    initial_ms: Option<f64>,
    #[serde(default, deserialize_with = "max_ms")]
    max_ms: Option<f64>,
}

/// `{ force?, signal? }`, the options of `login`.
#[derive(Deserialize)]
struct LoginOptions {
    #[serde(default, deserialize_with = "force")]
    force: Option<bool>,
    #[serde(default, deserialize_with = "signal")]
    signal: Option<AbortSignal>,
}

/// `{ force?, accid?, token?, signal? }`, the options of `autoLogin`.
#[derive(Deserialize)]
struct AutoLoginOptions {
    #[serde(default, deserialize_with = "force")]
    force: Option<bool>,
    #[serde(default, deserialize_with = "signal")]
    signal: Option<AbortSignal>,
    #[serde(default, deserialize_with = "accid")]
    accid: Option<String>,
    #[serde(default, deserialize_with = "token")]
    token: Option<String>,
}

// What each kind of field must be. `Err(())` becomes the field's own
// message below.

fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, ()> {
    Option::deserialize(d).map_err(drop)
}

fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, ()> {
    Option::deserialize(d).map_err(drop)
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, ()> {
    match Option::<f64>::deserialize(d) {
        Ok(n) if n.is_none_or(f64::is_finite) => Ok(n),
        _ => Err(()),
    }
}

fn choice<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, ()> {
    Option::deserialize(d).map_err(drop)
}

/// A JS value passed through untouched (serde-wasm-bindgen's `preserve`).
#[derive(Deserialize)]
struct Js(#[serde(with = "serde_wasm_bindgen::preserve")] JsValue);

fn js_value<'de, D: Deserializer<'de>>(
    d: D,
    accept: fn(&JsValue) -> bool,
) -> Result<Option<JsValue>, ()> {
    match Option::<Js>::deserialize(d) {
        Ok(None) => Ok(None),
        Ok(Some(Js(v))) if accept(&v) => Ok(Some(v)),
        _ => Err(()),
    }
}

fn function<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Function>, ()> {
    js_value(d, JsValue::is_function).map(|f| f.map(JsCast::unchecked_into))
}

fn object<'de, D: Deserializer<'de>>(d: D) -> Result<Option<JsValue>, ()> {
    js_value(d, is_plain_object)
}

fn abort_signal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<AbortSignal>, ()> {
    js_value(d, JsValue::is_instance_of::<AbortSignal>).map(|s| s.map(JsCast::unchecked_into))
}

/// One `deserialize_with` function per field: its kind, and the message
/// (field name first) of its TypeError.
macro_rules! fields {
    ($($field:ident: $type:ty = $kind:ident, $message:literal;)*) => {$(
        fn $field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<$type>, D::Error> {
            $kind(d).map_err(|()| D::Error::custom($message))
        }
    )*};
}

fields! {
    app_key: String = string, "appKey must be a string";
    link_url: String = string, "linkUrl must be a string";
    lbs_url: String = string, "lbsUrl must be a string";
    persistence: Persistence = choice, "persistence must be \"local\", \"session\" or \"none\"";
    retry_count: f64 = number, "retryCount must be a finite number";
    login_timeout_ms: f64 = number, "loginTimeoutMs must be a finite number";
    connect_timeout_ms: f64 = number, "connectTimeoutMs must be a finite number";
    backoff: JsValue = object, "backoff must be an object { initialMs, maxMs }";
    custom_tag: String = string, "customTag must be a string";
    debug: bool = boolean, "debug must be a boolean";
    tabs: Tabs = choice, "tabs must be \"shared\" or \"perTab\"";
    token_provider: Function = function, "tokenProvider must be a function";
    reconnect_delay: Function = function, "reconnectDelay must be a function";
    session_binding: SessionBinding = choice, "sessionBinding must be \"device\" or \"token\"";
    initial_ms: f64 = number, "initialMs must be a finite number";
    max_ms: f64 = number, "maxMs must be a finite number";
    force: bool = boolean, "force must be a boolean";
    accid: String = string, "accid must be a string";
    token: String = string, "token must be a string";
    signal: AbortSignal = abort_signal, "signal must be an AbortSignal";
}

fn is_plain_object(value: &JsValue) -> bool {
    value.is_object() && !Array::is_array(value)
}

/// A `TypeError` whose message starts with `imlogin: option <field>`.
pub fn type_error(field: &str, reason: &str) -> JsValue {
    let mut message = String::from("imlogin: option ");
    message.push_str(field);
    message.push(' ');
    message.push_str(reason);
    js_sys::TypeError::new(&message).into()
}

/// Decodes the plain object `value` into `T`: `prefix` goes before every
/// field name in an error, `unknown` is what an undeclared key "is not".
fn decode<T: DeserializeOwned>(value: &JsValue, prefix: &str, unknown: &str) -> Result<T, JsValue> {
    let known = field_names::<T>();
    let object: &Object = value.unchecked_ref();
    for key in Object::keys(object).iter() {
        let key = key.as_string().unwrap_or_default();
        if !known.contains(&key.as_str()) {
            let mut field = String::from(prefix);
            field.push_str(&key);
            return Err(type_error(&field, unknown));
        }
    }
    T::deserialize(serde_wasm_bindgen::Deserializer::from(value.clone())).map_err(|e| {
        // The field's own message (see `fields!`), in a JS Error.
        let message = JsValue::from(e)
            .dyn_into::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default();
        let mut text = String::from("imlogin: option ");
        text.push_str(prefix);
        text.push_str(&message);
        js_sys::TypeError::new(&text).into()
    })
}

/// The decoded constructor options.
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
    /// `sessionBinding` (default `"device"`).
    pub session_binding: SessionBinding,
}

fn config_error(e: ConfigError) -> JsValue {
    type_error(e.field, e.reason)
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
        if !is_plain_object(value) {
            return Err(js_sys::TypeError::new("imlogin: options must be an object").into());
        }
        let o: ManagerOptions = decode(value, "", "is not a known option")?;

        let app_key = o
            .app_key
            .ok_or_else(|| type_error("appKey", "is required"))?;
        let mut config = Config::new(app_key, "pending");
        if let Some(url) = &o.link_url {
            url_with_scheme(url, "linkUrl", &["ws:", "wss:"])?;
        }
        if let Some(url) = &o.lbs_url {
            url_with_scheme(url, "lbsUrl", &["http:", "https:"])?;
        }
        if o.link_url.is_none() && o.lbs_url.is_none() {
            return Err(type_error("linkUrl", "is required unless lbsUrl is set"));
        }
        if let Some(n) = o.retry_count {
            if n.fract() != 0.0 || !(1.0..=10.0).contains(&n) {
                return Err(type_error("retryCount", "must be an integer from 1 to 10"));
            }
            config.retry_count = n as u32;
        }
        if let Some(n) = o.login_timeout_ms {
            config.login_timeout_ms = n;
        }
        if let Some(n) = o.connect_timeout_ms {
            config.connect_timeout_ms = n;
        }
        if let Some(backoff) = &o.backoff {
            let b: BackoffOptions = decode(backoff, "backoff.", "is not a known option")?;
            let defaults = BackoffConfig::default();
            config.backoff = BackoffConfig {
                initial_ms: b.initial_ms.unwrap_or(defaults.initial_ms),
                max_ms: b.max_ms.unwrap_or(defaults.max_ms),
            };
        }
        config.custom_tag = o.custom_tag;
        config.dynamic_token = o.token_provider.is_some();
        config.delay_hook = o.reconnect_delay.is_some();

        // Every range check in one place, shared with the native tests.
        config.validate().map_err(config_error)?;
        Ok(Options {
            config,
            link_url: o.link_url,
            lbs_url: o.lbs_url,
            persistence: o.persistence.unwrap_or(Persistence::Local),
            debug: o.debug.unwrap_or(false),
            reconnect_delay: o.reconnect_delay,
            token_provider: o.token_provider,
            shared_tabs: o.tabs != Some(Tabs::PerTab),
            session_binding: o.session_binding.unwrap_or(SessionBinding::Device),
        })
    }
}

/// What `login(accid, token, options)` asks for.
pub struct Login {
    /// Mandatory login: skip the device rule.
    pub force: bool,
    /// Aborts the call.
    pub signal: Option<AbortSignal>,
}

/// Reads `{ force?, signal? }`, the options of `login` (`undefined` or
/// `null`: no options).
pub fn login_options(value: Option<&JsValue>) -> Result<Login, JsValue> {
    let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(Login {
            force: false,
            signal: None,
        });
    };
    if !value.is_object() {
        return Err(type_error(
            "force",
            "options must be an object { force?, signal? }",
        ));
    }
    let options: LoginOptions = decode(value, "", "is not a known login option")?;
    Ok(Login {
        force: options.force.unwrap_or(false),
        signal: options.signal,
    })
}

/// What `autoLogin(options)` asks for.
pub struct AutoLogin {
    /// Mandatory login: skip the device rule.
    pub force: bool,
    /// Credentials the app server has just issued (`accid`, and `token`
    /// unless a `tokenProvider` gives tokens), instead of the saved ones.
    pub issued: Option<(String, Option<String>)>,
    /// Aborts the call.
    pub signal: Option<AbortSignal>,
}

/// Reads `{ force?, accid?, token?, signal? }`, the options of `autoLogin`
/// (`undefined` or `null`: no options). A `token` without an `accid` is a
/// `TypeError`.
pub fn auto_login_options(value: Option<&JsValue>) -> Result<AutoLogin, JsValue> {
    let Some(value) = value.filter(|v| !v.is_undefined() && !v.is_null()) else {
        return Ok(AutoLogin {
            force: false,
            issued: None,
            signal: None,
        });
    };
    if !value.is_object() {
        return Err(type_error(
            "force",
            "options must be an object { force?, accid?, token?, signal? }",
        ));
    }
    let o: AutoLoginOptions = decode(value, "", "is not a known autoLogin option")?;
    if o.accid.is_none() && o.token.is_some() {
        return Err(type_error("token", "needs an accid"));
    }
    Ok(AutoLogin {
        force: o.force.unwrap_or(false),
        issued: o.accid.map(|accid| (accid, o.token)),
        signal: o.signal,
    })
}
