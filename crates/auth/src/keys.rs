//! The invitation signing key pair (Ed25519): generation, PEM files, and the public half alone.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text is not a PKCS#8 Ed25519 private key.
    #[error("not an Ed25519 private key in PKCS#8 PEM form")]
    BadPrivateKey,
    /// The text is not a base64url Ed25519 public key.
    #[error("not an Ed25519 public key (32 bytes, base64url)")]
    BadPublicKey,
    /// Key generation failed.
    #[error("could not generate a key pair")]
    Generate,
}

const PEM_LABEL: &str = "PRIVATE KEY";

/// The private key that signs invitations (kept by the organizer).
pub struct SigningKey {
    pkcs8: Vec<u8>,
    public: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.verifying_key().to_text())
    }
}

impl SigningKey {
    /// Makes a new random key pair.
    pub fn generate() -> Result<Self, KeyError> {
        let doc =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| KeyError::Generate)?;
        Self::from_pkcs8(doc.as_ref()).map_err(|_| KeyError::Generate)
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der))
            .map_err(|_| KeyError::BadPrivateKey)?;
        let public: [u8; 32] = pair
            .public_key()
            .as_ref()
            .try_into()
            .map_err(|_| KeyError::BadPrivateKey)?;
        Ok(Self {
            pkcs8: der.to_vec(),
            public,
        })
    }

    /// Reads a key from PKCS#8 PEM text.
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let begin = format!("-----BEGIN {PEM_LABEL}-----");
        let end = format!("-----END {PEM_LABEL}-----");
        let body = pem
            .trim()
            .strip_prefix(&begin)
            .and_then(|s| s.strip_suffix(&end))
            .ok_or(KeyError::BadPrivateKey)?;
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD.decode(b64).map_err(|_| KeyError::BadPrivateKey)?;
        Self::from_pkcs8(&der)
    }

    /// The key as PKCS#8 PEM text.
    pub fn to_pem(&self) -> String {
        let b64 = STANDARD.encode(&self.pkcs8);
        let mut out = format!("-----BEGIN {PEM_LABEL}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str(&format!("-----END {PEM_LABEL}-----\n"));
        out
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.public)
    }

    /// Signs `message` (Ed25519): the 64-byte signature.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(&self.pkcs8)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(&self.pkcs8))
            .map_err(|_| KeyError::BadPrivateKey)?;
        pair.sign(message)
            .as_ref()
            .try_into()
            .map_err(|_| KeyError::BadPrivateKey)
    }

    pub(crate) fn encoding_key(&self) -> jsonwebtoken::EncodingKey {
        jsonwebtoken::EncodingKey::from_ed_der(&self.pkcs8)
    }
}

/// The public key that verifies invitations (all a server needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey([u8; 32]);

impl VerifyingKey {
    /// Reads a key from its text form (base64url of the 32 raw bytes).
    pub fn from_text(s: &str) -> Result<Self, KeyError> {
        let raw = URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| KeyError::BadPublicKey)?;
        Ok(Self(raw.try_into().map_err(|_| KeyError::BadPublicKey)?))
    }

    /// The text form: base64url of the 32 raw bytes (the JWK `x` value).
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, self.0)
            .verify(message, signature)
            .is_ok()
    }

    pub(crate) fn decoding_key(&self) -> jsonwebtoken::DecodingKey {
        jsonwebtoken::DecodingKey::from_ed_der(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip() {
        let k = SigningKey::generate().unwrap();
        let back = SigningKey::from_pem(&k.to_pem()).unwrap();
        assert_eq!(k.verifying_key(), back.verifying_key());
        let v = VerifyingKey::from_text(&k.verifying_key().to_text()).unwrap();
        assert_eq!(v, k.verifying_key());
        assert!(SigningKey::from_pem(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"
        )
        .is_err());
        assert!(VerifyingKey::from_text("abc").is_err());
        let sig = k.sign(b"head").unwrap();
        assert!(v.verify(b"head", &sig));
        assert!(!v.verify(b"heads", &sig));
        assert!(!SigningKey::generate()
            .unwrap()
            .verifying_key()
            .verify(b"head", &sig));
    }
}
