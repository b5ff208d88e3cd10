//! The handful of JS globals the driver uses, bound directly so that no
//! `window` is needed for them (they exist in workers too).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `setTimeout(callback, ms)`: returns the handle for `clearTimeout`.
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(callback: &js_sys::Function, ms: f64) -> JsValue;

    /// `clearTimeout(handle)`.
    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(handle: &JsValue);

    /// `performance.now()`: the monotonic clock the machine runs on.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub fn performance_now() -> f64;

    /// `crypto.getRandomValues(buffer)`.
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    pub fn get_random_values(buffer: &mut [u8]) -> Result<JsValue, JsValue>;

    /// `console.log(...)` with a label and two values.
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    pub fn console_log(label: &str, a: &JsValue, b: &JsValue);

    /// `console.warn(...)` with a label and one value.
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    pub fn console_warn(label: &str, value: &JsValue);

    /// `console.error(...)` with a label and one value.
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    pub fn console_error(label: &str, value: &JsValue);
}

/// Eight bytes from `crypto.getRandomValues`, as a seed.
pub fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    if get_random_values(&mut bytes).is_err() {
        // No Web Crypto: fall back to the clock. Jitter only spreads
        // reconnects; it protects nothing secret.
        return performance_now().to_bits();
    }
    u64::from_le_bytes(bytes)
}

/// `n` random bytes as lower-case hex (for device ids).
pub fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if get_random_values(&mut bytes).is_err() {
        let mut rng = crate::Rng::new(random_u64());
        bytes.iter_mut().for_each(|b| *b = rng.next_u64() as u8);
    }
    let mut out = String::with_capacity(n * 2);
    for b in bytes {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}
