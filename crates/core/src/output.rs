//! What the core asks the runtime to do.

use std::time::Instant;

use str0m::net::Transmit;
use summit_proto::{CloseCode, InvitationId, Language, MeetingName, ParticipantId, ServerMessage};

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
    RecordingKey(ParticipantId, String),
    /// Nothing more until this time (or new input).
    Timeout(Instant),
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
    Record(MeetingName, summit_record::RecordEvent),
}

/// Why the core removed a participant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    /// WebSocket close code.
    pub code: CloseCode,
    /// Reason in words.
    pub reason: String,
}
