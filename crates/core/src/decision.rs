//! A trace of the core's decisions, for tests of determinism and routing.

use summit_proto::{ParticipantId, TrackSource};

/// One decision of the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// A packet of `from`'s `source` track was forwarded to `to` with outgoing sequence `seq`.
    Forwarded {
        /// Publisher.
        from: ParticipantId,
        /// Which of the publisher's tracks.
        source: TrackSource,
        /// Subscriber.
        to: ParticipantId,
        /// Outgoing (rewritten) extended sequence number.
        seq: u64,
    },
    /// A keyframe was requested from `from`'s `source` track.
    KeyframeRequested {
        /// Publisher.
        from: ParticipantId,
        /// Which of the publisher's tracks.
        source: TrackSource,
    },
}
