//! Invitation verification: any token is refused with a reason or accepted, never a panic, and
//! nothing is accepted without this key's signature.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use summit_auth::{Invitation, SigningKey, VerifyingKey};
use summit_proto::MeetingName;

fn key() -> &'static VerifyingKey {
    static KEY: OnceLock<VerifyingKey> = OnceLock::new();
    KEY.get_or_init(|| SigningKey::generate().expect("key generation").verifying_key())
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let meeting = MeetingName::parse("fuzz").expect("a valid name");
    // The key is made fresh for the process, so no input can carry a valid signature.
    assert!(Invitation::verify(token, key(), &meeting, 1_800_000_000).is_err());
});
