//! Published tracks: what a participant sends, layer by layer, and the recording's view of it.

use str0m::media::{MediaKind, Mid, Pt, Rid};
use str0m::rtp::Ssrc;
use summit_proto::{LayerInfo, ParticipantId, TrackSource};

use crate::router::codec::VideoCodec;
use crate::router::forwarder::Forwarder;
use crate::router::keyframe::KeyframeThrottle;
use crate::router::layer_selector::LayerSelector;
use crate::router::layers::{LayerOption, RateMeter};

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

/// Names one published track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TrackRef {
    pub(crate) publisher: ParticipantId,
    pub(crate) source: TrackSource,
}
