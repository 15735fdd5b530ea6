//! The meeting secret of an end-to-end encrypted meeting: made on the organizer's side, carried
//! in the fragment of invitation links, never sent to the server. The web client derives from
//! it the key that proves membership in the key exchange (docs/e2ee.md).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Bytes of entropy in a meeting secret.
const SECRET_BYTES: usize = 32;

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

    /// Parses [`MeetingSecret::to_text`]'s output.
    pub fn from_text(text: &str) -> Result<Self, SecretError> {
        let v = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| SecretError)?;
        Ok(Self(v.try_into().map_err(|_| SecretError)?))
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
}
