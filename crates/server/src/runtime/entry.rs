//! The registry's part of a join, as one request to the registry actor: a resume token taken
//! back, the invitation checked (revoked, meeting ended, denied in the lobby) and one of its
//! uses spent, and what the registry holds of the meeting for its next member.

use summit_core::{MeetingSettings, Restored};
use summit_proto::{CloseCode, InvitationId, MeetingName, ResumeHash};

use crate::registry::{EntryRefusal, RegistryBackend};

/// What a join asks of the registry.
pub(crate) struct EntryAsk {
    pub(crate) meeting: MeetingName,
    pub(crate) invitation: InvitationId,
    /// How many times the invitation may enter (`None`: no limit).
    pub(crate) uses: Option<u32>,
    /// The hash of the resume token the page presented, if any.
    pub(crate) resume: Option<ResumeHash>,
    /// Whether the participant would wait in the lobby (unless a session they take back had
    /// been let in): a denied invitation is then refused.
    pub(crate) lobby_applies: bool,
    /// Unix seconds, and the window a session of the last run may be taken back in.
    pub(crate) now: u64,
    pub(crate) resume_window: u64,
}

/// What the registry let a join have.
pub(crate) struct Entry {
    /// A session of the last run, taken back by its resume token.
    pub(crate) restored: Option<Restored>,
    /// A use was spent (to give back if the join fails or resumes a session).
    pub(crate) spent: bool,
    /// The meeting's settings, which the core merges into the running meeting.
    pub(crate) settings: MeetingSettings,
}

/// The registry's part of a join, in one turn of the actor: nothing else runs between the
/// checks and the use they spend. A refusal is the close code and the reason the page shows.
pub(crate) fn check_and_spend(
    r: &dyn RegistryBackend,
    ask: &EntryAsk,
) -> Result<Entry, (CloseCode, String)> {
    let restored = match &ask.resume {
        Some(h) => r
            .restore_resume(h, &ask.meeting, &ask.invitation, ask.now, ask.resume_window)
            .unwrap_or_else(|e| {
                tracing::error!("cannot read resume tokens: {e:#}");
                None
            })
            .map(|(participant, admitted)| Restored {
                admitted,
                participant,
            }),
        None => None,
    };
    let waits = ask.lobby_applies && !restored.is_some_and(|r| r.admitted);
    let spent = spend_entry(
        r,
        &ask.invitation.0,
        &ask.meeting,
        ask.uses,
        waits,
        ask.resume.is_some(),
    )?;
    Ok(Entry {
        restored,
        spent,
        settings: meeting_settings(r, &ask.meeting),
    })
}

/// Why an invitation whose uses are spent may not enter.
pub(crate) fn used_up(uses: Option<u32>) -> String {
    EntryRefusal::UsedUp(uses.unwrap_or(0)).to_string()
}

/// The refusal a page sees when the registry could not answer (logged).
pub(crate) fn registry_failed(e: &anyhow::Error) -> (CloseCode, String) {
    tracing::error!("registry check failed: {e:#}");
    (
        CloseCode::Refused,
        "the server could not check the invitation; try again".to_owned(),
    )
}

/// The entry checks and the use they spend: a revoked invitation or an ended meeting refuses;
/// so does a denied one for someone who would wait in the lobby. Otherwise a use is spent
/// (`Ok(true)`); with none left, only a resume enters (`Ok(false)`: nothing spent).
fn spend_entry(
    r: &dyn RegistryBackend,
    invitation: &str,
    meeting: &MeetingName,
    uses: Option<u32>,
    waits: bool,
    resuming: bool,
) -> Result<bool, (CloseCode, String)> {
    let refuse = |code, why: &dyn std::fmt::Display| (code, why.to_string());
    match r.check(invitation, meeting) {
        Ok(Ok(())) if waits && r.is_denied(invitation, meeting).unwrap_or(false) => {
            Err(refuse(CloseCode::Denied, &EntryRefusal::Denied))
        }
        Ok(Ok(())) => match r.spend_use(invitation, uses) {
            Ok(true) => Ok(true),
            Ok(false) if resuming => Ok(false),
            Ok(false) => Err(refuse(CloseCode::InvitationRefused, &used_up(uses))),
            Err(e) => Err(registry_failed(&e)),
        },
        Ok(Err(refusal)) => {
            let code = if matches!(refusal, EntryRefusal::Ended) {
                CloseCode::Ended
            } else {
                CloseCode::InvitationRefused
            };
            Err(refuse(code, &refusal))
        }
        Err(e) => Err(registry_failed(&e)),
    }
}

/// What the registry holds of a meeting for its next member: channels, recording key,
/// denials, a lock kept over a restart. A part it cannot read is left out (logged) rather
/// than refusing entry.
fn meeting_settings(r: &dyn RegistryBackend, meeting: &MeetingName) -> MeetingSettings {
    fn or_default<T>(meeting: &MeetingName, what: &str, read: anyhow::Result<T>, default: T) -> T {
        read.unwrap_or_else(|e| {
            tracing::error!(%meeting, "cannot read the meeting's {what}: {e:#}");
            default
        })
    }
    MeetingSettings {
        languages: or_default(
            meeting,
            "languages",
            r.meeting_languages(meeting),
            Vec::new(),
        ),
        recording_key: or_default(
            meeting,
            "recording key",
            r.meeting_recording_key(meeting),
            None,
        ),
        denied: or_default(meeting, "denials", r.denials(meeting), Vec::new()),
        locked: or_default(meeting, "lock", r.is_locked(meeting), false),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::registry::DataDir;
    use summit_proto::DeniedInvitation;

    fn ask(meeting: &MeetingName, invitation: &str, lobby: bool, resume: bool) -> EntryAsk {
        EntryAsk {
            meeting: meeting.clone(),
            invitation: InvitationId(invitation.into()),
            uses: Some(1),
            resume: resume.then_some(ResumeHash([7; 32])),
            lobby_applies: lobby,
            now: 1_000,
            resume_window: 120,
        }
    }

    #[test]
    fn one_request_spends_a_use_refuses_what_the_registry_refuses_and_reads_the_settings() {
        let path = std::env::temp_dir().join(format!("summit-entry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        let r = DataDir::open(&path).unwrap();
        let m = MeetingName::parse("entry-test").unwrap();
        r.create_meeting(&m, true).unwrap();
        r.set_locked(&m, true).unwrap();

        let first = check_and_spend(&r, &ask(&m, "inv-1", false, false)).unwrap();
        assert!(first.spent && first.restored.is_none());
        assert!(first.settings.locked, "the meeting's settings come with it");
        // Its one use is spent: refused, unless it comes back with a resume token (an
        // unknown one restores nothing, and spends nothing).
        let again = check_and_spend(&r, &ask(&m, "inv-1", false, false));
        assert_eq!(again.err().map(|e| e.0), Some(CloseCode::InvitationRefused));
        let resumed = check_and_spend(&r, &ask(&m, "inv-1", false, true)).unwrap();
        assert!(!resumed.spent && resumed.restored.is_none());

        // Denied in this meeting: refused when it would wait in the lobby, not otherwise.
        let denied = DeniedInvitation {
            invitation: InvitationId("inv-2".into()),
            name: "Guest".into(),
            by: "Host".into(),
        };
        r.deny(&m, &denied).unwrap();
        let waits = check_and_spend(&r, &ask(&m, "inv-2", true, false));
        assert_eq!(waits.err().map(|e| e.0), Some(CloseCode::Denied));
        assert!(check_and_spend(&r, &ask(&m, "inv-2", false, false)).is_ok());

        // A revoked invitation never enters.
        r.revoke("inv-3", "lost").unwrap();
        let revoked = check_and_spend(&r, &ask(&m, "inv-3", false, false));
        assert_eq!(
            revoked.err().map(|e| e.0),
            Some(CloseCode::InvitationRefused)
        );
        let _ = std::fs::remove_dir_all(&path);
    }
}
