//! Published tracks (what a participant sends) and the subscriber slots they feed.

use str0m::media::{MediaKind, Mid, Pt, Rid};
use str0m::rtp::Ssrc;
use summit_proto::{LayerInfo, ParticipantId, TrackSource};

use crate::codec::{VideoCodec, Vp8Numbering};
use crate::forwarder::Forwarder;
use crate::keyframe::KeyframeThrottle;
use crate::layer_selector::LayerSelector;
use crate::layers::{Display, LayerOption, RateMeter};

/// One encoding of a published track: a simulcast layer, or the only stream of the track.
#[derive(Debug)]
pub(crate) struct Layer {
    /// Its `a=rid`, for a simulcast layer.
    pub(crate) rid: Option<Rid>,
    /// Encoded size as the page declared it; 0 by 0 when unknown.
    pub(crate) width: u32,
    pub(crate) height: u32,
    /// The SSRC it arrives with, learned from its first packet.
    pub(crate) ssrc: Option<Ssrc>,
    pub(crate) rate: RateMeter,
    pub(crate) keyframes: KeyframeThrottle,
}

impl Layer {
    fn new(rid: Option<Rid>, width: u32, height: u32) -> Self {
        Self {
            rid,
            width,
            height,
            ssrc: None,
            rate: RateMeter::default(),
            keyframes: KeyframeThrottle::default(),
        }
    }

    /// What the allocator needs to know of it.
    pub(crate) fn option(&self, now: std::time::Instant) -> LayerOption {
        LayerOption {
            rate: self.rate.rate(now),
            width: self.width,
            height: self.height,
            live: self.rate.live(now),
        }
    }
}

/// A track a participant publishes: one m-line of their publishing connection.
#[derive(Debug)]
pub(crate) struct PublishedTrack {
    pub(crate) source: TrackSource,
    pub(crate) mid: Mid,
    /// Its encodings, lowest first: one, or the simulcast layers the page declared.
    pub(crate) layers: Vec<Layer>,
    /// Slots it is forwarded into.
    pub(crate) subscribers: Vec<SlotRef>,
    /// What the recording takes of it, while the meeting is recorded.
    pub(crate) tap: RecordingTap,
    /// Codec of the last payload type seen: (pt, codec, clock rate, RED: RFC 2198 redundant
    /// audio around the codec's frames).
    pub(crate) codec: Option<(Pt, VideoCodec, u32, bool)>,
}

impl PublishedTrack {
    /// A track sent as one stream (`layers` empty) or as the declared simulcast layers.
    pub(crate) fn new(source: TrackSource, mid: Mid, layers: &[LayerInfo]) -> Self {
        let layers = if layers.is_empty() || source.is_audio() {
            vec![Layer::new(None, 0, 0)]
        } else {
            layers
                .iter()
                .map(|l| Layer::new(Some(Rid::from(l.rid.as_str())), l.width, l.height))
                .collect()
        };
        Self {
            source,
            mid,
            layers,
            subscribers: Vec::new(),
            tap: RecordingTap::new(!source.is_audio()),
            codec: None,
        }
    }

    /// The best layer being sent now (the top one before any has been measured).
    pub(crate) fn best_live_layer(&self, now: std::time::Instant) -> usize {
        (0..self.layers.len())
            .rev()
            .find(|&i| self.layers[i].rate.live(now))
            .unwrap_or(self.layers.len().saturating_sub(1))
    }

    /// The layer a stream belongs to: by SSRC once known, else by its rid.
    pub(crate) fn layer_of(&self, ssrc: Ssrc) -> Option<usize> {
        self.layers.iter().position(|l| l.ssrc == Some(ssrc))
    }

    /// The rate of its lowest live layer (audio: its one stream).
    pub(crate) fn rate(&self, now: std::time::Instant) -> u64 {
        self.layers.first().map_or(0, |l| l.rate.rate(now))
    }

    pub(crate) fn kind(&self) -> MediaKind {
        if self.source.is_audio() {
            MediaKind::Audio
        } else {
            MediaKind::Video
        }
    }
}

/// The recording's view of a track: its best live layer as one continuous stream (a browser
/// starts its top simulcast layer only once its own bandwidth estimate allows, and may drop it).
#[derive(Debug)]
pub(crate) struct RecordingTap {
    pub(crate) forwarder: Forwarder,
    /// The layer recorded now, and the one to move to (the best live layer).
    pub(crate) selector: LayerSelector,
}

impl RecordingTap {
    /// A tap that starts at the next packet (audio) or keyframe (video).
    pub(crate) fn new(video: bool) -> Self {
        Self {
            forwarder: Forwarder::new(video),
            selector: LayerSelector::new(None),
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

/// What the page agreed to for one m-line in the last completed negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agreed {
    /// Nothing yet, or the m-line inactive.
    Inactive,
    /// Sending the track the slot had at `generation`.
    Active { generation: u64 },
}

/// What an outstanding offer said of one m-line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offered {
    pub(crate) generation: u64,
    pub(crate) active: bool,
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
    /// What the outstanding offer said of this m-line, if one is out.
    pub(crate) offered: Option<Offered>,
    /// What the page agreed to last.
    pub(crate) agreed: Agreed,
    pub(crate) forwarder: Forwarder,
    /// Last payload type mapping: (publisher's pt, subscriber's pt).
    pub(crate) pt_map: Option<(Pt, Pt)>,
    /// The layer of the track forwarded now, and the one the allocation chose (switched at its
    /// keyframe); no target sends nothing (video hidden or no bandwidth).
    pub(crate) selector: LayerSelector,
    /// How the page shows this video.
    pub(crate) display: Display,
    /// Not sent for want of bandwidth (and the page was told).
    pub(crate) starved: bool,
    /// VP8 picture numbering of the outgoing stream, continuous across layers and sources.
    pub(crate) vp8: Vp8Numbering,
    /// The outgoing stream's resend limits are set (media.rs, once its m-line exists in str0m).
    pub(crate) resends_configured: bool,
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
            agreed: Agreed::Inactive,
            forwarder: Forwarder::new(kind == MediaKind::Video),
            pt_map: None,
            // Audio has one layer and always flows; video waits for the first allocation.
            selector: LayerSelector::new((kind == MediaKind::Audio).then_some(0)),
            display: Display::Unreported,
            starved: false,
            vp8: Vp8Numbering::default(),
            resends_configured: false,
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

    /// Whether the m-line is active in the last completed negotiation.
    pub(crate) fn negotiated_active(&self) -> bool {
        matches!(self.agreed, Agreed::Active { .. })
    }

    /// The page knows what this slot carries now, and forwarding may run: it agreed to the
    /// current generation, active.
    pub(crate) fn ready(&self) -> bool {
        self.agreed
            == Agreed::Active {
                generation: self.generation,
            }
    }

    /// Notes what an offer says of this m-line now.
    pub(crate) fn offer(&mut self) {
        self.offered = Some(Offered {
            generation: self.generation,
            active: self.active(),
        });
    }

    /// The page answered the outstanding offer; returns whether the slot still carries what
    /// the offer said (else the next offer must say what it carries now), or `None` if the
    /// offer did not include this m-line.
    pub(crate) fn answered(&mut self) -> Option<bool> {
        let offered = self.offered.take()?;
        self.agreed = if offered.active {
            Agreed::Active {
                generation: offered.generation,
            }
        } else {
            Agreed::Inactive
        };
        Some(offered.generation == self.generation)
    }

    /// A channel slot's source changes: the outgoing stream continues, no renegotiation.
    pub(crate) fn switch_source(&mut self, track: Option<TrackRef>) {
        self.track = track;
        self.pt_map = None;
        self.selector.restart();
        self.forwarder.switch_source(false);
    }

    /// Points the slot at `track` (or frees it).
    pub(crate) fn assign(&mut self, track: Option<TrackRef>) {
        self.track = track;
        self.generation += 1;
        self.pt_map = None;
        self.selector = LayerSelector::new((self.kind == MediaKind::Audio).then_some(0));
        self.display = Display::Unreported;
        self.starved = false;
        self.forwarder.switch_source(self.kind == MediaKind::Video);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(n: u64) -> Option<TrackRef> {
        Some(TrackRef {
            publisher: ParticipantId(n),
            source: TrackSource::Camera,
        })
    }

    #[test]
    fn a_slot_is_ready_once_the_page_agreed_to_what_it_carries_now() {
        let mut s = Slot::new(MediaKind::Video);
        s.assign(track(1));
        assert!(!s.ready());
        s.offer();
        assert_eq!(s.answered(), Some(true));
        assert!(s.ready() && s.negotiated_active());
        // Nothing outstanding: an answer says nothing of this m-line.
        assert_eq!(s.answered(), None);
        // Re-pointed while an offer is out: the answer is to the old track.
        s.assign(track(2));
        s.offer();
        s.assign(track(3));
        assert_eq!(s.answered(), Some(false));
        assert!(!s.ready() && s.negotiated_active());
        s.offer();
        assert_eq!(s.answered(), Some(true));
        assert!(s.ready());
        // Freed and offered inactive: the m-line may be reused.
        s.assign(None);
        s.offer();
        assert_eq!(s.answered(), Some(true));
        assert!(!s.ready() && !s.negotiated_active());
    }

    #[test]
    fn a_channel_changes_source_without_a_new_negotiation() {
        let mut s = Slot::channel();
        s.offer();
        assert_eq!(s.answered(), Some(true));
        assert!(s.ready());
        s.switch_source(track(4));
        assert!(s.ready(), "a handover needs no offer");
    }
}
