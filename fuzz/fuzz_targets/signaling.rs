//! Signaling messages from a page: any bytes parse to a message or an error, never a panic, and
//! whatever parses survives a round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use summit_proto::ClientMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = serde_json::from_slice::<ClientMessage>(data) {
        let text = serde_json::to_string(&msg).expect("a parsed message serializes");
        let again: ClientMessage = serde_json::from_str(&text).expect("and parses again");
        assert_eq!(msg, again);
    }
});
