//! Record files from anyone: parsing and verification answer with a result, never a panic,
//! and nothing verifies with a signed head unless this key signed it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use summit_auth::{SigningKey, VerifyingKey};
use summit_record::{verify, RecordFile};

fn key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().expect("key generation").verifying_key())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(record) = RecordFile::parse(text) {
        // The key is made fresh for the process: no input can carry a valid head.
        if let Ok(v) = verify(&record, key(), None) {
            assert!(v.signed_through.is_none());
        }
        let _ = record.to_markdown();
    }
});
