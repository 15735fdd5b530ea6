//! Key material as it crosses the server: text it relays or keeps, typed by what it is, so a
//! key cannot be passed where a name or an SDP is expected.

use serde::{Deserialize, Serialize};

/// Key exchange material the server relays or keeps but never reads: a page's key exchange
/// message, a media key wrapped for one member, a media key sealed to the recording key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Opaque(String);

impl Opaque {
    /// Wraps text as sent.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its size in bytes, for budgets.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty (never valid).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Opaque {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Opaque {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// The server's key for the meeting record, as a signed head names it: base64url of the 32-byte
/// Ed25519 public key. A page or an auditor trusts it only once it matches the key they were
/// given out of band (`summit record verify --key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordPublicKey(pub String);

/// The server's Ed25519 signature over a record head: base64url of its 64 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordSignature(pub String);

/// The public key an encrypted meeting's recordings are sealed to, as its organizer published
/// it: base64url of an uncompressed P-256 point. The server hands it to pages, never uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordingPublicKey(pub String);

/// The organizer's proof that a [`RecordingPublicKey`] is theirs: HMAC-SHA256 under a key
/// derived from the meeting secret (which the server never holds), base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordingKeyMac(pub String);
