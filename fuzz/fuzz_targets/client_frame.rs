//! `decode_client_frame` on arbitrary text: never panics, every error has a
//! close code or is a 414 login, a decoded login respects the limits, and
//! what the client encoder writes decodes back to the same frame.
#![no_main]

use imlogin_protocol::limits::{self, MAX_FRAME_BYTES};
use imlogin_protocol::{decode_client_frame, ClientFrame, Credential, DecodeError, LoginMode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match decode_client_frame(text) {
        Ok(frame) => {
            if let ClientFrame::Login(f) = &frame {
                assert_eq!(f.accid, f.accid.to_ascii_lowercase());
                assert!(limits::normalize_accid(&f.accid).is_ok());
                match f.credential() {
                    Some(Credential::Token { token, device_key }) => {
                        assert!(limits::check_token(token).is_ok());
                        assert!(device_key.is_none_or(|k| limits::check_device_key(k).is_ok()));
                    }
                    Some(Credential::Ticket {
                        ticket, nonce, sig, ..
                    }) => {
                        assert_eq!(f.mode, LoginMode::Auto);
                        assert!(limits::check_ticket(ticket).is_ok());
                        assert!(limits::check_nonce(nonce).is_ok());
                        assert!(limits::check_sig(sig).is_ok());
                    }
                    None => panic!("a decoded login without exactly one credential"),
                }
                assert!(limits::check_device_id(&f.device_id).is_ok());
                assert!(limits::check_sdk(&f.sdk).is_ok());
                assert!(limits::check_app_key(&f.app_key).is_ok());
            }
            let json = frame.to_json();
            if json.len() <= MAX_FRAME_BYTES {
                assert_eq!(decode_client_frame(&json).as_ref(), Ok(&frame), "{json}");
            }
        }
        Err(e) => {
            assert_eq!(
                e.close_code().is_none(),
                matches!(e, DecodeError::BadLogin(_)),
                "only a bad login is answered without a close"
            );
            if text.len() > MAX_FRAME_BYTES {
                assert!(matches!(e, DecodeError::TooLarge { .. }));
            }
            let _ = e.to_string();
        }
    }
});
