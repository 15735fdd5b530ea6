//! `summit record unseal`: turns a sealed recording of an end-to-end encrypted meeting into
//! playable files, offline, with the organizer's recording private key: opens the pages'
//! sealed media keys, decrypts every frame (SFrame, RFC 9605, with the `sframe` crate) and
//! writes Opus in Ogg and VP8 in WebM as a plain recording would have been.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use summit_codec::vp8_is_keyframe;

use sframe::frame::EncryptedFrame;
use sframe::key::DecryptionKey;
use sframe::CipherSuite;

use crate::key;
use crate::ogg_opus::OggOpus;
use crate::sealed_log::{SEALED_MAGIC, SEALED_MAGIC_V1, SEALED_RED};
use crate::sink::FrameSink;
use crate::vp8_webm::Vp8Webm;
use crate::{Error, Result, ABOUT_FILE, KEYS_FILE};

/// What one sealed track became.
pub struct Unsealed {
    /// The playable file written.
    pub file: PathBuf,
    /// Frames decrypted into it.
    pub frames: u64,
    /// Frames no key opened (skipped).
    pub undecryptable: u64,
}

/// Unseals every track of the recording in `dir` into `dir/unsealed/`.
pub fn unseal(dir: &Path, key_file: &Path) -> Result<Vec<Unsealed>> {
    let about: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(ABOUT_FILE)).map_err(
            Error::io(format!("{} is not a Summit recording", dir.display())),
        )?)?;
    let meeting = about["meeting"]
        .as_str()
        .ok_or_else(|| Error::invalid("the recording does not name its meeting"))?;
    if about["sealed"] != true {
        return Err(Error::invalid(
            "this recording is not sealed: its files play as they are",
        ));
    }
    let key = key::read_private(key_file)?;
    let mut bases: HashMap<u64, Vec<u8>> = HashMap::new();
    let mut unopened = 0;
    let keys = std::fs::read_to_string(dir.join(KEYS_FILE)).unwrap_or_default();
    for line in keys.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let data = v["data"]
            .as_str()
            .ok_or_else(|| Error::invalid("a key line without data"))?;
        match key::open(&key, meeting, data) {
            Ok(k) if v["participant"].as_u64() == Some(k.sender) => {
                bases.insert((k.sender << 16) | k.index, k.base);
            }
            // A page may seal only its own keys: anything else is ignored.
            Ok(_) | Err(_) => unopened += 1,
        }
    }
    if bases.is_empty() {
        return Err(Error::invalid(format!(
            "no sealed key opens with this recording key ({unopened} tried): is it the meeting's?"
        )));
    }
    let out = dir.join("unsealed");
    std::fs::create_dir_all(&out)?;
    let mut done = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sealed"))
        .collect();
    entries.sort();
    for path in entries {
        done.push(unseal_track(&path, &out, &bases)?);
    }
    Ok(done)
}

fn unseal_track(path: &Path, out: &Path, bases: &HashMap<u64, Vec<u8>>) -> Result<Unsealed> {
    let data = std::fs::read(path).map_err(Error::io(format!("cannot read {}", path.display())))?;
    let nl = data
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| Error::invalid("not a sealed track"))?;
    let header =
        std::str::from_utf8(&data[..nl]).map_err(|_| Error::invalid("not a sealed track"))?;
    // Version 2 flags RED payloads in the top bit of a frame's length; version 1 has none.
    let (kind, flags) = match (
        header.strip_prefix(SEALED_MAGIC),
        header.strip_prefix(SEALED_MAGIC_V1),
    ) {
        (Some(k), _) => (k, true),
        (None, Some(k)) => (k, false),
        _ => {
            return Err(Error::invalid(format!(
                "{} is not a sealed track",
                path.display()
            )))
        }
    };
    let audio = match kind {
        "audio" => true,
        "video" => false,
        _ => {
            return Err(Error::invalid(format!(
                "{} is not a sealed track",
                path.display()
            )))
        }
    };
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| Error::invalid("a sealed track without a name"))?;
    let file = out.join(format!("{stem}.{}", if audio { "ogg" } else { "webm" }));
    let mut sink: Box<dyn FrameSink> = if audio {
        Box::new(OggOpus::create(&file)?)
    } else {
        Box::new(Vp8Webm::new(file.clone()))
    };
    let mut keys: HashMap<u64, DecryptionKey> = HashMap::new();
    let (mut frames, mut undecryptable) = (0, 0);
    let mut rest = &data[nl + 1..];
    let mut plain = Vec::new();
    while rest.len() >= 12 {
        let word = |i: usize| u32::from_be_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
        let (ts, rate, word_len) = (word(0), word(4), word(8));
        let red = flags && word_len & SEALED_RED != 0;
        let len = (if flags {
            word_len & !SEALED_RED
        } else {
            word_len
        }) as usize;
        let Some(frame) = rest.get(12..12 + len) else {
            break; // cut short (a crash while recording): keep what came before
        };
        rest = &rest[12 + len..];
        frames += 1;
        // The bytes the page left in the clear (docs/e2ee.md): the Opus TOC byte; for VP8 the
        // frame tag and, for a keyframe, the start code and size.
        let keyframe = vp8_is_keyframe(frame);
        let n = if audio {
            1
        } else if keyframe {
            10
        } else {
            3
        }
        .min(frame.len());
        let (clear, body) = frame.split_at(n);
        let Ok(encrypted) = EncryptedFrame::try_with_meta_data(body, clear) else {
            undecryptable += 1;
            continue;
        };
        let kid = encrypted.header().key_id();
        if let (std::collections::hash_map::Entry::Vacant(slot), Some(base)) =
            (keys.entry(kid), bases.get(&kid))
        {
            if let Ok(k) = DecryptionKey::derive_from(CipherSuite::AesGcm128Sha256, kid, base) {
                slot.insert(k);
            }
        }
        let Some(key) = keys.get(&kid) else {
            undecryptable += 1;
            continue;
        };
        let Ok(media) = encrypted.decrypt(key) else {
            undecryptable += 1;
            continue;
        };
        plain.clear();
        plain.extend_from_slice(clear);
        plain.extend_from_slice(media.payload());
        if red {
            sink.red_frame(ts, rate, &plain)?;
        } else {
            sink.frame(ts, rate, &plain)?;
        }
    }
    sink.finish()?;
    Ok(Unsealed {
        file,
        frames,
        undecryptable,
    })
}
