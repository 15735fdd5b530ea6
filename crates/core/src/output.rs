//! What the core asks the runtime to do.

use std::time::Instant;

use str0m::net::Transmit;
use summit_proto::{
    CloseCode, DeniedInvitation, InvitationId, Language, MeetingName, Opaque, ParticipantId,
    ResumeHash, ServerMessage,
};

/// One thing for the runtime to do, from [`crate::Sfu::poll_output`].
#[derive(Debug)]
pub enum Output {
    /// Send a datagram.
    Transmit(Transmit),
    /// Send a signaling message to a participant.
    Signal(ParticipantId, ServerMessage),
    /// Close a participant's signaling connection; the core has already removed them.
    Disconnect(ParticipantId, Disconnect),
    /// Something the runtime must record (revocations, ended meetings).
    Event(SfuEvent),
    /// A packet for the recording of the publisher's meeting (only while it is recorded).
    Recorded(crate::RecordedPacket),
    /// A participant's media key sealed to the meeting's recording key, to keep beside the
    /// recording.
    RecordingKey(ParticipantId, Opaque),
    /// What the recording's writer must know: when a meeting's recording starts and stops,
    /// and whose tracks its files are named for.
    Recording(RecordingControl),
    /// Nothing more until this time (or new input).
    Timeout(Instant),
}

/// The recording writer's instructions, decided by the core with the record entries they go
/// with (the runtime carries them out; it does not read the record to find them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordingControl {
    /// The meeting's recording started; `sealed`: its frames are end-to-end encrypted.
    Start {
        /// The meeting.
        meeting: MeetingName,
        /// Whether the frames are sealed.
        sealed: bool,
    },
    /// The meeting's recording stopped: its files are finished.
    Stop(MeetingName),
    /// Someone entered a meeting: their name, for the files of their tracks.
    Name {
        /// Who.
        participant: ParticipantId,
        /// Where.
        meeting: MeetingName,
        /// Their display name.
        name: String,
    },
    /// Someone left: their name is no longer needed.
    Forget(ParticipantId),
}

/// A decision of the core that outlives the process: the runtime persists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SfuEvent {
    /// A host removed a participant: their invitation must not enter again.
    InvitationRevoked(InvitationId),
    /// A host ended the meeting: links to it must say so.
    MeetingEnded(MeetingName),
    /// A host added a language channel: later entries to the meeting know it.
    LanguageAdded(MeetingName, Language),
    /// An event for the meeting's record: to be made durable before anything after it is sent.
    Record(MeetingName, summit_proto::RecordEvent),
    /// A host denied an invitation: its holders may not wait in the meeting's lobby again.
    InvitationDenied(MeetingName, DeniedInvitation),
    /// A host allowed a denied invitation again.
    InvitationAllowed(MeetingName, InvitationId),
    /// A host made an invitation from the meeting page: if the host's own invitation is
    /// revoked (the host is removed), this one is too.
    InvitationMade {
        /// The meeting.
        meeting: MeetingName,
        /// The new invitation.
        invitation: InvitationId,
        /// The invitation of the host who made it.
        by: InvitationId,
    },
    /// A session's resume token (by hash) may take it back: keep it, so that it outlives a
    /// restart of the server.
    Resumable {
        /// The token's hash.
        hash: ResumeHash,
        /// The session's meeting.
        meeting: MeetingName,
        /// The invitation it entered with.
        invitation: InvitationId,
        /// Its participant id.
        participant: ParticipantId,
        /// Its display name.
        name: String,
        /// It has been let in (not waiting in the lobby).
        admitted: bool,
    },
    /// A session's resume token takes nothing back any more: forget it.
    ResumeEnded(ResumeHash),
    /// A host locked or unlocked the meeting (or it emptied, and so is unlocked): keep it, so
    /// that a restart of the server does not open a locked meeting.
    LockChanged(MeetingName, bool),
}

/// Why the core removed a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// WebSocket close code.
    pub code: CloseCode,
    /// Reason in words.
    pub reason: String,
}
