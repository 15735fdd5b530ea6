//! The meeting secret of an end-to-end encrypted meeting: made on the organizer's side, carried
//! in the fragment of invitation links, never sent to the server. The web client derives from
//! it the key that proves membership in the key exchange (docs/e2ee.md).

use aws_lc_rs::hkdf::{Salt, HKDF_SHA256};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Bytes of entropy in a meeting secret.
const SECRET_BYTES: usize = 32;
/// The HKDF salt of every key the web client derives from a meeting secret (docs/e2ee.md).
const HKDF_SALT: &[u8] = b"summit e2ee v1";

/// A meeting secret (32 random bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct MeetingSecret([u8; SECRET_BYTES]);

impl std::fmt::Debug for MeetingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MeetingSecret(..)")
    }
}

/// A meeting secret's text is not 32 bytes of unpadded base64url.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a meeting secret is 43 characters of base64url (32 bytes)")]
pub struct SecretError;

impl MeetingSecret {
    /// A fresh secret from the operating system's random source.
    pub fn generate() -> Result<Self, SecretError> {
        let mut b = [0u8; SECRET_BYTES];
        SystemRandom::new().fill(&mut b).map_err(|_| SecretError)?;
        Ok(Self(b))
    }

    /// The unpadded base64url text that goes after `#` in a link.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The organizer's proof that `key` (a recording public key's raw bytes) is the meeting's:
    /// `HMAC-SHA256(HKDF-SHA256(secret, salt "summit e2ee v1", info "recording-key <meeting>"),
    /// key)`, base64url. Pages check it with their own secret before they seal anything to
    /// the key, so a server that swaps the key gets nothing.
    pub fn recording_key_mac(&self, meeting: &str, key: &[u8]) -> String {
        let info = format!("recording-key {meeting}");
        let info = [info.as_bytes()];
        let prk = Salt::new(HKDF_SHA256, HKDF_SALT).extract(&self.0);
        let mut mac_key = [0u8; 32];
        // HKDF-SHA256 can always expand 32 bytes (at most 255 blocks), so this cannot fail.
        if let Ok(okm) = prk.expand(&info, HmacLen) {
            let _ = okm.fill(&mut mac_key);
        }
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &mac_key), key);
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Parses [`MeetingSecret::to_text`]'s output.
    pub fn from_text(text: &str) -> Result<Self, SecretError> {
        let v = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| SecretError)?;
        Ok(Self(v.try_into().map_err(|_| SecretError)?))
    }
}

/// HKDF output of 32 bytes (the HMAC key).
struct HmacLen;

impl aws_lc_rs::hkdf::KeyType for HmacLen {
    fn len(&self) -> usize {
        32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_and_round_trip_as_text() {
        let a = MeetingSecret::generate().unwrap();
        let b = MeetingSecret::generate().unwrap();
        assert_ne!(a, b);
        let t = a.to_text();
        assert_eq!(t.len(), 43);
        assert_eq!(MeetingSecret::from_text(&t).unwrap(), a);
        for bad in ["", "short", &"A".repeat(44), &"*".repeat(43)] {
            assert!(MeetingSecret::from_text(bad).is_err(), "{bad}");
        }
        assert!(!format!("{a:?}").contains(&t));
    }

    #[test]
    fn recording_key_macs_bind_secret_meeting_and_key() {
        let s = MeetingSecret::from_text(&"A".repeat(43)).unwrap();
        let mac = s.recording_key_mac("m", b"key");
        assert_eq!(mac.len(), 43);
        assert_eq!(mac, s.recording_key_mac("m", b"key"));
        assert_ne!(mac, s.recording_key_mac("m2", b"key"));
        assert_ne!(mac, s.recording_key_mac("m", b"kez"));
        let other = MeetingSecret::from_text(&format!("{}A", "B".repeat(42))).unwrap();
        assert_ne!(mac, other.recording_key_mac("m", b"key"));
        // The web client computes the same (tests/browser/e2ee-keys.test.mjs checks it too).
        assert_eq!(
            s.recording_key_mac("summit-test", b"key"),
            "TIYWxBQna5drpzS8wAKAaBiGaicR8tGxPCfVu4Wy3zI"
        );
    }
}
