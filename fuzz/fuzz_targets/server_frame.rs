//! `decode_server_frame` on arbitrary text (what the client reads): never
//! panics, and a decoded frame re-encodes to text that decodes to the same
//! frame.
#![no_main]

use imlogin_protocol::decode_server_frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(frame) = decode_server_frame(text) {
        let json = frame.to_json();
        assert_eq!(decode_server_frame(&json).as_ref(), Ok(&frame), "{json}");
    }
});
