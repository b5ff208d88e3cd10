//! The machine's settings and the validation of the options the app passes.

use imlogin_protocol::{limits, ClientType};

/// Reconnect backoff: full-jitter exponential between `initial_ms` and `max_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// The ceiling of the first delay, in ms (default 250: the first
    /// steps, 0–250, 0–500, 0–1 000 ms, come back well before
    /// socket.io's 0.5–1.5 s, 1–3 s; docs/behaviour.md#backoff).
    pub initial_ms: f64,
    /// The largest ceiling any delay may reach, in ms (default 10 000).
    pub max_ms: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial_ms: 250.0,
            max_ms: 10_000.0,
        }
    }
}

/// Everything the login machine needs to know besides its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The app's key, sent in every login frame.
    pub app_key: String,
    /// This browser profile's (or device's) id, sent in every login frame.
    pub device_id: String,
    /// The device kind; the browser module always uses [`ClientType::Web`].
    pub client_type: ClientType,
    /// An app-chosen tag shown to the account's other sessions.
    pub custom_tag: Option<String>,
    /// The `sdk` field of the login frame.
    pub sdk: String,
    /// Manual login: connection attempts in total (1–10, default 3).
    pub retry_count: u32,
    /// Manual login: overall deadline in ms (≥ 1 000, default 30 000).
    pub login_timeout_ms: f64,
    /// One connection attempt, open and login handshake, in ms (≥ 1 000,
    /// default 10 000).
    pub connect_timeout_ms: f64,
    /// Reconnect backoff.
    pub backoff: BackoffConfig,
    /// Full jitter on the reconnect backoff (default `true`). With `false`
    /// every delay is exactly its ceiling, `min(max, initial · 2^n)`: the
    /// synchronized "thundering herd" the jitter exists to prevent. Only
    /// for measuring that difference (`bench/`); not a JS option.
    pub backoff_jitter: bool,
    /// Heartbeat interval until the server suggests one in `loginOk`, in ms.
    pub default_heartbeat_ms: f64,
    /// Dynamic tokens (NIM's dynamic-token mode, the JS `tokenProvider`):
    /// before every connection attempt the machine asks the driver for a
    /// fresh token with [`crate::Output::FetchToken`] and logs in with it.
    pub dynamic_token: bool,
    /// The app chooses reconnect delays (the JS `reconnectDelay`): at every
    /// retry the machine asks the driver with
    /// [`crate::Output::ChooseDelay`] and waits for
    /// `LoginMachine::handle_delay`, keeping its own backoff delay until
    /// the answer comes.
    pub delay_hook: bool,
    /// Device binding (docs/behaviour.md, "Device binding"): every login
    /// with a token asks the driver for the device's public key
    /// ([`crate::Output::Prove`]) and sends it, so that the server issues a
    /// resume ticket; the record then holds the ticket, never the token.
    /// Set when the driver has a device key (default `false`).
    pub device_binding: bool,
    /// Whether a login that earned no ticket may persist its token record
    /// (`{accid, token}`): `true` (default) as before device binding and
    /// for `sessionBinding: "token"`; `false` for `"device"`, which then
    /// persists nothing.
    pub persist_token: bool,
}

impl Config {
    /// A configuration with every default, for `app_key` and `device_id`.
    pub fn new(app_key: impl Into<String>, device_id: impl Into<String>) -> Self {
        Config {
            app_key: app_key.into(),
            device_id: device_id.into(),
            client_type: ClientType::Web,
            custom_tag: None,
            sdk: imlogin_protocol::SDK_NAME.to_owned(),
            retry_count: 3,
            login_timeout_ms: 30_000.0,
            connect_timeout_ms: 10_000.0,
            backoff: BackoffConfig::default(),
            backoff_jitter: true,
            default_heartbeat_ms: 30_000.0,
            dynamic_token: false,
            delay_hook: false,
            device_binding: false,
            persist_token: true,
        }
    }

    /// Checks every setting against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        limits::check_app_key(&self.app_key).map_err(|e| ConfigError::new("appKey", e.reason()))?;
        limits::check_device_id(&self.device_id)
            .map_err(|e| ConfigError::new("deviceId", e.reason()))?;
        if let Some(tag) = &self.custom_tag {
            limits::check_custom_tag(tag).map_err(|e| ConfigError::new("customTag", e.reason()))?;
        }
        if !(1..=10).contains(&self.retry_count) {
            return Err(ConfigError::new(
                "retryCount",
                "must be an integer from 1 to 10",
            ));
        }
        check_ms("loginTimeoutMs", self.login_timeout_ms, 1_000.0)?;
        check_ms("connectTimeoutMs", self.connect_timeout_ms, 1_000.0)?;
        check_ms("backoff.initialMs", self.backoff.initial_ms, 1.0)?;
        check_ms("backoff.maxMs", self.backoff.max_ms, 1.0)?;
        if self.backoff.max_ms < self.backoff.initial_ms {
            return Err(ConfigError::new(
                "backoff.maxMs",
                "must be at least backoff.initialMs",
            ));
        }
        check_ms("heartbeatMs", self.default_heartbeat_ms, 1_000.0)?;
        Ok(())
    }
}

/// The largest duration any setting accepts: one day. Anything longer is
/// almost certainly a unit mistake, and it keeps timer arithmetic exact.
pub const MAX_DURATION_MS: f64 = 86_400_000.0;

fn check_ms(field: &'static str, value: f64, min: f64) -> Result<(), ConfigError> {
    if value.is_finite() && value >= min && value <= MAX_DURATION_MS {
        Ok(())
    } else if min >= 1_000.0 {
        Err(ConfigError::new(
            field,
            "must be a number of ms from 1000 to 86400000",
        ))
    } else {
        Err(ConfigError::new(
            field,
            "must be a number of ms from 1 to 86400000",
        ))
    }
}

/// A setting out of range: becomes a JS `TypeError` naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The option's JS name, e.g. `"retryCount"` or `"backoff.maxMs"`.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl ConfigError {
    /// A new error for `field`.
    pub const fn new(field: &'static str, reason: &'static str) -> Self {
        ConfigError { field, reason }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.field)?;
        f.write_str(" ")?;
        f.write_str(self.reason)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::new("key", "dev").validate(), Ok(()));
    }

    #[test]
    fn out_of_range_settings_name_their_field() {
        let mut c = Config::new("key", "dev");
        c.retry_count = 0;
        assert_eq!(c.validate().unwrap_err().field, "retryCount");
        let mut c = Config::new("key", "dev");
        c.login_timeout_ms = f64::NAN;
        assert_eq!(c.validate().unwrap_err().field, "loginTimeoutMs");
        let mut c = Config::new("key", "dev");
        c.connect_timeout_ms = 999.0;
        assert_eq!(c.validate().unwrap_err().field, "connectTimeoutMs");
        let mut c = Config::new("key", "dev");
        c.backoff.max_ms = 10.0;
        assert_eq!(c.validate().unwrap_err().field, "backoff.maxMs");
        let mut c = Config::new("", "dev");
        assert_eq!(c.validate().unwrap_err().field, "appKey");
        c.app_key = "k".into();
        c.custom_tag = Some("x".repeat(33));
        assert_eq!(c.validate().unwrap_err().field, "customTag");
    }
}
