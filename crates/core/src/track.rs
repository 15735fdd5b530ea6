//! Published tracks (what a participant sends) and the subscriber slots they feed.

use str0m::media::{MediaKind, Mid, Pt};
use str0m::rtp::Ssrc;
use summit_proto::{ParticipantId, TrackSource};

use crate::codec::VideoCodec;
use crate::forwarder::Forwarder;
use crate::keyframe::KeyframeThrottle;

/// A track a participant publishes: one m-line of their publishing connection.
#[derive(Debug)]
pub(crate) struct PublishedTrack {
    pub(crate) source: TrackSource,
    pub(crate) mid: Mid,
    /// The SSRC it arrives with, learned from its first packet.
    pub(crate) ssrc: Option<Ssrc>,
    /// Slots it is forwarded into.
    pub(crate) subscribers: Vec<SlotRef>,
    pub(crate) keyframes: KeyframeThrottle,
    /// Codec of the last payload type seen: (pt, codec, clock rate).
    pub(crate) codec: Option<(Pt, VideoCodec, u32)>,
}

impl PublishedTrack {
    pub(crate) fn new(source: TrackSource, mid: Mid) -> Self {
        Self {
            source,
            mid,
            ssrc: None,
            subscribers: Vec::new(),
            keyframes: KeyframeThrottle::default(),
            codec: None,
        }
    }

    pub(crate) fn kind(&self) -> MediaKind {
        if self.source.is_audio() {
            MediaKind::Audio
        } else {
            MediaKind::Video
        }
    }
}

/// Names one slot of one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotRef {
    pub(crate) participant: ParticipantId,
    pub(crate) slot: usize,
}

/// Names one published track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrackRef {
    pub(crate) publisher: ParticipantId,
    pub(crate) source: TrackSource,
}

/// One sending m-line of a subscriber's connection, and the track it carries now (if any).
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) kind: MediaKind,
    /// Set once the m-line is in an offer.
    pub(crate) mid: Option<Mid>,
    pub(crate) track: Option<TrackRef>,
    /// A language channel slot: always active once negotiated; `track` is its current source
    /// and changes at handovers without renegotiation.
    pub(crate) channel: bool,
    /// Bumped whenever `track` changes, so an answer to an older offer does not start it.
    pub(crate) generation: u64,
    /// The generation and activity the outstanding offer described.
    pub(crate) offered: Option<(u64, bool)>,
    /// Whether the m-line is active in the last completed negotiation.
    pub(crate) negotiated_active: bool,
    /// The page knows what this slot carries and forwarding may run.
    pub(crate) ready: bool,
    pub(crate) forwarder: Forwarder,
    /// Last payload type mapping: (publisher's pt, subscriber's pt).
    pub(crate) pt_map: Option<(Pt, Pt)>,
}

impl Slot {
    pub(crate) fn new(kind: MediaKind) -> Self {
        Self {
            kind,
            mid: None,
            track: None,
            channel: false,
            generation: 0,
            offered: None,
            negotiated_active: false,
            ready: false,
            forwarder: Forwarder::new(kind == MediaKind::Video),
            pt_map: None,
        }
    }

    /// A slot for a language channel (audio).
    pub(crate) fn channel() -> Self {
        Self {
            channel: true,
            ..Self::new(MediaKind::Audio)
        }
    }

    /// Whether the m-line should be sending: it carries a track, or it is a channel.
    pub(crate) fn active(&self) -> bool {
        self.channel || self.track.is_some()
    }

    /// A channel slot's source changes: the outgoing stream continues, no renegotiation.
    pub(crate) fn switch_source(&mut self, track: Option<TrackRef>) {
        self.track = track;
        self.pt_map = None;
        self.forwarder.switch_source(false);
    }

    /// Points the slot at `track` (or frees it).
    pub(crate) fn assign(&mut self, track: Option<TrackRef>) {
        self.track = track;
        self.generation += 1;
        self.ready = false;
        self.pt_map = None;
        self.forwarder.switch_source(self.kind == MediaKind::Video);
    }
}
