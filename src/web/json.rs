//! The browser's own `JSON.parse`, read through the protocol's
//! [`JsonValue`] accessor: the package needs no JSON library of its own.

use imlogin_protocol::json::{JsonValue, MAX_SAFE_INTEGER};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn json_parse(text: &JsValue) -> Result<JsValue, JsValue>;
}

/// A parsed JSON value living in JS.
pub struct JsJson(pub JsValue);

/// Parses JSON text (a JS string or a Rust one); `None` when it is not JSON.
pub fn parse(text: &JsValue) -> Option<JsJson> {
    json_parse(text).ok().map(JsJson)
}

impl JsJson {
    fn is_plain_object(&self) -> bool {
        self.0.is_object() && !Array::is_array(&self.0)
    }
}

impl JsonValue for JsJson {
    fn field(&self, key: &str) -> Option<Self> {
        if !self.is_plain_object() {
            return None;
        }
        let object: &Object = self.0.unchecked_ref();
        // Own properties only: never read through the prototype chain.
        if !Object::has_own(object, &JsValue::from_str(key)) {
            return None;
        }
        Reflect::get(&self.0, &JsValue::from_str(key))
            .ok()
            .filter(|v| !v.is_null() && !v.is_undefined())
            .map(JsJson)
    }

    fn string(&self) -> Option<String> {
        self.0.as_string()
    }

    fn uint(&self) -> Option<u64> {
        let n = self.0.as_f64()?;
        (n >= 0.0 && n.fract() == 0.0 && n <= MAX_SAFE_INTEGER as f64).then_some(n as u64)
    }

    fn boolean(&self) -> Option<bool> {
        self.0.as_bool()
    }

    fn items(&self) -> Option<Vec<Self>> {
        let array: &Array = self.0.dyn_ref()?;
        Some(array.iter().map(JsJson).collect())
    }

    fn key_count(&self) -> Option<usize> {
        let object: &Object = self.0.unchecked_ref();
        self.is_plain_object()
            .then(|| Object::keys(object).length() as usize)
    }
}
