//! The data directory: the invitation signing key pair and the SQLite meeting registry. All
//! SQLite access lives in this folder: `store.rs` (what a running server persists and polls),
//! `record_log.rs` (the meeting record), `recorder.rs` (the thread that appends to it).

pub(crate) mod record_log;
pub(crate) mod recorder;
pub(crate) mod store;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rusqlite::{Connection, OptionalExtension};
use summit_auth::{SigningKey, VerifyingKey};
use summit_core::RecordingKey;
use summit_proto::{
    DeniedInvitation, InvitationId, Language, MeetingName, ParticipantId, RecordingKeyMac,
    RecordingPublicKey, ResumeHash,
};

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

    /// Registers a meeting; false if it existed (its encryption setting is then unchanged).
    pub(crate) fn create_meeting(&self, name: &MeetingName, e2ee: bool) -> anyhow::Result<bool> {
        let n = self.db.execute(
            "INSERT OR IGNORE INTO meetings (name, e2ee) VALUES (?1, ?2)",
            rusqlite::params![name.as_str(), e2ee],
        )?;
        Ok(n == 1)
    }

    /// A registered meeting's interpretation channels (none if it is not registered).
    pub(crate) fn meeting_languages(&self, name: &MeetingName) -> anyhow::Result<Vec<Language>> {
        let text: Option<String> = self
            .db
            .query_row(
                "SELECT languages FROM meetings WHERE name = ?1",
                [name.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        parse_languages(&text.unwrap_or_default())
    }

    /// Adds interpretation channels to a registered meeting; returns those that were new.
    pub(crate) fn add_languages(
        &self,
        name: &MeetingName,
        languages: &[Language],
    ) -> anyhow::Result<Vec<Language>> {
        let mut all = self.meeting_languages(name)?;
        let mut added = Vec::new();
        for l in languages {
            if !all.contains(l) {
                all.push(l.clone());
                added.push(l.clone());
            }
        }
        let text: Vec<&str> = all.iter().map(Language::as_str).collect();
        self.db.execute(
            "UPDATE meetings SET languages = ?2 WHERE name = ?1",
            [name.as_str(), &text.join(",")],
        )?;
        Ok(added)
    }

    /// A registered meeting's recording key (public half) and the organizer's MAC over it.
    pub(crate) fn meeting_recording_key(
        &self,
        name: &MeetingName,
    ) -> anyhow::Result<Option<RecordingKey>> {
        let row: Option<(Option<String>, Option<String>)> = self
            .db
            .query_row(
                "SELECT recording_key, recording_key_mac FROM meetings WHERE name = ?1",
                [name.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(match row {
            Some((Some(key), mac)) => Some(RecordingKey {
                key: RecordingPublicKey(key),
                mac: mac.map(RecordingKeyMac),
            }),
            _ => None,
        })
    }

    /// Sets a registered meeting's recording key, with the organizer's MAC over it.
    pub(crate) fn set_recording_key(
        &self,
        name: &MeetingName,
        key: &str,
        mac: &str,
    ) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE meetings SET recording_key = ?2, recording_key_mac = ?3 WHERE name = ?1",
            [name.as_str(), key, mac],
        )?;
        Ok(())
    }

    /// Whether a registered meeting is end-to-end encrypted; `None` if it is not registered.
    pub(crate) fn meeting_e2ee(&self, name: &MeetingName) -> anyhow::Result<Option<bool>> {
        Ok(self
            .db
            .query_row(
                "SELECT e2ee FROM meetings WHERE name = ?1",
                [name.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Revokes an invitation, and every invitation made from the page by whoever entered with
    /// it (and so on down); false if it was revoked already.
    pub(crate) fn revoke(&self, invitation: &str, reason: &str) -> anyhow::Result<bool> {
        let n = self.db.execute(
            "INSERT OR IGNORE INTO revocations (invitation_id, reason) VALUES (?1, ?2)",
            [invitation, reason],
        )?;
        // Breadth first; every invitation is revoked at most once, so this ends.
        let mut queue = vec![invitation.to_owned()];
        while let Some(by) = queue.pop() {
            let made: Vec<String> = self
                .db
                .prepare("SELECT invitation_id FROM invitations_made WHERE by_invitation = ?1")?
                .query_map([&by], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for m in made {
                let why = format!("made by invitation {by}, which was revoked");
                let new = self.db.execute(
                    "INSERT OR IGNORE INTO revocations (invitation_id, reason) VALUES (?1, ?2)",
                    [m.as_str(), why.as_str()],
                )?;
                if new == 1 {
                    queue.push(m);
                }
            }
        }
        Ok(n == 1)
    }

    /// Remembers that a host (entered with `by`) made `invitation` from the meeting page.
    pub(crate) fn invitation_made(
        &self,
        meeting: &MeetingName,
        invitation: &InvitationId,
        by: &InvitationId,
    ) -> anyhow::Result<()> {
        self.db.execute(
            "INSERT OR IGNORE INTO invitations_made (invitation_id, meeting, by_invitation)
             VALUES (?1, ?2, ?3)",
            [invitation.0.as_str(), meeting.as_str(), by.0.as_str()],
        )?;
        Ok(())
    }

    /// A host denied an invitation: it may not wait in this meeting's lobby again.
    pub(crate) fn deny(&self, meeting: &MeetingName, d: &DeniedInvitation) -> anyhow::Result<()> {
        self.db.execute(
            "INSERT OR IGNORE INTO denials (meeting, invitation_id, name, by) VALUES (?1, ?2, ?3, ?4)",
            [meeting.as_str(), d.invitation.0.as_str(), &d.name, &d.by],
        )?;
        Ok(())
    }

    /// A host allowed a denied invitation again.
    pub(crate) fn allow_again(
        &self,
        meeting: &MeetingName,
        invitation: &InvitationId,
    ) -> anyhow::Result<()> {
        self.db.execute(
            "DELETE FROM denials WHERE meeting = ?1 AND invitation_id = ?2",
            [meeting.as_str(), invitation.0.as_str()],
        )?;
        Ok(())
    }

    /// The invitations hosts denied in a meeting, oldest first.
    pub(crate) fn denials(&self, meeting: &MeetingName) -> anyhow::Result<Vec<DeniedInvitation>> {
        let mut q = self.db.prepare(
            "SELECT invitation_id, name, by FROM denials WHERE meeting = ?1 ORDER BY denied_at",
        )?;
        let rows = q.query_map([meeting.as_str()], |r| {
            Ok(DeniedInvitation {
                invitation: InvitationId(r.get(0)?),
                name: r.get(1)?,
                by: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Keeps a session's resume token (by hash only) while it may take the session back, with
    /// what a restart needs to bring the session back as it was: its participant id (ids are
    /// counted past it, so that no id, and no SFrame key id, ever repeats) and name.
    pub(crate) fn keep_resume(&self, s: &KeptSession) -> anyhow::Result<()> {
        let id = i64::try_from(s.participant.0).unwrap_or(i64::MAX);
        self.db.execute(
            "INSERT INTO resume_tokens (hash, meeting, invitation_id, participant, name, admitted)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (hash) DO UPDATE SET admitted = ?6, orphaned_at = NULL",
            rusqlite::params![
                s.hash.to_hex(),
                s.meeting.as_str(),
                s.invitation.0,
                id,
                s.name,
                s.admitted
            ],
        )?;
        self.db.execute(
            "INSERT INTO counters (name, value) VALUES ('next_participant', ?1 + 1)
             ON CONFLICT (name) DO UPDATE SET value = max(value, ?1 + 1)",
            [id],
        )?;
        Ok(())
    }

    /// The first participant id this run may give: past every id given before (ids, and the
    /// SFrame key ids made from them, never repeat across restarts).
    pub(crate) fn next_participant_id(&self) -> anyhow::Result<u64> {
        let counted: Option<i64> = self
            .db
            .query_row(
                "SELECT value FROM counters WHERE name = 'next_participant'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let recorded: Option<i64> =
            self.db
                .query_row("SELECT MAX(participant) + 1 FROM sessions", [], |r| {
                    r.get(0)
                })?;
        let next = counted.unwrap_or(1).max(recorded.unwrap_or(1)).max(1);
        Ok(u64::try_from(next).unwrap_or(1))
    }

    /// Forgets a resume token.
    pub(crate) fn forget_resume(&self, hash: &ResumeHash) -> anyhow::Result<()> {
        self.db
            .execute("DELETE FROM resume_tokens WHERE hash = ?1", [hash.to_hex()])?;
        Ok(())
    }

    /// At start: tokens still kept belong to sessions the last run of the server held when it
    /// stopped. They may come back within the window from `now` (Unix seconds); those of an
    /// earlier run, older than that, go. Returns the meetings that were running at the stop.
    pub(crate) fn orphan_resume_tokens(&self, now: u64) -> anyhow::Result<Vec<MeetingName>> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        self.db.execute(
            "DELETE FROM resume_tokens WHERE orphaned_at IS NOT NULL",
            [],
        )?;
        self.db.execute(
            "UPDATE resume_tokens SET orphaned_at = ?1 WHERE orphaned_at IS NULL",
            [now],
        )?;
        let mut q = self
            .db
            .prepare("SELECT DISTINCT meeting FROM resume_tokens ORDER BY meeting")?;
        let names: Vec<String> = q.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(names
            .into_iter()
            .filter_map(|n| MeetingName::parse(&n).ok())
            .collect())
    }

    /// Sessions of the last run that did not come back within the window: forgotten now, and
    /// returned so that the record can say they were lost.
    pub(crate) fn expire_restores(&self) -> anyhow::Result<Vec<KeptSession>> {
        let mut q = self.db.prepare(
            "SELECT hash, meeting, invitation_id, participant, name, admitted FROM resume_tokens
             WHERE orphaned_at IS NOT NULL ORDER BY meeting, participant",
        )?;
        let rows = q.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, meeting, invitation, participant, name, admitted) = row?;
            let (Ok(meeting), Some(hash)) =
                (MeetingName::parse(&meeting), ResumeHash::from_hex(&hash))
            else {
                continue;
            };
            out.push(KeptSession {
                hash,
                meeting,
                invitation: InvitationId(invitation),
                participant: ParticipantId(u64::try_from(participant).unwrap_or(0)),
                name,
                admitted,
            });
        }
        self.db.execute(
            "DELETE FROM resume_tokens WHERE orphaned_at IS NOT NULL",
            [],
        )?;
        Ok(out)
    }

    /// A session kept from before this server started, taken back by its token within the
    /// window: its participant id and whether it had been let in. The token is spent (a new
    /// one replaces it).
    pub(crate) fn restore_resume(
        &self,
        hash: &ResumeHash,
        meeting: &MeetingName,
        invitation: &InvitationId,
        now: u64,
        window_secs: u64,
    ) -> anyhow::Result<Option<(ParticipantId, bool)>> {
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let window = i64::try_from(window_secs).unwrap_or(i64::MAX);
        let found: Option<(i64, bool)> = self
            .db
            .query_row(
                "SELECT participant, admitted FROM resume_tokens WHERE hash = ?1 AND meeting = ?2
                 AND invitation_id = ?3 AND orphaned_at IS NOT NULL AND orphaned_at + ?5 >= ?4",
                rusqlite::params![hash.to_hex(), meeting.as_str(), invitation.0, now, window],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if found.is_some() {
            self.forget_resume(hash)?;
        }
        Ok(found.map(|(p, a)| (ParticipantId(u64::try_from(p).unwrap_or(0)), a)))
    }

    /// Whether a host denied this invitation in this meeting.
    /// A host locked (or unlocked) the meeting.
    pub(crate) fn set_locked(&self, meeting: &MeetingName, locked: bool) -> anyhow::Result<()> {
        let sql = if locked {
            "INSERT OR IGNORE INTO locks (meeting) VALUES (?1)"
        } else {
            "DELETE FROM locks WHERE meeting = ?1"
        };
        self.db.execute(sql, [meeting.as_str()])?;
        Ok(())
    }

    /// Whether a host left the meeting locked.
    pub(crate) fn is_locked(&self, meeting: &MeetingName) -> anyhow::Result<bool> {
        Ok(self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM locks WHERE meeting = ?1)",
            [meeting.as_str()],
            |r| r.get(0),
        )?)
    }

    pub(crate) fn is_denied(
        &self,
        invitation: &str,
        meeting: &MeetingName,
    ) -> anyhow::Result<bool> {
        Ok(self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM denials WHERE meeting = ?1 AND invitation_id = ?2)",
            [meeting.as_str(), invitation],
            |r| r.get(0),
        )?)
    }

    /// Why an invitation may not enter at all now (revoked, or its meeting ended), if so.
    pub(crate) fn check(
        &self,
        invitation: &str,
        meeting: &MeetingName,
    ) -> anyhow::Result<Result<(), EntryRefusal>> {
        let revoked: bool = self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM revocations WHERE invitation_id = ?1)",
            [invitation],
            |r| r.get(0),
        )?;
        if revoked {
            return Ok(Err(EntryRefusal::Revoked));
        }
        let ended: bool = self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM meetings WHERE name = ?1 AND ended_at IS NOT NULL)",
            [meeting.as_str()],
            |r| r.get(0),
        )?;
        if ended {
            return Ok(Err(EntryRefusal::Ended));
        }
        Ok(Ok(()))
    }

    /// Spends one of an invitation's uses; false when none is left.
    pub(crate) fn spend_use(
        &self,
        invitation: &str,
        max_uses: Option<u32>,
    ) -> anyhow::Result<bool> {
        // Spend a use atomically, so two tabs racing for the last use cannot both enter.
        let max = max_uses.map_or(i64::MAX, i64::from);
        let n = self.db.execute(
            "INSERT INTO entries (invitation_id, count) VALUES (?1, 1)
             ON CONFLICT (invitation_id) DO UPDATE SET count = count + 1 WHERE count < ?2",
            rusqlite::params![invitation, max],
        )?;
        Ok(n == 1 && max > 0)
    }

    /// Gives back a use spent by [`DataDir::spend_use`] (a resumed session, or a refused join).
    pub(crate) fn give_back(&self, invitation: &str) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE entries SET count = count - 1 WHERE invitation_id = ?1 AND count > 0",
            [invitation],
        )?;
        Ok(())
    }

    /// Marks a meeting ended: its links say so from now on.
    pub(crate) fn end_meeting(&self, meeting: &MeetingName) -> anyhow::Result<()> {
        self.db.execute(
            "INSERT INTO meetings (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
            [meeting.as_str()],
        )?;
        self.db.execute(
            "UPDATE meetings SET ended_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE name = ?1",
            [meeting.as_str()],
        )?;
        Ok(())
    }

    /// Revocations after `after` (a row id), with the newest row id.
    pub(crate) fn revocations_since(&self, after: i64) -> anyhow::Result<(Vec<String>, i64)> {
        let mut q = self.db.prepare(
            "SELECT rowid, invitation_id FROM revocations WHERE rowid > ?1 ORDER BY rowid",
        )?;
        let mut last = after;
        let mut ids = Vec::new();
        for row in q.query_map([after], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })? {
            let (rowid, id) = row?;
            last = rowid;
            ids.push(id);
        }
        Ok((ids, last))
    }

    /// Registered meetings, oldest first.
    pub(crate) fn meetings(&self) -> anyhow::Result<Vec<RegisteredMeeting>> {
        let mut q = self.db.prepare(
            "SELECT name, created_at, e2ee, languages FROM meetings ORDER BY created_at, name",
        )?;
        let rows = q.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, created_at, e2ee, languages) = row?;
            out.push(RegisteredMeeting {
                name: MeetingName::parse(&name)
                    .with_context(|| format!("a stored meeting name is damaged: {name:?}"))?,
                created_at,
                e2ee,
                languages: parse_languages(&languages)?,
            });
        }
        Ok(out)
    }
}
