//! The meeting record in the registry: the server's record key, appending entries and signed
//! heads (a batch per transaction, durable when it returns), participant sessions, and reading
//! it all back for `summit record export` and `summit meeting list/show`.

use std::path::Path;

use anyhow::Context;
use rusqlite::OptionalExtension;
use summit_auth::SigningKey;
use summit_record::{Chain, Entry, Hash, RecordEvent, RecordFile, SignedHead, FORMAT};

use crate::registry::{create_private_key, read_private_key, DataDir};

/// The key that signs record heads; kept by the server (it signs while meetings run).
const RECORD_KEY: &str = "record-signing.key";

/// Where a meeting's chain stands: the chain and the time of its last entry.
#[derive(Clone)]
pub(crate) struct ChainState {
    pub(crate) chain: Chain,
    pub(crate) last_at: String,
}

/// Who stopped a recording that a crash or restart of the server cut, in the record.
pub(crate) const RESTART_STOPPED_RECORDING: &str = "the server restarted";

/// One participant session, for listings.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) name: String,
    pub(crate) role: String,
    pub(crate) joined_at: String,
    pub(crate) left_at: Option<String>,
}

impl DataDir {
    /// The record signing key, created on first use.
    pub(crate) fn record_key(&self) -> anyhow::Result<SigningKey> {
        let path = self.path.join(RECORD_KEY);
        if path.exists() {
            read_private_key(&path)
        } else {
            create_private_key(&path)
        }
    }

    /// Whether `meeting`'s record says a recording is running: its last recording event (or
    /// end of the meeting) is a start, or a stop `by` [`RESTART_STOPPED_RECORDING`] (cut by a
    /// restart that nobody has followed with a start yet). `(running, cut)`.
    pub(crate) fn recording_state(&self, meeting: &str) -> anyhow::Result<(bool, bool)> {
        let mut q = self
            .db
            .prepare("SELECT line FROM record_entries WHERE meeting = ?1 ORDER BY seq DESC")?;
        let mut rows = q.query([meeting])?;
        while let Some(row) = rows.next()? {
            let line: String = row.get(0)?;
            let entry: Entry =
                serde_json::from_str(&line).context("a stored record entry is damaged")?;
            match entry.event {
                RecordEvent::RecordingStarted { .. } => return Ok((true, false)),
                RecordEvent::RecordingStopped { by } => {
                    return Ok((false, by == RESTART_STOPPED_RECORDING))
                }
                RecordEvent::MeetingEnded { .. } => return Ok((false, false)),
                _ => {}
            }
        }
        Ok((false, false))
    }

    /// A meeting's whole record, ready to export; `None` if it has no entries.
    pub(crate) fn record_file(&self, meeting: &str) -> anyhow::Result<Option<RecordFile>> {
        let mut q = self
            .db
            .prepare("SELECT line FROM record_entries WHERE meeting = ?1 ORDER BY seq")?;
        let entries: Vec<String> = q
            .query_map([meeting], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if entries.is_empty() {
            return Ok(None);
        }
        let mut q = self
            .db
            .prepare("SELECT head FROM record_heads WHERE meeting = ?1 ORDER BY seq, rowid")?;
        let texts: Vec<String> = q
            .query_map([meeting], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let heads = texts
            .iter()
            .map(|t| serde_json::from_str(t).context("a stored signed head is damaged"))
            .collect::<anyhow::Result<Vec<SignedHead>>>()?;
        Ok(Some(RecordFile {
            format: FORMAT.into(),
            meeting: meeting.to_owned(),
            key: self.record_key()?.verifying_key().to_text(),
            entries,
            heads,
        }))
    }

    /// The sessions of a meeting, in order of entry.
    pub(crate) fn sessions(&self, meeting: &str) -> anyhow::Result<Vec<Session>> {
        let mut q = self.db.prepare(
            "SELECT name, role, joined_at, left_at FROM sessions WHERE meeting = ?1
             ORDER BY joined_at, rowid",
        )?;
        let rows = q.query_map([meeting], |r| {
            Ok(Session {
                name: r.get(0)?,
                role: r.get(1)?,
                joined_at: r.get(2)?,
                left_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When a meeting first started and last ended (from its record), if it ever did.
    pub(crate) fn meeting_times(
        &self,
        meeting: &str,
    ) -> anyhow::Result<(Option<String>, Option<String>)> {
        let started: Option<String> = self
            .db
            .query_row(
                "SELECT started_at FROM meetings WHERE name = ?1",
                [meeting],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        let ended: Option<String> = self
            .db
            .query_row(
                "SELECT line FROM record_entries WHERE meeting = ?1 ORDER BY seq DESC LIMIT 1",
                [meeting],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|line| serde_json::from_str::<Entry>(&line).ok())
            .filter(|e| matches!(e.event, RecordEvent::MeetingEnded { .. }))
            .map(|e| e.at);
        Ok((started, ended))
    }
}

/// Reads a record file (JSON or Markdown) from disk.
pub(crate) fn read_record_file(path: &Path) -> anyhow::Result<RecordFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    RecordFile::parse(&text).with_context(|| {
        format!(
            "{} is not a Summit record (JSON or Markdown)",
            path.display()
        )
    })
}

/// One record entry as stored: the entry, its exact JSON line, its hash, and the signed head
/// made at it, if any.
pub(crate) struct StoredEntry {
    pub(crate) entry: Entry,
    pub(crate) line: String,
    pub(crate) hash: Hash,
    pub(crate) head: Option<SignedHead>,
}

/// Where `meeting`'s chain stands in the registry (empty if it has no entries).
pub(crate) fn chain(db: &rusqlite::Connection, meeting: &str) -> anyhow::Result<ChainState> {
    let last: Option<(u64, String, String)> = db
        .query_row(
            "SELECT seq, hash, line FROM record_entries WHERE meeting = ?1
             ORDER BY seq DESC LIMIT 1",
            [meeting],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((seq, hash, line)) = last else {
        return Ok(ChainState {
            chain: Chain::new(meeting),
            last_at: String::new(),
        });
    };
    let hash = Hash::parse(&hash).context("a stored record hash is damaged")?;
    let entry: Entry = serde_json::from_str(&line).context("a stored record entry is damaged")?;
    Ok(ChainState {
        chain: Chain::resume(meeting, seq, hash),
        last_at: entry.at,
    })
}

/// Stores entries in one transaction (`RegistryBackend::append_records`).
pub(crate) fn append(db: &rusqlite::Connection, batch: &[StoredEntry]) -> anyhow::Result<()> {
    // The registry actor is the connection's only user, so no other statement runs inside.
    let tx = db.unchecked_transaction()?;
    for e in batch {
        insert_entry(&tx, e)?;
    }
    tx.commit()?;
    Ok(())
}

/// Inserts one entry, and what it tells the registry (meetings, sessions, heads).
fn insert_entry(tx: &rusqlite::Transaction<'_>, e: &StoredEntry) -> anyhow::Result<()> {
    let (entry, line, hash, head) = (&e.entry, &e.line, e.hash, e.head.as_ref());
    let m = entry.meeting.as_str();
    tx.execute(
        "INSERT INTO record_entries (meeting, seq, line, hash) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![m, entry.seq, line, hash.to_string()],
    )?;
    match &entry.event {
        RecordEvent::MeetingStarted {} => {
            tx.execute(
                "INSERT INTO meetings (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
                [m],
            )?;
            tx.execute(
                "UPDATE meetings SET started_at = ?2 WHERE name = ?1 AND started_at IS NULL",
                [m, &entry.at],
            )?;
        }
        RecordEvent::Joined {
            participant,
            name,
            role,
            invitation,
        } => {
            tx.execute(
                "INSERT INTO sessions (meeting, participant, name, role, invitation, joined_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![m, participant, name, role, invitation, entry.at],
            )?;
        }
        RecordEvent::Left { participant, .. } => {
            tx.execute(
                "UPDATE sessions SET left_at = ?3
                 WHERE meeting = ?1 AND participant = ?2 AND left_at IS NULL",
                rusqlite::params![m, participant, entry.at],
            )?;
        }
        _ => {}
    }
    if let Some(h) = head {
        tx.execute(
            "INSERT INTO record_heads (meeting, seq, head) VALUES (?1, ?2, ?3)",
            rusqlite::params![m, h.seq, serde_json::to_string(h)?],
        )?;
    }
    Ok(())
}
