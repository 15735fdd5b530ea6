//! Participant: one person in a meeting, as the meeting knows them: who they are, where they
//! stand, what they told others. What they publish and receive is the router's
//! (`router::Media`), their two connections the endpoint's, each named by their id.

use std::time::Instant;

use summit_proto::{
    Capabilities, ConnectionState, InvitationId, LanguagePair, MeetingName, ParticipantId,
    ParticipantInfo, ResumeHash, ResumeToken, Role, TrackSource,
};

use crate::meetings::budget::TokenBucket;

use crate::router::Media;

/// Where a participant stands with their meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// In the lobby, until a host lets them in: no media connections, no broadcast, no chat.
    Waiting,
    /// Let in (by a host, or directly): a member of the meeting.
    Admitted,
}

impl Admission {
    /// `Admitted` or `Waiting`.
    pub(crate) fn from_admitted(admitted: bool) -> Self {
        if admitted {
            Admission::Admitted
        } else {
            Admission::Waiting
        }
    }
}

/// A participant in a meeting.
#[derive(Debug)]
pub(crate) struct Participant {
    pub(crate) id: ParticipantId,
    pub(crate) meeting: MeetingName,
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) capabilities: Capabilities,
    pub(crate) invitation: InvitationId,
    /// In the meeting, or still in its lobby.
    pub(crate) admission: Admission,
    /// For an interpreter: the pair their invitation names.
    pub(crate) interprets: Option<LanguagePair>,
    pub(crate) last_seen: Instant,
    pub(crate) microphone_muted: bool,
    pub(crate) camera_off: bool,
    /// The hash of this session's resume token.
    pub(crate) resume: ResumeHash,
    /// The token itself, until the page has it in `welcome` (it also goes out in `lobby`).
    pub(crate) resume_token: Option<ResumeToken>,
    /// Bytes they may still have relayed to others (key exchange, chat).
    pub(crate) relay: TokenBucket,
    /// Since when their connection has been lost (they stay, reconnecting, for the window).
    pub(crate) reconnecting: Option<Instant>,
    /// Messages held for them while reconnecting.
    pub(crate) outbox: crate::meetings::outbox::Outbox,
    /// When their TURN credentials are due for renewal (with TURN servers configured).
    pub(crate) ice_servers_renew: Option<Instant>,
    /// How what they send reaches the server.
    pub(crate) uplink: crate::meetings::uplink::UplinkQuality,
}

impl Participant {
    /// Whether they are in the meeting (not waiting in the lobby).
    pub(crate) fn admitted(&self) -> bool {
        self.admission == Admission::Admitted
    }

    /// What others are told of them; `media` is what they publish (none in the lobby).
    pub(crate) fn info(&self, media: Option<&Media>) -> ParticipantInfo {
        let has = |s| media.is_some_and(|m| m.track(s).is_some());
        ParticipantInfo {
            id: self.id,
            name: self.name.clone(),
            role: self.role,
            microphone_muted: self.microphone_muted || !has(TrackSource::Microphone),
            camera_off: self.camera_off || !has(TrackSource::Camera),
            screen_sharing: has(TrackSource::Screen),
            connection: if self.reconnecting.is_some() {
                ConnectionState::Reconnecting
            } else if self.uplink.poor {
                ConnectionState::Poor
            } else {
                ConnectionState::Good
            },
            uplink: self.uplink.told,
        }
    }
}
