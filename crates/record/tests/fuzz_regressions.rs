//! Every saved fuzz input for record files (seeds and crashes found), replayed as a test:
//! parsing and verification end in a result, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use summit_auth::SigningKey;
use summit_record::{verify, RecordFile, VerifyError};

#[test]
fn saved_record_inputs_verify_or_fail_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let key = SigningKey::generate().unwrap().verifying_key();
    let mut parsed = 0;
    for dir in ["seeds/record", "regressions/record"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            let Ok(text) = std::str::from_utf8(&data) else {
                continue;
            };
            if let Ok(r) = RecordFile::parse(text) {
                parsed += 1;
                match verify(&r, &key, None) {
                    // Only the unsigned seed verifies: the others have heads no key signed,
                    // or a dropped entry.
                    Ok(v) => assert_eq!((v.entries, v.signed_through), (5, None)),
                    Err(VerifyError::BadHead { .. } | VerifyError::BadEntry { .. }) => {}
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }
    }
    assert!(parsed >= 4, "the seeds should parse ({parsed} did)");
}
