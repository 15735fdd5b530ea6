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
            negotiated_active: false,
            ready: false,
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
        self.ready = false;
        self.pt_map = None;
        self.selector = LayerSelector::new((self.kind == MediaKind::Audio).then_some(0));
        self.display = Display::Unreported;
        self.starved = false;
        self.forwarder.switch_source(self.kind == MediaKind::Video);
    }
}
