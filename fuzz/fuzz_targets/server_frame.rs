//! `decode_server_frame` on arbitrary text (what the native client reads):
//! never panics, and a decoded frame re-encodes to text that decodes to the
//! same frame. The browser's way — the tag looked up first, then the frame
//! read as `{"<t>": frame}` by `decode_server_variant` — must agree with the
//! derive on every parsed object.
#![no_main]

use imlogin_protocol::{decode_server_frame, decode_server_value, decode_server_variant};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = decode_server_frame(text) {
        let json = frame.to_json();
        assert_eq!(decode_server_frame(&json).as_ref(), Ok(&frame), "{json}");
    }
    // A parsed object has no duplicate keys (the last one wins, as in the
    // browser's JSON.parse): both ways read the same object.
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let by_tag = match value.get("t") {
        Some(Value::String(t)) => {
            let mut wrapper = Map::new();
            wrapper.insert(t.clone(), value.clone());
            decode_server_variant(&Value::Object(wrapper)).ok()
        }
        _ => None,
    };
    assert_eq!(by_tag, decode_server_value(&value).ok(), "{text}");
});
