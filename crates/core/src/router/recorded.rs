//! What the recording tap hands the runtime: each packet a recorded publisher sends.

use summit_proto::{ParticipantId, TrackSource};

/// One packet for the recording, as the publisher sent it.
#[derive(Debug, Clone)]
pub struct RecordedPacket {
    /// Whose.
    pub publisher: ParticipantId,
    /// Which of their tracks.
    pub source: TrackSource,
    /// Extended RTP sequence number.
    pub seq: u64,
    /// RTP timestamp.
    pub timestamp: u32,
    /// The RTP clock rate of the codec.
    pub clock_rate: u32,
    /// The RTP marker bit (end of a video frame).
    pub marker: bool,
    /// The payload is RED (RFC 2198): the codec's frame is its last block, after redundant
    /// copies of earlier ones (in an encrypted meeting, only once decrypted).
    pub red: bool,
    /// The RTP payload (shared with the forwarded copies, not copied).
    pub payload: std::sync::Arc<[u8]>,
}
