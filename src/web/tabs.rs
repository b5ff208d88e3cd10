//! The browser side of `tabs: "shared"`: leader election (Web Locks) and
//! the message channel (BroadcastChannel), from `tabs.js`. What the roles
//! do is decided in `bindings.rs`; the messages are [`crate::TabMessage`].

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/src/web/tabs.js")]
extern "C" {
    #[wasm_bindgen(js_name = tabsSupported)]
    fn tabs_supported() -> bool;

    type JsTabLink;

    #[wasm_bindgen(constructor, js_class = "TabLink")]
    fn new(
        name: &str,
        on_leader: &Function,
        on_follower: &Function,
        on_message: &Function,
    ) -> JsTabLink;

    #[wasm_bindgen(method, js_class = "TabLink")]
    fn post(this: &JsTabLink, text: &str);

    #[wasm_bindgen(method, js_class = "TabLink")]
    fn close(this: &JsTabLink);
}

/// What the election decided, or a message from another manager.
pub enum TabSignal {
    /// This manager holds the lock: at once, or on taking over.
    Leader,
    /// Another manager held the lock when this one asked.
    Follower,
    /// Another manager posted this text.
    Message(String),
}

/// This manager's membership of the app's tab group; leaves it on drop
/// (which hands the lock to the next manager in line).
pub struct TabLink {
    link: JsTabLink,
    _on_leader: Closure<dyn FnMut()>,
    _on_follower: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(String)>,
}

impl TabLink {
    /// Joins the group `imlogin:<appKey>`; `None` where the browser lacks
    /// Web Locks or BroadcastChannel (the manager then works per tab).
    pub fn join(app_key: &str, on_signal: impl Fn(TabSignal) + Clone + 'static) -> Option<TabLink> {
        if !tabs_supported() {
            return None;
        }
        let mut name = String::from("imlogin:");
        name.push_str(app_key);
        let leader = on_signal.clone();
        let on_leader = Closure::<dyn FnMut()>::new(move || leader(TabSignal::Leader));
        let follower = on_signal.clone();
        let on_follower = Closure::<dyn FnMut()>::new(move || follower(TabSignal::Follower));
        let on_message = Closure::<dyn FnMut(String)>::new(move |text: String| {
            on_signal(TabSignal::Message(text))
        });
        let link = JsTabLink::new(
            &name,
            on_leader.as_ref().unchecked_ref(),
            on_follower.as_ref().unchecked_ref(),
            on_message.as_ref().unchecked_ref(),
        );
        Some(TabLink {
            link,
            _on_leader: on_leader,
            _on_follower: on_follower,
            _on_message: on_message,
        })
    }

    /// Posts a message to every other manager of the group.
    pub fn post(&self, text: &str) {
        self.link.post(text);
    }
}

impl Drop for TabLink {
    fn drop(&mut self) {
        self.link.close();
    }
}
