//! VP8 RTP payloads (RFC 7741): the payload descriptor, keyframe starts, picture numbering.

use std::sync::Arc;

/// VP8 (RFC 7741): the descriptor says "start of partition 0", and the VP8 header's P bit is 0.
pub fn vp8_keyframe_start(p: &[u8]) -> bool {
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

/// Where a picture id sits in a VP8 descriptor, and whether it is 15 bits long.
type PictureIdAt = Option<(usize, bool)>;

/// Where a VP8 payload descriptor keeps its picture id and TL0PICIDX, if present.
fn vp8_indices(p: &[u8]) -> Option<(PictureIdAt, Option<usize>)> {
    let b0 = *p.first()?;
    if b0 & 0x80 == 0 {
        return Some((None, None));
    }
    let x = *p.get(1)?;
    let mut i = 2;
    let mut pid = None;
    if x & 0x80 != 0 {
        let long = *p.get(i)? & 0x80 != 0;
        pid = Some((i, long));
        i += if long { 2 } else { 1 };
    }
    let tl0 = if x & 0x40 != 0 {
        p.get(i)?;
        Some(i)
    } else {
        None
    };
    Some((pid, tl0))
}

/// Keeps a VP8 stream's picture ids and TL0PICIDX continuous when its source changes
/// (simulcast layers number their pictures independently), as a decoder expects of one stream.
#[derive(Debug, Default, Clone, Copy)]
pub struct Vp8Numbering {
    pid_offset: u16,
    tl0_offset: u8,
    last_pid: Option<u16>,
    last_tl0: Option<u8>,
    /// The next packet starts a new source: offsets are set from it.
    rebase: bool,
}

impl Vp8Numbering {
    /// The next packet comes from a new source.
    pub fn switch_source(&mut self) {
        self.rebase = true;
    }

    /// `payload` in the outgoing numbering: shared as it is while the offsets are 0 (as for a
    /// stream's first source), else a rewritten copy.
    pub fn rewrite(&mut self, payload: &Arc<[u8]>) -> Arc<[u8]> {
        if !self.rebase && self.pid_offset == 0 && self.tl0_offset == 0 {
            self.follow(payload);
            return payload.clone();
        }
        let mut copy = payload.to_vec();
        self.rewrite_in_place(&mut copy);
        copy.into()
    }

    /// Notes the numbering of a packet passed on unchanged.
    fn follow(&mut self, p: &[u8]) {
        let Some((pid, tl0)) = vp8_indices(p) else {
            return;
        };
        if let Some((i, long)) = pid {
            let (value, mask) = read_pid(p, i, long);
            self.note_pid(value, mask);
        }
        if let Some(i) = tl0 {
            self.note_tl0(p[i]);
        }
    }

    /// Rewrites `p`'s picture id and TL0PICIDX into the outgoing numbering, in place.
    pub fn rewrite_in_place(&mut self, p: &mut [u8]) {
        let Some((pid, tl0)) = vp8_indices(p) else {
            return;
        };
        if let Some((i, long)) = pid {
            let (value, mask) = read_pid(p, i, long);
            if self.rebase {
                self.pid_offset = self
                    .last_pid
                    .map_or(0, |l| l.wrapping_add(1).wrapping_sub(value) & 0x7fff);
            }
            let out = value.wrapping_add(self.pid_offset) & mask;
            if long {
                let [hi, lo] = out.to_be_bytes();
                p[i] = 0x80 | hi;
                if let Some(b) = p.get_mut(i + 1) {
                    *b = lo;
                }
            } else {
                p[i] = out as u8;
            }
            self.note_pid(out, mask);
        }
        if let Some(i) = tl0 {
            if self.rebase {
                self.tl0_offset = self
                    .last_tl0
                    .map_or(0, |l| l.wrapping_add(1).wrapping_sub(p[i]));
            }
            p[i] = p[i].wrapping_add(self.tl0_offset);
            self.note_tl0(p[i]);
        }
        self.rebase = false;
    }

    /// Keeps the newest outgoing picture id (reordered packets do not move it back).
    fn note_pid(&mut self, out: u16, mask: u16) {
        if self
            .last_pid
            .is_none_or(|l| (out.wrapping_sub(l) & mask) < mask / 2)
        {
            self.last_pid = Some(out);
        }
    }

    fn note_tl0(&mut self, out: u8) {
        if self.last_tl0.is_none_or(|l| out.wrapping_sub(l) < 128) {
            self.last_tl0 = Some(out);
        }
    }
}

/// A picture id at `i` (15 bits when `long`) and its mask.
fn read_pid(p: &[u8], i: usize, long: bool) -> (u16, u16) {
    if long {
        let lo = p.get(i + 1).copied().unwrap_or(0);
        (u16::from_be_bytes([p[i] & 0x7f, lo]), 0x7fff)
    } else {
        (u16::from(p[i] & 0x7f), 0x7f)
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
    fn vp8_numbering_continues_across_sources() {
        let mut n = Vp8Numbering::default();
        // First source: 15-bit picture id 0x1234, TL0PICIDX 7; left as they are.
        let a: Arc<[u8]> = vec![0x90, 0xc0, 0x80 | 0x12, 0x34, 7, 0x00].into();
        let out = n.rewrite(&a);
        assert!(Arc::ptr_eq(&a, &out), "copied while nothing changes");
        // A new source numbered far away continues at 0x1235 and 8.
        n.switch_source();
        let b: Arc<[u8]> = vec![0x90, 0xc0, 0x80, 0x05, 200, 0x00].into();
        assert_eq!(&*n.rewrite(&b), &[0x90, 0xc0, 0x92, 0x35, 8, 0x00]);
        let mut c = [0x90, 0xc0, 0x80, 0x06, 201, 0x00];
        n.rewrite_in_place(&mut c);
        assert_eq!(c, [0x90, 0xc0, 0x92, 0x36, 9, 0x00]);
        // Wrapping at 15 bits, and a 7-bit id.
        n.switch_source();
        let mut d = [0x90, 0x80, 0x7f, 0x00];
        n.rewrite_in_place(&mut d);
        assert_eq!(d, [0x90, 0x80, 0x37, 0x00]);
        // No extension, and truncated descriptors: untouched, no panic.
        let mut e = [0x10, 0x00];
        n.rewrite_in_place(&mut e);
        assert_eq!(e, [0x10, 0x00]);
        for len in 0..4 {
            let mut f = [0x90, 0xc0, 0x80, 0x01][..len].to_vec();
            n.rewrite_in_place(&mut f);
            let _ = n.rewrite(&f.into());
        }
    }
}
