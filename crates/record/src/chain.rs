//! The hash chain: each entry is one line of JSON naming the hash of the line before it.
//! Hashes are taken over the exact bytes of each line, so no canonical form of JSON is needed.

use std::fmt;

use aws_lc_rs::digest::{digest, SHA256};
use serde::{Deserialize, Serialize};

use crate::RecordEvent;

/// A SHA-256 hash, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash(pub [u8; 32]);

/// A string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 hash (64 hex digits)")]
pub struct HashError;

impl Hash {
    /// The hash of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let d = digest(&SHA256, bytes);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }

    /// Parses 64 hex digits.
    pub fn parse(s: &str) -> Result<Self, HashError> {
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(HashError);
        }
        let mut out = [0u8; 32];
        for (i, pair) in b.chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|_| HashError)?;
            out[i] = u8::from_str_radix(hex, 16).map_err(|_| HashError)?;
        }
        Ok(Self(out))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What the first entry of a meeting's chain names as its predecessor: binds the chain to the
/// meeting, so entries cannot move between meetings.
pub fn genesis(meeting: &str) -> Hash {
    Hash::of(format!("summit-record/1 {meeting}").as_bytes())
}

/// One entry of the chain, as written on its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the chain, from 0.
    pub seq: u64,
    /// When the server recorded it (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The meeting.
    pub meeting: String,
    /// The hash of the previous entry's line (for entry 0, the meeting's genesis hash).
    pub prev: Hash,
    /// What happened.
    #[serde(flatten)]
    pub event: RecordEvent,
}

/// The writing end of one meeting's chain: knows the next position and the last hash.
#[derive(Debug, Clone)]
pub struct Chain {
    meeting: String,
    next: u64,
    last: Hash,
}

impl Chain {
    /// An empty chain for `meeting`.
    pub fn new(meeting: &str) -> Self {
        Self {
            meeting: meeting.to_owned(),
            next: 0,
            last: genesis(meeting),
        }
    }

    /// A chain that continues after entry `seq` whose line hashed to `last`.
    pub fn resume(meeting: &str, seq: u64, last: Hash) -> Self {
        Self {
            meeting: meeting.to_owned(),
            next: seq + 1,
            last,
        }
    }

    /// Appends an event recorded at `at`: the entry's line and its hash. The caller stores
    /// the line exactly as returned.
    pub fn append(
        &mut self,
        at: String,
        event: RecordEvent,
    ) -> Result<(Entry, String, Hash), serde_json::Error> {
        let entry = Entry {
            seq: self.next,
            at,
            meeting: self.meeting.clone(),
            prev: self.last,
            event,
        };
        let line = serde_json::to_string(&entry)?;
        let hash = Hash::of(line.as_bytes());
        self.next += 1;
        self.last = hash;
        Ok((entry, line, hash))
    }

    /// The position of the last entry, if any, and its hash.
    pub fn head(&self) -> Option<(u64, Hash)> {
        self.next.checked_sub(1).map(|s| (s, self.last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_and_chain_links() {
        let h = Hash::of(b"abc");
        assert_eq!(
            h.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Hash::parse(&h.to_string()), Ok(h));
        assert!(Hash::parse("zz").is_err());
        let mut c = Chain::new("m");
        let (e0, l0, h0) = c
            .append("t0".into(), RecordEvent::MeetingStarted {})
            .unwrap();
        assert_eq!((e0.seq, e0.prev), (0, genesis("m")));
        let (e1, _, h1) = c
            .append("t1".into(), RecordEvent::MeetingStarted {})
            .unwrap();
        assert_eq!(e1.prev, Hash::of(l0.as_bytes()));
        assert_eq!(e1.prev, h0);
        assert_eq!(c.head(), Some((1, h1)));
        assert!(
            l0.starts_with(r#"{"seq":0,"at":"t0","meeting":"m","prev":""#),
            "{l0}"
        );
        assert!(l0.ends_with(r#","event":"meeting_started"}"#), "{l0}");
    }
}
