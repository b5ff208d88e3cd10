//! The object-valued getters' values (`clients`, `lastKick`), kept while
//! they are unchanged: a getter returns the very same JS object until its
//! value changes, as React's `useSyncExternalStore` (and any cache keyed on
//! identity) requires. The objects are frozen, so that no app code can
//! change what every other reader sees.

use imlogin_core::protocol::Client;
use imlogin_core::tab_group::LastKick;
use js_sys::Object;
use wasm_bindgen::{JsCast, JsValue};

use super::payloads;

/// The last value each getter returned, with what it was made from.
#[derive(Default)]
pub struct Views {
    clients: Option<(Vec<Client>, JsValue)>,
    last_kick: Option<(LastKick, JsValue)>,
}

impl Views {
    /// `clients`: a frozen array of frozen objects, the same while the list
    /// is unchanged.
    pub fn clients(&mut self, current: &[Client]) -> JsValue {
        match &self.clients {
            Some((list, value)) if list == current => value.clone(),
            _ => {
                let value = payloads::clients(current);
                if let Some(array) = value.dyn_ref::<js_sys::Array>() {
                    for i in 0..array.length() {
                        Object::freeze(array.get(i).unchecked_ref::<Object>());
                    }
                }
                Object::freeze(value.unchecked_ref::<Object>());
                self.clients = Some((current.to_vec(), value.clone()));
                value
            }
        }
    }

    /// `lastKick`: a frozen object, the same until the next kick
    /// (`undefined` when there was none).
    pub fn last_kick(&mut self, current: Option<&LastKick>, now_ms: f64) -> JsValue {
        let Some(kick) = current else {
            self.last_kick = None;
            return JsValue::UNDEFINED;
        };
        match &self.last_kick {
            Some((known, value)) if known == kick => value.clone(),
            _ => {
                let value = payloads::last_kick(kick, now_ms);
                Object::freeze(value.unchecked_ref::<Object>());
                self.last_kick = Some((*kick, value.clone()));
                value
            }
        }
    }
}
