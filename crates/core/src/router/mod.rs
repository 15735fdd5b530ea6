//! The media router's state: what each participant publishes (`PublishedTrack`s) and
//! receives (`Slot`s, the negotiation of their subscribing connection, its bandwidth and
//! layer choice), and the subscription table that links the two. No meeting state lives here
//! (who is in which meeting, and may do what, is `Participant`'s and `Meeting`'s), and no
//! connection (the `Rtc`s are the endpoint's): forwarding reads the router and writes to the
//! endpoint.

pub(crate) mod bandwidth;
pub(crate) mod codec;
pub(crate) mod congestion;
pub(crate) mod forward;
pub(crate) mod forwarder;
pub(crate) mod keyframe;
pub(crate) mod layer_selector;
pub(crate) mod layers;
pub(crate) mod media;
pub(crate) mod negotiation;
pub(crate) mod redundancy;
pub(crate) mod subscription;
pub(crate) mod track;

use std::collections::BTreeMap;
use std::time::Instant;

use str0m::change::SdpPendingOffer;
use summit_proto::{ParticipantId, ServerMessage, TrackSource};

use crate::router::subscription::{Slot, Subscriptions};
use crate::router::track::PublishedTrack;

/// Every participant's media, and which slots each track feeds.
#[derive(Debug, Default)]
pub(crate) struct Router {
    /// By participant; ordered, so that every walk is deterministic.
    pub(crate) media: BTreeMap<ParticipantId, Media>,
    /// Which slots each published track feeds (the only writer of a slot's track).
    pub(crate) subscriptions: Subscriptions,
}

/// One participant's media: what they publish and what they receive.
#[derive(Debug, Default)]
pub(crate) struct Media {
    pub(crate) tracks: Vec<PublishedTrack>,
    pub(crate) slots: Vec<Slot>,
    /// The slot that carries the language channel this participant listens to, once picked.
    pub(crate) channel_slot: Option<usize>,
    /// A host muted the microphone; its packets are not forwarded until the participant
    /// unmutes.
    pub(crate) muted_by_host: bool,
    /// Their meeting is being recorded: their packets also go to the recording.
    pub(crate) recording: bool,
    /// The server's outstanding offer on the subscribing connection.
    pub(crate) pending_offer: Option<SdpPendingOffer>,
    /// Slots changed while an offer was outstanding.
    pub(crate) needs_offer: bool,
    /// The page asked for an ICE restart of its subscribing connection.
    pub(crate) ice_restart: bool,
    /// The last subscribe offer sent, to send again if it may not have arrived.
    pub(crate) last_offer: Option<ServerMessage>,
    /// The receiving connection has completed a negotiation (its codecs are known).
    pub(crate) subscriber_answered: bool,
    /// What was forwarded from this participant's tracks, and keyframes asked of them.
    pub(crate) forwarded: crate::metrics::Counters,
    /// What their subscribing connection can carry, and the layer choice made from it.
    pub(crate) bandwidth: Bandwidth,
}

impl Media {
    /// Their published track of `source`, if any.
    pub(crate) fn track(&self, source: TrackSource) -> Option<&PublishedTrack> {
        self.tracks.iter().find(|t| t.source == source)
    }

    /// Their published track of `source`, to change.
    pub(crate) fn track_mut(&mut self, source: TrackSource) -> Option<&mut PublishedTrack> {
        self.tracks.iter_mut().find(|t| t.source == source)
    }
}

/// One subscriber's bandwidth: the estimate, the layer allocator, what BWE was asked to probe.
#[derive(Debug, Default)]
pub(crate) struct Bandwidth {
    /// The estimate layers are chosen by (bits per second), once the connection has one: str0m's,
    /// except that only a fall below what is sent is believed (see
    /// [`crate::router::bandwidth`]).
    pub(crate) estimate: Option<u64>,
    /// str0m's latest estimate.
    pub(crate) raw: Option<u64>,
    /// What the last allocation sends (video and audio), bits per second.
    pub(crate) sending: u64,
    /// Since when video has been sent without a break: an estimate says something about video
    /// only once it was measured on some.
    pub(crate) video_since: Option<Instant>,
    pub(crate) allocator: crate::router::layers::Allocator,
    /// What the page's receiver reports say about the link (overloaded or not).
    pub(crate) signs: crate::router::congestion::LinkSigns,
    /// (minimum, desired) last given to str0m's BWE.
    pub(crate) asked: (u64, u64),
}
