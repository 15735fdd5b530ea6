//! The data directory: the invitation signing key pair and the SQLite meeting registry. All
//! SQLite access lives in this folder: `backend.rs` (the operations a running server asks of
//! the registry), `sqlite.rs` (them on SQLite), `actor.rs` (the thread that runs them),
//! `store.rs` (what a running server persists and polls),
//! `record_log.rs` (the meeting record), `recorder.rs` (the thread that appends to it).

pub(crate) mod actor;
mod backend;
pub(crate) mod record_log;
pub(crate) mod recorder;
mod sqlite;
pub(crate) mod store;

pub(crate) use backend::RegistryBackend;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rusqlite::Connection;
use summit_auth::{SigningKey, VerifyingKey};
use summit_proto::{InvitationId, Language, MeetingName, ParticipantId, ResumeHash};

const PRIVATE_KEY: &str = "invite-signing.key";
const PUBLIC_KEY: &str = "invite-signing.pub";
const DATABASE: &str = "summit.db";

/// A meeting as registered, for listings.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredMeeting {
    pub(crate) name: MeetingName,
    /// When it was created (RFC 3339).
    pub(crate) created_at: String,
    /// Whether it is end-to-end encrypted.
    pub(crate) e2ee: bool,
    /// Its language channels.
    pub(crate) languages: Vec<Language>,
}

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE meetings (
        name TEXT PRIMARY KEY NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );",
    // Invitations are enforced by id: how often each entered, and which are revoked.
    "ALTER TABLE meetings ADD COLUMN ended_at TEXT;
    CREATE TABLE entries (
        invitation_id TEXT PRIMARY KEY NOT NULL,
        count INTEGER NOT NULL
    );
    CREATE TABLE revocations (
        invitation_id TEXT PRIMARY KEY NOT NULL,
        revoked_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        reason TEXT NOT NULL
    );",
    // End-to-end encryption is on unless the meeting was made with `--no-e2ee`.
    "ALTER TABLE meetings ADD COLUMN e2ee INTEGER NOT NULL DEFAULT 1;",
    // Interpretation channels, comma-separated language codes ('' for none).
    "ALTER TABLE meetings ADD COLUMN languages TEXT NOT NULL DEFAULT '';",
    // The meeting record (docs/record.md): each meeting's hash chain as the exact lines
    // hashed, the heads the server signed, and participant sessions for queries.
    "ALTER TABLE meetings ADD COLUMN started_at TEXT;
    CREATE TABLE record_entries (
        meeting TEXT NOT NULL,
        seq INTEGER NOT NULL,
        line TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (meeting, seq)
    );
    CREATE TABLE record_heads (
        meeting TEXT NOT NULL,
        seq INTEGER NOT NULL,
        head TEXT NOT NULL
    );
    CREATE TABLE sessions (
        meeting TEXT NOT NULL,
        participant INTEGER NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        invitation TEXT NOT NULL,
        joined_at TEXT NOT NULL,
        left_at TEXT
    );
    CREATE INDEX sessions_by_meeting ON sessions (meeting);",
    // The organizer's recording key (public half), for sealed recordings of encrypted meetings.
    "ALTER TABLE meetings ADD COLUMN recording_key TEXT;",
    // The organizer's MAC over the recording key (pages check it with the meeting secret);
    // resume tokens by hash, so a page can take its session back across a restart; invitations
    // a host denied (they may not wait in that meeting's lobby again); and invitations hosts
    // made from the page, which are revoked with the host's own.
    "ALTER TABLE meetings ADD COLUMN recording_key_mac TEXT;
    CREATE TABLE resume_tokens (
        hash TEXT PRIMARY KEY NOT NULL,
        meeting TEXT NOT NULL,
        invitation_id TEXT NOT NULL,
        participant INTEGER NOT NULL,
        name TEXT NOT NULL,
        admitted INTEGER NOT NULL,
        orphaned_at INTEGER
    );
    CREATE TABLE counters (
        name TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
    );
    CREATE TABLE denials (
        meeting TEXT NOT NULL,
        invitation_id TEXT NOT NULL,
        name TEXT NOT NULL,
        by TEXT NOT NULL,
        denied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        PRIMARY KEY (meeting, invitation_id)
    );
    CREATE TABLE invitations_made (
        invitation_id TEXT PRIMARY KEY NOT NULL,
        meeting TEXT NOT NULL,
        by_invitation TEXT NOT NULL,
        made_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE INDEX invitations_made_by ON invitations_made (by_invitation);",
    // Meetings a host locked: a restart of the server keeps them locked.
    "CREATE TABLE locks (
        meeting TEXT PRIMARY KEY NOT NULL
    );",
];

/// Parses a comma-separated list of language codes, as stored and as typed on the command line.
pub(crate) fn parse_languages(text: &str) -> anyhow::Result<Vec<Language>> {
    let mut out: Vec<Language> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let l = Language::parse(part)?;
        if !out.contains(&l) {
            out.push(l);
        }
    }
    Ok(out)
}

/// Makes a new Ed25519 key and writes it to `path` (PKCS#8 PEM, mode 0600, never overwritten).
pub(crate) fn create_private_key(path: &Path) -> anyhow::Result<SigningKey> {
    let key = SigningKey::generate()?;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(key.to_pem().as_bytes())?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(key)
}

/// Reads an Ed25519 private key file (PKCS#8 PEM).
pub(crate) fn read_private_key(path: &Path) -> anyhow::Result<SigningKey> {
    let pem =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    SigningKey::from_pem(&pem).with_context(|| format!("{} is not a valid key", path.display()))
}

/// Why an invitation may not enter, in words safe to show its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryRefusal {
    Revoked,
    Ended,
    UsedUp(u32),
    Denied,
}

impl std::fmt::Display for EntryRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EntryRefusal::Revoked => f.write_str("this invitation has been revoked"),
            EntryRefusal::Ended => f.write_str("this meeting has ended"),
            EntryRefusal::UsedUp(n) => write!(
                f,
                "this invitation has been used {n} times already, as often as it allows"
            ),
            EntryRefusal::Denied => {
                f.write_str("a host did not let this invitation in; ask a host to allow it again")
            }
        }
    }
}

/// A session as the registry keeps it for a restart of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeptSession {
    pub(crate) hash: ResumeHash,
    pub(crate) meeting: MeetingName,
    pub(crate) invitation: InvitationId,
    pub(crate) participant: ParticipantId,
    pub(crate) name: String,
    pub(crate) admitted: bool,
}

/// An opened data directory.
pub(crate) struct DataDir {
    pub(crate) path: PathBuf,
    pub(crate) db: Connection,
}

impl DataDir {
    /// Opens (creating if needed) the directory and its database.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Self> {
        // Only its owner may enter: it holds keys, the registry and recordings.
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .with_context(|| format!("cannot create data directory {}", path.display()))?;
        if fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0) {
            tracing::warn!(
                "{} can be read by other users; `chmod 700` it (it holds keys and recordings)",
                path.display()
            );
        }
        let db = Connection::open(path.join(DATABASE))
            .with_context(|| format!("cannot open {}", path.join(DATABASE).display()))?;
        // The server and the CLI (summit revoke) share the file: wait for each other briefly.
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        let version: usize = db.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > MIGRATIONS.len() {
            bail!(
                "{} was written by a newer Summit (schema {version}); upgrade Summit",
                path.display()
            );
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version) {
            db.execute_batch(&format!(
                "BEGIN; {m} PRAGMA user_version = {}; COMMIT;",
                i + 1
            ))
            .with_context(|| format!("migration {} failed", i + 1))?;
        }
        Ok(Self {
            path: path.to_owned(),
            db,
        })
    }

    /// The signing key, created with its public half on first use.
    pub(crate) fn signing_key(&self) -> anyhow::Result<SigningKey> {
        let private = self.path.join(PRIVATE_KEY);
        if private.exists() {
            return read_private_key(&private);
        }
        if self.path.join(PUBLIC_KEY).exists() {
            bail!(
                "{} holds only the public key; invitations are made where the private key ({PRIVATE_KEY}) is kept",
                self.path.display()
            );
        }
        let key = create_private_key(&private)?;
        fs::write(
            self.path.join(PUBLIC_KEY),
            key.verifying_key().to_text() + "\n",
        )?;
        Ok(key)
    }

    /// The signing key if this directory holds it (never creates one).
    pub(crate) fn signing_key_if_present(&self) -> anyhow::Result<Option<SigningKey>> {
        if self.path.join(PRIVATE_KEY).exists() {
            self.signing_key().map(Some)
        } else {
            Ok(None)
        }
    }

    /// The verifying key: from the public key file, or made with the pair on first start.
    pub(crate) fn verifying_key(&self) -> anyhow::Result<VerifyingKey> {
        let public = self.path.join(PUBLIC_KEY);
        if !public.exists() {
            return Ok(self.signing_key()?.verifying_key());
        }
        let text = fs::read_to_string(&public)
            .with_context(|| format!("cannot read {}", public.display()))?;
        VerifyingKey::from_text(&text)
            .with_context(|| format!("{} is not a valid public key", public.display()))
    }
}
