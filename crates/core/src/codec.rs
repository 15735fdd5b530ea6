//! Spotting keyframes in RTP payloads (VP8, H264), so a subscriber's video starts on one.

/// Video codecs whose keyframes the core can spot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VideoCodec {
    Vp8,
    H264,
    /// Any other codec: every packet is taken as a possible start.
    Other,
}

impl VideoCodec {
    pub(crate) fn from_str0m(c: str0m::format::Codec) -> Self {
        match c {
            str0m::format::Codec::Vp8 => VideoCodec::Vp8,
            str0m::format::Codec::H264 => VideoCodec::H264,
            _ => VideoCodec::Other,
        }
    }

    /// Whether `payload` is the first packet of a keyframe.
    pub(crate) fn is_keyframe_start(self, payload: &[u8]) -> bool {
        match self {
            VideoCodec::Vp8 => vp8_keyframe_start(payload),
            VideoCodec::H264 => h264_keyframe(payload),
            VideoCodec::Other => true,
        }
    }
}

/// VP8 (RFC 7741): the descriptor says "start of partition 0", and the VP8 header's P bit is 0.
pub(crate) fn vp8_keyframe_start(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    let start = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    start && matches!(vp8_descriptor_len(p).and_then(|i| p.get(i)), Some(h) if h & 0x01 == 0)
}

/// The length of a VP8 RTP payload descriptor (RFC 7741 section 4.2): where the VP8 data
/// starts in `p`, or `None` if `p` is too short to say.
pub fn vp8_descriptor_len(p: &[u8]) -> Option<usize> {
    let b0 = *p.first()?;
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let x = *p.get(i)?;
        i += 1;
        if x & 0x80 != 0 {
            let pid = *p.get(i)?;
            i += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            i += 1;
        }
        if x & 0x30 != 0 {
            i += 1;
        }
    }
    (i <= p.len()).then_some(i)
}

/// H264 (RFC 6184): an IDR slice or SPS, alone, in a STAP-A, or at the start of a FU-A.
pub(crate) fn h264_keyframe(p: &[u8]) -> bool {
    const IDR: u8 = 5;
    const SPS: u8 = 7;
    let Some(&b0) = p.first() else { return false };
    match b0 & 0x1f {
        IDR | SPS => true,
        24 => {
            // STAP-A: 16-bit sizes, each followed by a NAL unit.
            let mut i = 1;
            while i + 2 < p.len() {
                let size = usize::from(u16::from_be_bytes([p[i], p[i + 1]]));
                let Some(&nal) = p.get(i + 2) else {
                    return false;
                };
                if matches!(nal & 0x1f, IDR | SPS) {
                    return true;
                }
                i += 2 + size;
            }
            false
        }
        28 => matches!(p.get(1), Some(fu) if fu & 0x80 != 0 && matches!(fu & 0x1f, IDR | SPS)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8() {
        // Minimal descriptor, start of partition 0, keyframe (P=0) / interframe (P=1).
        assert!(vp8_keyframe_start(&[0x10, 0x00]));
        assert!(!vp8_keyframe_start(&[0x10, 0x01]));
        // Not a start.
        assert!(!vp8_keyframe_start(&[0x00, 0x00]));
        // Extended: I with 15-bit picture id, then the VP8 header.
        assert!(vp8_keyframe_start(&[0x90, 0x80, 0x81, 0x23, 0x00]));
        assert!(!vp8_keyframe_start(&[0x90, 0x80, 0x81, 0x23, 0x01]));
        // Truncated input is never a keyframe and never panics.
        for n in 0..5 {
            let _ = vp8_keyframe_start(&[0x90, 0x80, 0x81, 0x23, 0x00][..n]);
        }
        assert!(!vp8_keyframe_start(&[]));
    }

    #[test]
    fn h264() {
        assert!(h264_keyframe(&[0x65]));
        assert!(h264_keyframe(&[0x67, 0x42]));
        assert!(!h264_keyframe(&[0x41]));
        assert!(h264_keyframe(&[0x78, 0x00, 0x02, 0x67, 0x42]));
        assert!(h264_keyframe(&[0x7c, 0x85]));
        assert!(!h264_keyframe(&[0x7c, 0x05]));
        assert!(!h264_keyframe(&[0x78, 0xff, 0xff]));
        assert!(!h264_keyframe(&[]));
    }
}
