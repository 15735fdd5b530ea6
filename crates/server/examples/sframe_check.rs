//! Decrypts SFrame frames captured in a browser with the Rust `sframe` crate, an implementation
//! independent of the web client's, and checks each against what the browser decrypted.
//!
//! Input (the browser E2EE test writes it): `{"keys": [{"kid", "base"}], "frames": [{"kid",
//! "clearBytes", "frame", "plain"}]}`, KIDs as decimal strings, bytes as hex. Exits non-zero on
//! the first frame that does not decrypt to the same bytes.
use std::collections::HashMap;

use anyhow::{bail, Context};
use sframe::frame::EncryptedFrame;
use sframe::key::DecryptionKey;
use sframe::CipherSuite;

fn unhex(s: &str) -> anyhow::Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        bail!("odd hex length");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("not hex"))
        .collect()
}

fn text<'a>(v: &'a serde_json::Value, field: &str) -> anyhow::Result<&'a str> {
    v[field]
        .as_str()
        .with_context(|| format!("missing '{field}' in {v}"))
}

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .context("usage: sframe_check <captured.json>")?;
    let input: serde_json::Value = serde_json::from_slice(&std::fs::read(&path)?)?;
    let mut bases = HashMap::new();
    for k in input["keys"].as_array().context("no keys")? {
        let kid: u64 = text(k, "kid")?.parse()?;
        bases.insert(kid, unhex(text(k, "base")?)?);
    }
    let frames = input["frames"].as_array().context("no frames")?;
    for (i, f) in frames.iter().enumerate() {
        let kid: u64 = text(f, "kid")?.parse()?;
        let base = bases
            .get(&kid)
            .with_context(|| format!("frame {i}: no key for KID {kid}"))?;
        let key = DecryptionKey::derive_from(CipherSuite::AesGcm128Sha256, kid, base)
            .map_err(|e| anyhow::anyhow!("frame {i}: {e:?}"))?;
        let data = unhex(text(f, "frame")?)?;
        let plain = unhex(text(f, "plain")?)?;
        let n = f["clearBytes"].as_u64().context("clearBytes")? as usize;
        if n > data.len() || n > plain.len() {
            bail!("frame {i}: shorter than its clear bytes");
        }
        let (clear, body) = data.split_at(n);
        let encrypted = EncryptedFrame::try_with_meta_data(body, clear)
            .map_err(|e| anyhow::anyhow!("frame {i}: not SFrame: {e:?}"))?;
        let media = encrypted
            .decrypt(&key)
            .map_err(|e| anyhow::anyhow!("frame {i} (KID {kid}) does not decrypt: {e:?}"))?;
        if media.payload() != &plain[n..] {
            bail!("frame {i} (KID {kid}) decrypts to other bytes than the browser's");
        }
    }
    println!(
        "{} frames decrypted with the sframe crate, all as in the browser",
        frames.len()
    );
    Ok(())
}
