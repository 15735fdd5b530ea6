//! Participant: one person in a meeting, with their tracks and slots (their two connections
//! are the endpoint's, named by their id).

use std::time::Instant;

use str0m::change::SdpPendingOffer;
use summit_proto::{
    Capabilities, ConnectionState, InvitationId, LanguagePair, MeetingName, ParticipantId,
    ParticipantInfo, ResumeHash, ResumeToken, Role, ServerMessage, TrackSource,
};

use crate::budget::TokenBucket;

use crate::subscription::Slot;
use crate::track::PublishedTrack;

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
    /// A host muted the microphone; its packets are not forwarded until the participant unmutes.
    pub(crate) muted_by_host: bool,
    pub(crate) tracks: Vec<PublishedTrack>,
    pub(crate) slots: Vec<Slot>,
    /// The slot that carries the language channel this participant listens to, once picked.
    pub(crate) channel_slot: Option<usize>,
    /// For an interpreter: the pair their invitation names.
    pub(crate) interprets: Option<LanguagePair>,
    /// Their meeting is being recorded: their packets also go to the recording.
    pub(crate) recording: bool,
    /// The server's outstanding offer on the subscribing connection.
    pub(crate) pending_offer: Option<SdpPendingOffer>,
    /// Slots changed while an offer was outstanding.
    pub(crate) needs_offer: bool,
    /// The receiving connection has completed a negotiation (its codecs are known).
    pub(crate) subscriber_answered: bool,
    pub(crate) last_seen: Instant,
    /// What was forwarded from this participant's tracks, and keyframes asked of them.
    pub(crate) forwarded: crate::metrics::Counters,
    pub(crate) microphone_muted: bool,
    pub(crate) camera_off: bool,
    /// What their subscribing connection can carry, and the layer choice made from it.
    pub(crate) bandwidth: Bandwidth,
    /// The hash of this session's resume token.
    pub(crate) resume: ResumeHash,
    /// The token itself, until the page has it in `welcome` (it also goes out in `lobby`).
    pub(crate) resume_token: Option<ResumeToken>,
    /// Bytes they may still have relayed to others (key exchange, chat).
    pub(crate) relay: TokenBucket,
    /// Since when their connection has been lost (they stay, reconnecting, for the window).
    pub(crate) reconnecting: Option<Instant>,
    /// Messages held for them while reconnecting.
    pub(crate) outbox: Vec<ServerMessage>,
    /// About how many bytes those are.
    pub(crate) outbox_bytes: usize,
    /// More was meant for them than is held: they come back to a fresh session.
    pub(crate) outbox_overflowed: bool,
    /// The page asked for an ICE restart of its subscribing connection.
    pub(crate) ice_restart: bool,
    /// The last subscribe offer sent, to send again if it may not have arrived.
    pub(crate) last_offer: Option<ServerMessage>,
    /// When their TURN credentials are due for renewal (with TURN servers configured).
    pub(crate) ice_servers_renew: Option<Instant>,
    /// How what they send reaches the server.
    pub(crate) uplink: crate::uplink::UplinkQuality,
}

/// One subscriber's bandwidth: the estimate, the layer allocator, what BWE was asked to probe.
#[derive(Debug, Default)]
pub(crate) struct Bandwidth {
    /// The estimate layers are chosen by (bits per second), once the connection has one: str0m's,
    /// except that only a fall below what is sent is believed (see
    /// [`crate::bandwidth`]).
    pub(crate) estimate: Option<u64>,
    /// str0m's latest estimate.
    pub(crate) raw: Option<u64>,
    /// What the last allocation sends (video and audio), bits per second.
    pub(crate) sending: u64,
    /// Since when video has been sent without a break: an estimate says something about video
    /// only once it was measured on some.
    pub(crate) video_since: Option<Instant>,
    pub(crate) allocator: crate::layers::Allocator,
    /// What the page's receiver reports say about the link (overloaded or not).
    pub(crate) signs: crate::congestion::LinkSigns,
    /// (minimum, desired) last given to str0m's BWE.
    pub(crate) asked: (u64, u64),
}

impl Participant {
    /// Whether they are in the meeting (not waiting in the lobby).
    pub(crate) fn admitted(&self) -> bool {
        self.admission == Admission::Admitted
    }

    pub(crate) fn track(&self, source: TrackSource) -> Option<&PublishedTrack> {
        self.tracks.iter().find(|t| t.source == source)
    }

    pub(crate) fn track_mut(&mut self, source: TrackSource) -> Option<&mut PublishedTrack> {
        self.tracks.iter_mut().find(|t| t.source == source)
    }

    pub(crate) fn info(&self) -> ParticipantInfo {
        let has = |s| self.track(s).is_some();
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
