//! Participant: one person in a meeting, as the meeting knows them: who they are, where they
//! stand, what they told others. What they publish and receive is the router's
//! (`router::Media`), their two connections the endpoint's, each named by their id.

use std::time::Instant;

use summit_proto::{
    Capabilities, ConnectionState, InvitationId, LanguagePair, MeetingName, ParticipantId,
    ParticipantInfo, ResumeHash, ResumeToken, Role, TrackSource,
};

use crate::meetings::budget::TokenBucket;
use crate::sfu::session::Identity;

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

/// A participant in a meeting. Who they are is read anywhere; what changes (admission,
/// mutes, their session, budgets) only the meetings change: only they hand out a `&mut`.
#[derive(Debug)]
pub(crate) struct Participant {
    pub(crate) id: ParticipantId,
    pub(crate) meeting: MeetingName,
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) capabilities: Capabilities,
    pub(crate) invitation: InvitationId,
    /// In the meeting, or still in its lobby.
    pub(super) admission: Admission,
    /// For an interpreter: the pair their invitation names.
    pub(crate) interprets: Option<LanguagePair>,
    pub(super) last_seen: Instant,
    pub(super) microphone_muted: bool,
    pub(super) camera_off: bool,
    /// The hash of this session's resume token.
    pub(super) resume: ResumeHash,
    /// The token itself, until the page has it in `welcome` (it also goes out in `lobby`).
    pub(super) resume_token: Option<ResumeToken>,
    /// Bytes they may still have relayed to others (key exchange, chat).
    pub(super) relay: TokenBucket,
    /// Since when their connection has been lost (they stay, reconnecting, for the window).
    pub(super) reconnecting: Option<Instant>,
    /// Messages held for them while reconnecting.
    pub(super) outbox: crate::meetings::outbox::Outbox,
    /// When their TURN credentials are due for renewal (with TURN servers configured).
    pub(super) ice_servers_renew: Option<Instant>,
    /// How what they send reaches the server.
    pub(super) uplink: crate::meetings::uplink::UplinkQuality,
}

impl Participant {
    /// `identity` arrives in `meeting` as `id` at `now`, admitted or to wait, with this
    /// session's resume token and the budget of what they may have relayed.
    pub(crate) fn new(
        id: ParticipantId,
        meeting: MeetingName,
        identity: Identity,
        admission: Admission,
        now: Instant,
        (token, hash): (ResumeToken, ResumeHash),
        relay: TokenBucket,
    ) -> Self {
        Self {
            id,
            meeting,
            name: identity.name,
            role: identity.role,
            capabilities: identity.capabilities,
            invitation: identity.invitation,
            admission,
            interprets: identity.interprets,
            last_seen: now,
            microphone_muted: false,
            camera_off: false,
            resume: hash,
            resume_token: Some(token),
            relay,
            reconnecting: None,
            outbox: Default::default(),
            ice_servers_renew: None,
            uplink: Default::default(),
        }
    }

    /// Since when their connection has been lost, while they are reconnecting.
    pub(crate) fn reconnecting(&self) -> Option<Instant> {
        self.reconnecting
    }

    /// When a message from them last arrived.
    pub(crate) fn last_seen(&self) -> Instant {
        self.last_seen
    }

    /// Their session's resume token hash.
    pub(crate) fn resume(&self) -> ResumeHash {
        self.resume
    }

    /// Messages held for them overflowed while they were away: their page must rejoin.
    pub(crate) fn missed_too_much(&self) -> bool {
        self.outbox.overflowed()
    }

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
