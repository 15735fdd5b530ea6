//! Every saved fuzz input (seeds and crashes found) for invitation verification, replayed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use summit_auth::{Invitation, SigningKey};
use summit_proto::MeetingName;

#[test]
fn saved_invitation_inputs_are_refused_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let key = SigningKey::generate().unwrap().verifying_key();
    let meeting = MeetingName::parse("fuzz").unwrap();
    for dir in ["seeds/invitation", "regressions/invitation"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let token = String::from_utf8_lossy(&data);
            assert!(Invitation::verify(&token, &key, &meeting, 1_800_000_000).is_err());
        }
    }
}
