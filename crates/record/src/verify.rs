//! Offline verification: the chain links, the signed heads, and a head a participant kept.

use summit_auth::VerifyingKey;

use crate::{genesis, Entry, Hash, RecordFile, SignedHead, FORMAT};

/// Why a record does not verify; names the first bad entry where there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not a record of this format.
    #[error("not a {FORMAT} record (format {0:?})")]
    Format(String),
    /// An entry is unreadable, out of place, from another meeting, or changed.
    #[error("entry {index}: {why}")]
    BadEntry {
        /// Its position in the file.
        index: u64,
        /// What is wrong, in words.
        why: String,
    },
    /// A head's signature is not the key's, or it is for another meeting.
    #[error("signed head for entry {seq}: {why}")]
    BadHead {
        /// The entry it claims to cover.
        seq: u64,
        /// What is wrong.
        why: String,
    },
    /// A signed head covers entries the record does not have.
    #[error("the record is truncated: the server signed entry {signed}, but the record ends {}", .have.map_or("before its first entry".to_owned(), |h| format!("at entry {h}")))]
    Truncated {
        /// The entry the head covers.
        signed: u64,
        /// The last entry present.
        have: Option<u64>,
    },
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries in the record.
    pub entries: u64,
    /// The last entry covered by a valid signed head in the file, if any.
    pub signed_through: Option<u64>,
    /// The kept head given, if any, which the record contains.
    pub kept: Option<u64>,
}

/// Checks `record` with the server's record key: every entry in place and linked to the one
/// before, every signed head valid and matching, and (if given) the head a participant kept.
pub fn verify(
    record: &RecordFile,
    key: &VerifyingKey,
    kept: Option<&SignedHead>,
) -> Result<Verified, VerifyError> {
    if record.format != FORMAT {
        return Err(VerifyError::Format(record.format.clone()));
    }
    let bad = |index: usize, why: String| VerifyError::BadEntry {
        index: index as u64,
        why,
    };
    let mut hashes: Vec<Hash> = Vec::with_capacity(record.entries.len());
    let mut prev = genesis(&record.meeting);
    let mut last_at = String::new();
    for (i, line) in record.entries.iter().enumerate() {
        let e: Entry = serde_json::from_str(line)
            .map_err(|err| bad(i, format!("not a record entry ({err})")))?;
        if e.seq != i as u64 {
            return Err(bad(
                i,
                format!(
                    "found entry {} here: entries were dropped or reordered",
                    e.seq
                ),
            ));
        }
        if e.meeting != record.meeting {
            return Err(bad(i, format!("belongs to meeting {:?}", e.meeting)));
        }
        if e.prev != prev {
            // The link from the entry before is broken: that entry was changed (its hash no
            // longer matches what this one recorded), or this one's link was.
            let (index, why) = if i == 0 {
                (0, "does not start this meeting's chain".to_owned())
            } else {
                (
                    i - 1,
                    format!("was changed: entry {i} recorded another hash for it"),
                )
            };
            return Err(bad(index, why));
        }
        if e.at < last_at {
            return Err(bad(i, "is dated before the entry it follows".into()));
        }
        last_at = e.at;
        prev = Hash::of(line.as_bytes());
        hashes.push(prev);
    }
    let check_head = |h: &SignedHead| -> Result<(), VerifyError> {
        if !h.verify(key) {
            return Err(VerifyError::BadHead {
                seq: h.seq,
                why: "the signature is not the server's record key's".into(),
            });
        }
        if h.meeting != record.meeting {
            return Err(VerifyError::BadHead {
                seq: h.seq,
                why: format!("it is for meeting {:?}", h.meeting),
            });
        }
        let Some(have) = hashes.get(h.seq as usize) else {
            return Err(VerifyError::Truncated {
                signed: h.seq,
                have: (hashes.len() as u64).checked_sub(1),
            });
        };
        if *have != h.hash {
            return Err(bad(
                h.seq as usize,
                "was changed: it does not match the server's signed head".into(),
            ));
        }
        Ok(())
    };
    let mut signed_through = None;
    for h in &record.heads {
        check_head(h)?;
        signed_through = signed_through.max(Some(h.seq));
    }
    if let Some(h) = kept {
        check_head(h)?;
    }
    Ok(Verified {
        entries: hashes.len() as u64,
        signed_through,
        kept: kept.map(|h| h.seq),
    })
}
