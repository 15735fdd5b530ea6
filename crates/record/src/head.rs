//! Signed heads: the server's Ed25519 signature over a chain's position and hash, sent to the
//! participants, who keep the latest one as proof of what the record held at that moment.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use summit_auth::{KeyError, SigningKey, VerifyingKey};
use summit_proto::{RecordPublicKey, RecordSignature};

use crate::Hash;

/// A chain head with the server's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    /// The meeting.
    pub meeting: String,
    /// The position of the last entry covered.
    pub seq: u64,
    /// The hash of that entry's line.
    pub hash: Hash,
    /// When it was signed (RFC 3339).
    pub at: String,
    /// The server's record key.
    pub key: RecordPublicKey,
    /// The signature over [`SignedHead::message`].
    pub sig: RecordSignature,
}

impl SignedHead {
    /// Signs the head of `meeting`'s chain at entry `seq` with hash `hash`.
    pub fn sign(
        key: &SigningKey,
        meeting: &str,
        seq: u64,
        hash: Hash,
        at: String,
    ) -> Result<Self, KeyError> {
        let message = Self::message_for(meeting, seq, &hash, &at);
        let sig = key.sign(message.as_bytes())?;
        Ok(Self {
            meeting: meeting.to_owned(),
            seq,
            hash,
            at,
            key: RecordPublicKey(key.verifying_key().to_text()),
            sig: RecordSignature(URL_SAFE_NO_PAD.encode(sig)),
        })
    }

    /// The exact bytes signed: four lines after a format tag.
    pub fn message(&self) -> String {
        Self::message_for(&self.meeting, self.seq, &self.hash, &self.at)
    }

    fn message_for(meeting: &str, seq: u64, hash: &Hash, at: &str) -> String {
        format!("summit-record-head/1\n{meeting}\n{seq}\n{hash}\n{at}\n")
    }

    /// Whether the signature is `key`'s (the key named inside the head is not trusted).
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let Ok(sig) = URL_SAFE_NO_PAD.decode(&self.sig.0) else {
            return false;
        };
        key.verify(self.message().as_bytes(), &sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_verifies_with_its_key_only_and_unaltered() {
        let k = SigningKey::generate().unwrap();
        let h = SignedHead::sign(&k, "m", 3, Hash::of(b"x"), "t".into()).unwrap();
        assert!(h.verify(&k.verifying_key()));
        assert!(!h.verify(&SigningKey::generate().unwrap().verifying_key()));
        for bad in [
            SignedHead {
                seq: 4,
                ..h.clone()
            },
            SignedHead {
                meeting: "n".into(),
                ..h.clone()
            },
            SignedHead {
                hash: Hash::of(b"y"),
                ..h.clone()
            },
            SignedHead {
                at: "u".into(),
                ..h.clone()
            },
            SignedHead {
                sig: RecordSignature("!".into()),
                ..h.clone()
            },
        ] {
            assert!(!bad.verify(&k.verifying_key()), "{bad:?}");
        }
    }
}
