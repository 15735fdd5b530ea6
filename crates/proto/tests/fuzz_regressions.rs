//! Every saved fuzz input (seeds and crashes found) for signaling parsing, replayed as a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use summit_proto::ClientMessage;

#[test]
fn saved_signaling_inputs_parse_or_fail_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for dir in ["seeds/signaling", "regressions/signaling"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            if let Ok(msg) = serde_json::from_slice::<ClientMessage>(&data) {
                let again: ClientMessage =
                    serde_json::from_str(&serde_json::to_string(&msg).unwrap()).unwrap();
                assert_eq!(msg, again);
                n += 1;
            }
        }
    }
    assert!(n >= 10, "the seeds should parse ({n} did)");
}
