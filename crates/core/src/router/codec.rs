//! Which video codec a track carries, in the terms of `summit-codec` (keyframes, VP8 numbering).

pub(crate) use summit_codec::{VideoCodec, Vp8Numbering, Vp8Renumbered};

/// The codec `summit-codec` knows `c` as (`Other` for codecs it cannot read).
pub(crate) fn video_codec(c: str0m::format::Codec) -> VideoCodec {
    match c {
        str0m::format::Codec::Vp8 => VideoCodec::Vp8,
        str0m::format::Codec::H264 => VideoCodec::H264,
        _ => VideoCodec::Other,
    }
}
