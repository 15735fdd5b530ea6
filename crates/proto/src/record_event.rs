//! What the record says happened: one variant per kind of event.

use serde::{Deserialize, Serialize};

/// One event of a meeting. Participants are named by their id in the meeting, display name,
/// role and invitation id, so that a record reads on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RecordEvent {
    /// The first person entered.
    MeetingStarted {},
    /// A participant entered the meeting (admitted, or directly).
    Joined {
        /// Their id in the meeting.
        participant: u64,
        /// Display name from their invitation.
        name: String,
        /// Role from their invitation.
        role: String,
        /// The invitation they entered with.
        invitation: String,
    },
    /// A participant left (or lost their connection, or was removed).
    Left {
        /// Their id in the meeting.
        participant: u64,
        /// Display name.
        name: String,
        /// Why, in words.
        reason: String,
    },
    /// A host let someone in from the lobby.
    Admitted {
        /// Who.
        participant: u64,
        /// Their name.
        name: String,
        /// The host.
        by: String,
    },
    /// A host turned someone away from the lobby: their invitation may not wait there again
    /// until a host allows it.
    Denied {
        /// Who.
        participant: u64,
        /// Their name.
        name: String,
        /// The host.
        by: String,
        /// The invitation denied (absent in records made before denials blocked links).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        invitation: Option<String>,
    },
    /// A host let a denied invitation wait in the lobby again.
    AllowedAgain {
        /// The invitation.
        invitation: String,
        /// The host.
        by: String,
    },
    /// A host made an invitation from the meeting page.
    Invited {
        /// The new invitation's id.
        invitation: String,
        /// The name it carries.
        name: String,
        /// The role it gives.
        role: String,
        /// How many times it may enter, if limited.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uses: Option<u32>,
        /// When it expires (RFC 3339).
        expires: String,
        /// The host.
        by: String,
    },
    /// A host removed a participant (and revoked their invitation).
    Removed {
        /// Who.
        participant: u64,
        /// Their name.
        name: String,
        /// The host.
        by: String,
    },
    /// A host muted a participant's microphone.
    MutedByHost {
        /// Who.
        participant: u64,
        /// Their name.
        name: String,
        /// The host.
        by: String,
    },
    /// A host locked or unlocked the meeting.
    Locked {
        /// Locked (true) or unlocked.
        locked: bool,
        /// The host.
        by: String,
    },
    /// An interpretation booth's microphone changed hands.
    Handover {
        /// The booth's language pair, e.g. "ru-zh".
        booth: String,
        /// Who holds it now, if anyone.
        holder: Option<u64>,
        /// Their name.
        name: Option<String>,
    },
    /// A host started recording.
    RecordingStarted {
        /// The host.
        by: String,
        /// End-to-end encrypted: the files hold the frames sealed, opened only with the
        /// organizer's recording key.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        sealed: bool,
    },
    /// Recording stopped (a host stopped it, or the meeting ended).
    RecordingStopped {
        /// The host, or why.
        by: String,
    },
    /// The server stopped while the meeting ran (a crash, or a restart) and is running again:
    /// those present may come back for a while, as they were.
    ServerRestarted {},
    /// A host ended the meeting, or the last person left.
    MeetingEnded {
        /// Why, in words.
        reason: String,
    },
}

impl RecordEvent {
    /// Whether the record's head is signed after this event: who is present changed (someone
    /// came or went, or the meeting ended), which is what each side keeps a signed proof of.
    pub fn signs_head(&self) -> bool {
        matches!(
            self,
            RecordEvent::Joined { .. }
                | RecordEvent::Left { .. }
                | RecordEvent::MeetingEnded { .. }
        )
    }

    /// The event in words, for a person reading the record.
    pub fn describe(&self) -> String {
        match self {
            RecordEvent::MeetingStarted {} => "The meeting started.".into(),
            RecordEvent::Joined {
                participant,
                name,
                role,
                invitation,
            } => format!("{name} ({role}, #{participant}) joined with invitation {invitation}."),
            RecordEvent::Left {
                participant,
                name,
                reason,
            } => format!("{name} (#{participant}) left: {reason}."),
            RecordEvent::Admitted { name, by, .. } => format!("{by} admitted {name}."),
            RecordEvent::Denied {
                name,
                by,
                invitation: Some(i),
                ..
            } => format!("{by} denied {name} entry (invitation {i} may not wait again)."),
            RecordEvent::Denied { name, by, .. } => format!("{by} denied {name} entry."),
            RecordEvent::AllowedAgain { invitation, by } => {
                format!("{by} allowed invitation {invitation} to wait in the lobby again.")
            }
            RecordEvent::Invited {
                invitation,
                name,
                role,
                expires,
                by,
                ..
            } => format!(
                "{by} invited {name} ({role}) with invitation {invitation}, valid until {expires}."
            ),
            RecordEvent::Removed { name, by, .. } => format!("{by} removed {name}."),
            RecordEvent::MutedByHost { name, by, .. } => format!("{by} muted {name}."),
            RecordEvent::Locked { locked: true, by } => format!("{by} locked the meeting."),
            RecordEvent::Locked { locked: false, by } => format!("{by} unlocked the meeting."),
            RecordEvent::Handover {
                booth,
                name: Some(n),
                ..
            } => format!("{n} took the {booth} booth's microphone."),
            RecordEvent::Handover { booth, .. } => {
                format!("The {booth} booth's microphone is free.")
            }
            RecordEvent::RecordingStarted { by, sealed: false } => {
                format!("{by} started recording.")
            }
            RecordEvent::RecordingStarted { by, sealed: true } => {
                format!("{by} started a sealed recording.")
            }
            RecordEvent::RecordingStopped { by } => format!("Recording stopped ({by})."),
            RecordEvent::ServerRestarted {} => {
                "The server restarted; those present may come back.".into()
            }
            RecordEvent::MeetingEnded { reason } => format!("The meeting ended: {reason}."),
        }
    }
}
