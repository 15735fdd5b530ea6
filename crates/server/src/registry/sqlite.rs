//! The registry on SQLite: the embedded default, in the data directory's `summit.db`.

use anyhow::Context;
use rusqlite::OptionalExtension;
use summit_core::RecordingKey;
use summit_proto::{
    DeniedInvitation, InvitationId, Language, MeetingName, ParticipantId, RecordingKeyMac,
    RecordingPublicKey, ResumeHash,
};

use crate::registry::record_log::{self, ChainState, StoredEntry};
use crate::registry::{
    parse_languages, DataDir, EntryRefusal, KeptSession, RegisteredMeeting, RegistryBackend,
};

impl RegistryBackend for DataDir {
    fn create_meeting(&self, name: &MeetingName, e2ee: bool) -> anyhow::Result<bool> {
        let n = self.db.execute(
            "INSERT OR IGNORE INTO meetings (name, e2ee) VALUES (?1, ?2)",
            rusqlite::params![name.as_str(), e2ee],
        )?;
        Ok(n == 1)
    }

    fn meeting_languages(&self, name: &MeetingName) -> anyhow::Result<Vec<Language>> {
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

    fn add_languages(
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

    fn meeting_recording_key(&self, name: &MeetingName) -> anyhow::Result<Option<RecordingKey>> {
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

    fn set_recording_key(&self, name: &MeetingName, key: &str, mac: &str) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE meetings SET recording_key = ?2, recording_key_mac = ?3 WHERE name = ?1",
            [name.as_str(), key, mac],
        )?;
        Ok(())
    }

    fn meeting_e2ee(&self, name: &MeetingName) -> anyhow::Result<Option<bool>> {
        Ok(self
            .db
            .query_row(
                "SELECT e2ee FROM meetings WHERE name = ?1",
                [name.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn revoke(&self, invitation: &str, reason: &str) -> anyhow::Result<bool> {
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

    fn invitation_made(
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

    fn deny(&self, meeting: &MeetingName, d: &DeniedInvitation) -> anyhow::Result<()> {
        self.db.execute(
            "INSERT OR IGNORE INTO denials (meeting, invitation_id, name, by) VALUES (?1, ?2, ?3, ?4)",
            [meeting.as_str(), d.invitation.0.as_str(), &d.name, &d.by],
        )?;
        Ok(())
    }

    fn allow_again(&self, meeting: &MeetingName, invitation: &InvitationId) -> anyhow::Result<()> {
        self.db.execute(
            "DELETE FROM denials WHERE meeting = ?1 AND invitation_id = ?2",
            [meeting.as_str(), invitation.0.as_str()],
        )?;
        Ok(())
    }

    fn denials(&self, meeting: &MeetingName) -> anyhow::Result<Vec<DeniedInvitation>> {
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

    fn keep_resume(&self, s: &KeptSession) -> anyhow::Result<()> {
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

    fn next_participant_id(&self) -> anyhow::Result<u64> {
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

    fn forget_resume(&self, hash: &ResumeHash) -> anyhow::Result<()> {
        self.db
            .execute("DELETE FROM resume_tokens WHERE hash = ?1", [hash.to_hex()])?;
        Ok(())
    }

    fn orphan_resume_tokens(&self, now: u64) -> anyhow::Result<Vec<MeetingName>> {
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

    fn expire_restores(&self) -> anyhow::Result<Vec<KeptSession>> {
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

    fn restore_resume(
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

    fn set_locked(&self, meeting: &MeetingName, locked: bool) -> anyhow::Result<()> {
        let sql = if locked {
            "INSERT OR IGNORE INTO locks (meeting) VALUES (?1)"
        } else {
            "DELETE FROM locks WHERE meeting = ?1"
        };
        self.db.execute(sql, [meeting.as_str()])?;
        Ok(())
    }

    fn is_locked(&self, meeting: &MeetingName) -> anyhow::Result<bool> {
        Ok(self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM locks WHERE meeting = ?1)",
            [meeting.as_str()],
            |r| r.get(0),
        )?)
    }

    fn is_denied(&self, invitation: &str, meeting: &MeetingName) -> anyhow::Result<bool> {
        Ok(self.db.query_row(
            "SELECT EXISTS (SELECT 1 FROM denials WHERE meeting = ?1 AND invitation_id = ?2)",
            [meeting.as_str(), invitation],
            |r| r.get(0),
        )?)
    }

    fn check(
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

    fn spend_use(&self, invitation: &str, max_uses: Option<u32>) -> anyhow::Result<bool> {
        // Spend a use atomically, so two tabs racing for the last use cannot both enter.
        let max = max_uses.map_or(i64::MAX, i64::from);
        let n = self.db.execute(
            "INSERT INTO entries (invitation_id, count) VALUES (?1, 1)
             ON CONFLICT (invitation_id) DO UPDATE SET count = count + 1 WHERE count < ?2",
            rusqlite::params![invitation, max],
        )?;
        Ok(n == 1 && max > 0)
    }

    fn give_back(&self, invitation: &str) -> anyhow::Result<()> {
        self.db.execute(
            "UPDATE entries SET count = count - 1 WHERE invitation_id = ?1 AND count > 0",
            [invitation],
        )?;
        Ok(())
    }

    fn end_meeting(&self, meeting: &MeetingName) -> anyhow::Result<()> {
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

    fn revocations_since(&self, after: i64) -> anyhow::Result<(Vec<String>, i64)> {
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

    fn meetings(&self) -> anyhow::Result<Vec<RegisteredMeeting>> {
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

    fn record_chain(&self, meeting: &MeetingName) -> anyhow::Result<ChainState> {
        record_log::chain(&self.db, meeting.as_str())
    }

    fn append_records(&self, batch: &[StoredEntry]) -> anyhow::Result<()> {
        record_log::append(&self.db, batch)
    }
}
