//! The organizer's recording key (ECDH P-256): made by `summit keygen --recording`, its public
//! half registered with an encrypted meeting, its private half kept offline. Pages seal each
//! of their media keys to it while the meeting is recorded; this module opens them again.
//!
//! A sealed key (docs/record.md): `{"v":1,"epk":…,"iv":…,"ct":…}` (base64url). The AES-128-GCM
//! key is HKDF-SHA256 of the ECDH secret between the page's one-time key `epk` and the
//! recording key, salt `epk`, info `"summit recording key " + meeting`; the additional data is
//! the meeting name; the plaintext is `{"sender":…,"index":…,"base":…}`.

use std::path::Path;

use crate::{Error, Result};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use aws_lc_rs::agreement::{agree, PrivateKey, UnparsedPublicKey, ECDH_P256};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

const PEM_LABEL: &str = "EC PRIVATE KEY";

/// A media key a page sealed: whose, which index, and the SFrame base key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaKey {
    pub sender: u64,
    pub index: u64,
    pub base: Vec<u8>,
}

/// Makes a recording key pair: writes the private key to `path` (mode 0600, never
/// overwritten) and returns the public key's text.
pub fn generate(path: &Path) -> Result<String> {
    let key =
        PrivateKey::generate(&ECDH_P256).map_err(|_| Error::invalid("key generation failed"))?;
    let der: aws_lc_rs::encoding::EcPrivateKeyRfc5915Der<'static> = key
        .as_der()
        .map_err(|_| Error::invalid("cannot encode the key"))?;
    let b64 = STANDARD.encode(der.as_ref());
    let mut pem = format!("-----BEGIN {PEM_LABEL}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(Error::io(format!(
                "cannot create {} (it must not exist yet)",
                path.display()
            )))?;
        f.write_all(pem.as_bytes())?;
    }
    public_text(&key)
}

fn public_text(key: &PrivateKey) -> Result<String> {
    let public = key
        .compute_public_key()
        .map_err(|_| Error::invalid("cannot compute the public key"))?;
    Ok(URL_SAFE_NO_PAD.encode(public.as_ref()))
}

/// A recording public key as given on the command line.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// Its text: base64url of an uncompressed P-256 point.
    pub text: String,
    /// The point's 65 bytes (what the organizer's MAC covers).
    pub raw: Vec<u8>,
}

/// Checks a recording public key's text: base64url of an uncompressed P-256 point.
pub fn parse_public(text: &str) -> std::result::Result<PublicKey, String> {
    let raw = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| "not base64url".to_owned())?;
    if raw.len() != 65 || raw[0] != 4 {
        return Err("not a P-256 public key (`summit keygen --recording` prints one)".into());
    }
    Ok(PublicKey {
        text: text.trim().to_owned(),
        raw,
    })
}

/// Reads a recording private key file.
pub fn read_private(path: &Path) -> Result<PrivateKey> {
    let pem = std::fs::read_to_string(path)
        .map_err(Error::io(format!("cannot read {}", path.display())))?;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("");
    let der = STANDARD
        .decode(body.trim())
        .map_err(|_| Error::invalid(format!("{} is not a recording key", path.display())))?;
    PrivateKey::from_private_key_der(&ECDH_P256, &der)
        .map_err(|_| Error::invalid(format!("{} is not a P-256 recording key", path.display())))
}

fn field<'a>(v: &'a serde_json::Value, name: &str) -> Result<&'a str> {
    v[name]
        .as_str()
        .ok_or_else(|| Error::invalid(format!("a sealed key lacks '{name}'")))
}

/// Opens one sealed key with the recording private key.
pub fn open(key: &PrivateKey, meeting: &str, data: &str) -> Result<MediaKey> {
    let v: serde_json::Value =
        serde_json::from_str(data).map_err(|_| Error::invalid("a sealed key is not JSON"))?;
    if v["v"] != 1 {
        return Err(Error::invalid("a sealed key of an unknown version"));
    }
    let b = |name| -> Result<Vec<u8>> {
        URL_SAFE_NO_PAD
            .decode(field(&v, name)?)
            .map_err(|_| Error::invalid(format!("'{name}' is not base64url")))
    };
    let (epk, iv, mut ct) = (b("epk")?, b("iv")?, b("ct")?);
    let info = format!("summit recording key {meeting}");
    let aes = agree(
        key,
        UnparsedPublicKey::new(&ECDH_P256, &epk),
        Error::invalid("the sealed key's public key is not P-256"),
        |shared| {
            let prk = Salt::new(HKDF_SHA256, &epk).extract(shared);
            let info = [info.as_bytes()];
            let okm = prk
                .expand(&info, &AES_128_GCM)
                .map_err(|_| Error::invalid("HKDF failed"))?;
            let unbound: UnboundKey = okm.into();
            Ok(LessSafeKey::new(unbound))
        },
    )?;
    let nonce = Nonce::try_assume_unique_for_key(&iv).map_err(|_| Error::invalid("bad iv"))?;
    let plain = aes
        .open_in_place(nonce, Aad::from(meeting.as_bytes()), &mut ct)
        .map_err(|_| Error::invalid("a sealed key does not open with this recording key"))?;
    let p: serde_json::Value =
        serde_json::from_slice(plain).map_err(|_| Error::invalid("a sealed key's content"))?;
    let base = URL_SAFE_NO_PAD
        .decode(field(&p, "base")?)
        .map_err(|_| Error::invalid("base is not base64url"))?;
    Ok(MediaKey {
        sender: p["sender"]
            .as_u64()
            .ok_or_else(|| Error::invalid("no sender"))?,
        index: p["index"]
            .as_u64()
            .ok_or_else(|| Error::invalid("no index"))?,
        base,
    })
}
