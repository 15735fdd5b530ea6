//! Identifiers and small enums shared by the server and the page.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The name of a meeting: 1 to 64 characters from letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MeetingName(String);

/// Why a string is not a valid [`MeetingName`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MeetingNameError {
    /// Empty or longer than 64 characters.
    #[error("a meeting name has 1 to 64 characters")]
    Length,
    /// Contains a character other than a letter, digit, `-`, `_` or `.`.
    #[error("a meeting name may contain only letters, digits, '-', '_' and '.'")]
    Character,
    /// Starts with a dot (`.`, `..` and hidden names would name folders they must not).
    #[error("a meeting name may not start with '.'")]
    LeadingDot,
}

impl MeetingName {
    /// Longest accepted name, in characters.
    pub const MAX_LEN: usize = 64;

    /// Parses a meeting name, refusing anything outside the allowed alphabet.
    pub fn parse(s: &str) -> Result<Self, MeetingNameError> {
        if s.is_empty() || s.len() > Self::MAX_LEN {
            return Err(MeetingNameError::Length);
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(MeetingNameError::Character);
        }
        // Names become folder names (recordings): `.`, `..` and hidden names are refused.
        if s.starts_with('.') {
            return Err(MeetingNameError::LeadingDot);
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for MeetingName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for MeetingName {
    type Err = MeetingNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for MeetingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A participant's identity within one server's lifetime; never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParticipantId(pub u64);

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// The unique id of one invitation (the JWT `jti` claim).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvitationId(pub String);

impl fmt::Display for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret that lets a page take its session back after a lost connection: 32 random bytes
/// as base64url, given to the page in `welcome` (and `lobby`) and presented in `join`. The
/// server keeps only its SHA-256 ([`ResumeHash`]); `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResumeToken(String);

impl ResumeToken {
    /// Longest token text accepted from a page.
    pub const MAX_LEN: usize = 64;

    /// Wraps a token's text (made by `summit_auth::new_resume_token`, or sent by a page).
    pub fn new(text: String) -> Self {
        Self(text)
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeToken(..)")
    }
}

/// The SHA-256 of a [`ResumeToken`]: what the server keeps to recognize it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResumeHash(pub [u8; 32]);

impl ResumeHash {
    /// Lowercase hex, as the registry stores it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses [`ResumeHash::to_hex`]'s output.
    pub fn from_hex(text: &str) -> Option<Self> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut h = [0u8; 32];
        for (i, b) in h.iter_mut().enumerate() {
            *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(h))
    }
}

impl fmt::Debug for ResumeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A prefix is enough to tell hashes apart in logs.
        write!(f, "ResumeHash({}…)", &self.to_hex()[..8])
    }
}

/// The role an invitation names; the server turns it into capabilities at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the meeting.
    Host,
    /// Takes part: speaks, shows video, chats.
    Delegate,
    /// Interprets between languages.
    Interpreter,
    /// Watches and listens only.
    Observer,
}

impl Role {
    /// The lowercase name used on the command line and in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::Delegate => "delegate",
            Role::Interpreter => "interpreter",
            Role::Observer => "observer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "host" => Ok(Role::Host),
            "delegate" => Ok(Role::Delegate),
            "interpreter" => Ok(Role::Interpreter),
            "observer" => Ok(Role::Observer),
            other => Err(format!(
                "unknown role '{other}' (expected host, delegate, interpreter or observer)"
            )),
        }
    }
}

/// What a published track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackSource {
    /// The microphone (audio).
    Microphone,
    /// The camera (video).
    Camera,
    /// A shared screen or window (video).
    Screen,
}

impl TrackSource {
    /// Whether this source carries audio (otherwise video).
    pub fn is_audio(self) -> bool {
        matches!(self, TrackSource::Microphone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_names() {
        assert!(MeetingName::parse("summit-2026_a.b").is_ok());
        assert_eq!(MeetingName::parse(""), Err(MeetingNameError::Length));
        assert_eq!(
            MeetingName::parse(&"a".repeat(65)),
            Err(MeetingNameError::Length)
        );
        assert!(MeetingName::parse(&"a".repeat(64)).is_ok());
        assert!(MeetingName::parse("a.b.").is_ok());
        assert_eq!(MeetingName::parse(".."), Err(MeetingNameError::LeadingDot));
    }

    #[test]
    fn resume_hashes_round_trip_as_hex() {
        let h = ResumeHash([0xab; 32]);
        assert_eq!(ResumeHash::from_hex(&h.to_hex()), Some(h));
        for bad in ["", "ab", &"g".repeat(64), &"é".repeat(32)] {
            assert_eq!(ResumeHash::from_hex(bad), None, "{bad}");
        }
        for bad in ["a b", "a/b", "ä", "a?b", "../x", ".", "..", ".hidden"] {
            assert!(MeetingName::parse(bad).is_err(), "{bad}");
        }
    }
}
