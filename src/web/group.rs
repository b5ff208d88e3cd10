//! The browser side of `tabs: "shared"` for the tab-group core: the Web
//! Lock's answers in, the group's messages in and out over a
//! BroadcastChannel (`group.js`). Messages travel as structured clones of
//! [`GroupMessage`]'s serde form (serde-wasm-bindgen), never as text.

use imlogin_core::tab_group::{GroupMessage, GROUP_VERSION};
use js_sys::Function;
use serde::Serialize;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/web/group.js")]
extern "C" {
    #[wasm_bindgen(js_name = groupSupported)]
    fn group_supported() -> bool;

    type JsGroupLink;

    #[wasm_bindgen(constructor, js_class = "GroupLink")]
    fn new(name: &str, on_lock: &Function, on_message: &Function) -> JsGroupLink;

    #[wasm_bindgen(method, js_class = "GroupLink")]
    fn post(this: &JsGroupLink, data: &JsValue);

    #[wasm_bindgen(method, js_class = "GroupLink", js_name = letGo)]
    fn let_go(this: &JsGroupLink);

    #[wasm_bindgen(method, js_class = "GroupLink")]
    fn close(this: &JsGroupLink);
}

/// What the browser told this manager about its group.
pub enum GroupSignal {
    /// This manager holds the Web Lock.
    LockGranted,
    /// Another manager holds it; this one queues for it.
    LockHeldElsewhere,
    /// The lock request was refused or failed.
    LockFailed,
    /// Another manager posted this message.
    Message(Box<GroupMessage>),
}

/// This manager's membership of the app's tab group; leaves it on drop
/// (which hands the lock to the next manager in line).
pub struct GroupLink {
    link: JsGroupLink,
    _on_lock: Closure<dyn FnMut(String)>,
    _on_message: Closure<dyn FnMut(JsValue)>,
}

impl GroupLink {
    /// Joins the group of `app_key` (`imlogin:<appKey>:v<version>`) and
    /// asks for its lock; `None` where the browser lacks Web Locks or
    /// BroadcastChannel (the manager then works on its own).
    pub fn join(app_key: &str, on_signal: impl Fn(GroupSignal) + Clone + 'static) -> Option<Self> {
        if !group_supported() {
            return None;
        }
        let mut name = String::from("imlogin:");
        name.push_str(app_key);
        name.push_str(":v");
        name.push_str(&GROUP_VERSION.to_string());
        let lock = on_signal.clone();
        let on_lock = Closure::<dyn FnMut(String)>::new(move |answer: String| {
            lock(match answer.as_str() {
                "granted" => GroupSignal::LockGranted,
                "held" => GroupSignal::LockHeldElsewhere,
                _ => GroupSignal::LockFailed,
            })
        });
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |data: JsValue| {
            // Anything that is not a message of this version is ignored.
            if let Ok(message) = serde_wasm_bindgen::from_value(data) {
                on_signal(GroupSignal::Message(Box::new(message)));
            }
        });
        let link = JsGroupLink::new(
            &name,
            on_lock.as_ref().unchecked_ref(),
            on_message.as_ref().unchecked_ref(),
        );
        Some(GroupLink {
            link,
            _on_lock: on_lock,
            _on_message: on_message,
        })
    }

    /// Posts `message` to every other manager of the group.
    pub fn post(&self, message: &GroupMessage) {
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        if let Ok(data) = message.serialize(&serializer) {
            self.link.post(&data);
        }
    }
}

impl GroupLink {
    /// Gives the lock back to the next manager in line.
    pub fn let_go(&self) {
        self.link.let_go();
    }
}

impl Drop for GroupLink {
    fn drop(&mut self) {
        self.link.close();
    }
}
