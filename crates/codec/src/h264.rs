//! H264 RTP payloads (RFC 6184): keyframe starts.

/// H264 (RFC 6184): an IDR slice or SPS, alone, in a STAP-A, or at the start of a FU-A.
pub fn h264_keyframe(p: &[u8]) -> bool {
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
