//! The web client's SFrame (web/sframe.js, run by Node's WebCrypto) against an independent
//! implementation, the `sframe` crate: frames go both ways and decrypt, for key ids and
//! counters from 0 to past 2^53.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use sframe::frame::{EncryptedFrame, MediaFrame, MonotonicCounter};
use sframe::key::{DecryptionKey, EncryptionKey};
use sframe::CipherSuite;

const BASE_KEY: &[u8] = b"summit-interop-base-key!";
const CASES: &[(u64, u64)] = &[
    (0, 0),
    (7, 7),
    (8, 8),
    (291, 17767),
    (1 << 40, (1 << 53) + 1),
    (u64::MAX, u64::MAX - 1),
];

/// Runs an ES module snippet with web/sframe.js imported as `sf`; returns its stdout.
fn node(script: &str) -> String {
    let module = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/sframe.js");
    let module = module.canonicalize().unwrap();
    let program = format!(
        "const sf = await import('file://{}');\n\
         const hex = (b) => Buffer.from(b).toString('hex');\n\
         const bytes = (h) => new Uint8Array(Buffer.from(h, 'hex'));\n{script}",
        module.display()
    );
    let out = Command::new("node")
        .args(["--input-type=module", "-e", &program])
        .output()
        .expect("node runs (the browser tests need it too)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn payload(kid: u64, ctr: u64) -> Vec<u8> {
    format!("frame {kid}/{ctr} ")
        .repeat(1 + (ctr % 7) as usize)
        .into_bytes()
}

#[test]
fn frames_from_the_browser_code_decrypt_with_the_sframe_crate() {
    let cases: Vec<String> = CASES
        .iter()
        .map(|(k, c)| format!("[{k}n, {c}n, '{}']", hex(&payload(*k, *c))))
        .collect();
    let out = node(&format!(
        "const base = bytes('{}');\n\
         for (const [kid, ctr, pt] of [{}]) {{\n\
           const k = await sf.deriveKey(base, kid);\n\
           const frame = await sf.encrypt(k, kid, ctr, bytes('6d657461'), bytes(pt));\n\
           console.log(hex(frame));\n\
         }}",
        hex(BASE_KEY),
        cases.join(", ")
    ));
    let frames: Vec<&str> = out.lines().collect();
    assert_eq!(frames.len(), CASES.len());
    for ((kid, ctr), frame) in CASES.iter().zip(frames) {
        let key = DecryptionKey::derive_from(CipherSuite::AesGcm128Sha256, *kid, BASE_KEY).unwrap();
        let encrypted = EncryptedFrame::try_with_meta_data(unhex(frame), b"meta").unwrap();
        let media = encrypted.decrypt(&key).unwrap();
        assert_eq!(
            media.payload(),
            payload(*kid, *ctr).as_slice(),
            "{kid}/{ctr}"
        );
        assert_eq!(media.counter(), *ctr);
    }
}

#[test]
fn frames_from_the_sframe_crate_decrypt_with_the_browser_code() {
    let mut lines = Vec::new();
    for (kid, ctr) in CASES {
        let key = EncryptionKey::derive_from(CipherSuite::AesGcm128Sha256, *kid, BASE_KEY).unwrap();
        let mut counter = MonotonicCounter::with_start_value(*ctr, u64::MAX);
        let media =
            MediaFrame::try_with_meta_data(&mut counter, payload(*kid, *ctr), b"meta").unwrap();
        let encrypted = media.encrypt(&key).unwrap();
        lines.push(format!(
            "[{kid}n, '{}']",
            hex(encrypted.sframe_cipher_text())
        ));
    }
    let out = node(&format!(
        "const base = bytes('{}');\n\
         for (const [kid, frame] of [{}]) {{\n\
           const k = await sf.deriveKey(base, kid);\n\
           const pt = await sf.decrypt(async (id) => (id === kid ? k : undefined), bytes('6d657461'), bytes(frame));\n\
           console.log(hex(pt));\n\
         }}",
        hex(BASE_KEY),
        lines.join(", ")
    ));
    let got: Vec<&str> = out.lines().collect();
    for ((kid, ctr), pt) in CASES.iter().zip(&got) {
        assert_eq!(*pt, hex(&payload(*kid, *ctr)), "{kid}/{ctr}");
    }
    assert_eq!(got.len(), CASES.len());
}
