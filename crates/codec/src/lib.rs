//! Reading and renumbering video RTP payloads: where a keyframe starts (so a subscriber's video
//! starts on one), and VP8 picture ids kept continuous when a forwarded stream changes source.
//!
//! Every function takes payloads as they come from the network: any input gives an answer,
//! never a panic (`fuzz/fuzz_targets/codec.rs`).
#![deny(missing_docs)]

mod h264;
mod vp8;

pub use h264::h264_keyframe;
pub use vp8::{
    vp8_descriptor_len, vp8_frame_start, vp8_is_keyframe, vp8_keyframe_start, Vp8Numbering,
    Vp8Renumbered,
};

/// Video codecs whose keyframes can be spotted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// VP8 (RFC 7741).
    Vp8,
    /// H264 (RFC 6184).
    H264,
    /// Any other codec: every packet is taken as a possible start.
    Other,
}

impl VideoCodec {
    /// Whether `payload` is the first packet of a keyframe.
    pub fn is_keyframe_start(self, payload: &[u8]) -> bool {
        match self {
            VideoCodec::Vp8 => vp8_keyframe_start(payload),
            VideoCodec::H264 => h264_keyframe(payload),
            VideoCodec::Other => true,
        }
    }
}
