//! VP8 RTP payloads (RFC 7741): the payload descriptor, keyframe starts, picture numbering.

use std::sync::Arc;

/// VP8 (RFC 7741): the descriptor says "start of partition 0", and the VP8 header's P bit is 0.
pub fn vp8_keyframe_start(p: &[u8]) -> bool {
    vp8_frame_start(p) && vp8_descriptor_len(p).is_some_and(|i| vp8_is_keyframe(&p[i..]))
}

/// Whether a VP8 frame (its data, after the RTP descriptor) is a keyframe: P bit 0.
pub fn vp8_is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|h| h & 0x01 == 0)
}

/// Whether `p` starts a VP8 frame: its descriptor says "start of partition 0".
pub fn vp8_frame_start(p: &[u8]) -> bool {
    p.first().is_some_and(|b0| b0 & 0x10 != 0 && b0 & 0x07 == 0)
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

/// Where a VP8 descriptor's picture id and TL0PICIDX sit in one payload.
type Fields = (PictureIdAt, Option<usize>);

/// What is added to a source's picture ids and TL0PICIDX to continue the outgoing numbering.
type Offsets = (u16, u8);

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

/// How many differently renumbered copies of one packet [`Vp8Renumbered`] keeps.
const SHARED_COPIES: usize = 4;

/// The renumbered copies of one packet, for the streams that renumber it alike to share:
/// streams that switched to a layer at the same keyframe have the same offsets, so a packet
/// forwarded to many of them is copied once, not once per stream. Start a new one per packet.
#[derive(Debug, Default)]
pub struct Vp8Renumbered {
    copies: [Option<(Offsets, Arc<[u8]>)>; SHARED_COPIES],
    next: usize,
}

impl Vp8Numbering {
    /// The next packet comes from a new source.
    pub fn switch_source(&mut self) {
        self.rebase = true;
    }

    /// `payload` in the outgoing numbering: shared as it is while the offsets are 0 (as for a
    /// stream's first source), else a rewritten copy.
    pub fn rewrite(&mut self, payload: &Arc<[u8]>) -> Arc<[u8]> {
        self.rewrite_shared(payload, &mut Vp8Renumbered::default())
    }

    /// As [`Self::rewrite`], taking the copy from `shared` when another stream renumbered
    /// `payload` alike, and leaving a new copy there for the next.
    pub fn rewrite_shared(&mut self, payload: &Arc<[u8]>, shared: &mut Vp8Renumbered) -> Arc<[u8]> {
        let Some(fields) = vp8_indices(payload) else {
            return payload.clone();
        };
        self.rebase_on(payload, fields);
        let offsets = (self.pid_offset, self.tl0_offset);
        let out = if offsets == (0, 0) {
            payload.clone()
        } else if let Some((_, copy)) = shared.copies.iter().flatten().find(|(o, _)| *o == offsets)
        {
            copy.clone()
        } else {
            let mut copy = payload.to_vec();
            apply(&mut copy, fields, offsets);
            let copy: Arc<[u8]> = copy.into();
            shared.copies[shared.next] = Some((offsets, copy.clone()));
            shared.next = (shared.next + 1) % SHARED_COPIES;
            copy
        };
        self.follow(&out, fields);
        out
    }

    /// Rewrites `p`'s picture id and TL0PICIDX into the outgoing numbering, in place.
    pub fn rewrite_in_place(&mut self, p: &mut [u8]) {
        let Some(fields) = vp8_indices(p) else {
            return;
        };
        self.rebase_on(p, fields);
        apply(p, fields, (self.pid_offset, self.tl0_offset));
        self.follow(p, fields);
    }

    /// After a switch, sets the offsets that continue the outgoing numbering from `p`.
    fn rebase_on(&mut self, p: &[u8], (pid, tl0): Fields) {
        if !self.rebase {
            return;
        }
        if let Some((i, long)) = pid {
            let (value, _) = read_pid(p, i, long);
            self.pid_offset = self
                .last_pid
                .map_or(0, |l| l.wrapping_add(1).wrapping_sub(value) & 0x7fff);
        }
        if let Some(i) = tl0 {
            self.tl0_offset = self
                .last_tl0
                .map_or(0, |l| l.wrapping_add(1).wrapping_sub(p[i]));
        }
        self.rebase = false;
    }

    /// Notes the numbering of an outgoing packet.
    fn follow(&mut self, p: &[u8], (pid, tl0): Fields) {
        if let Some((i, long)) = pid {
            let (value, mask) = read_pid(p, i, long);
            self.note_pid(value, mask);
        }
        if let Some(i) = tl0 {
            self.note_tl0(p[i]);
        }
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

/// Adds `(pid_offset, tl0_offset)` to the picture id and TL0PICIDX found at `fields` in `p`.
fn apply(p: &mut [u8], (pid, tl0): Fields, (pid_offset, tl0_offset): Offsets) {
    if let Some((i, long)) = pid {
        let (value, mask) = read_pid(p, i, long);
        let out = value.wrapping_add(pid_offset) & mask;
        if long {
            let [hi, lo] = out.to_be_bytes();
            p[i] = 0x80 | hi;
            if let Some(b) = p.get_mut(i + 1) {
                *b = lo;
            }
        } else {
            p[i] = out as u8;
        }
    }
    if let Some(i) = tl0 {
        p[i] = p[i].wrapping_add(tl0_offset);
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

    #[test]
    fn streams_renumbering_alike_share_one_copy() {
        let pkt = |pid: u16, tl0: u8| -> Arc<[u8]> {
            let [hi, lo] = pid.to_be_bytes();
            vec![0x90, 0xc0, 0x80 | hi, lo, tl0, 0x00, 0x9d].into()
        };
        // Three streams forward layer A from picture 100; the third also had picture 101.
        let (mut s1, mut s2, mut s3) = Default::default();
        for n in [&mut s1, &mut s2, &mut s3] {
            let _ = Vp8Numbering::rewrite(n, &pkt(100, 1));
        }
        let _ = s3.rewrite(&pkt(101, 1));
        // All switch to layer B at its picture 7000.
        let b = pkt(7000, 50);
        let mut shared = Vp8Renumbered::default();
        let mut outs = Vec::new();
        for n in [&mut s1, &mut s2, &mut s3] {
            n.switch_source();
            outs.push(n.rewrite_shared(&b, &mut shared));
        }
        assert_eq!(&*outs[0], &*pkt(101, 2));
        assert!(
            Arc::ptr_eq(&outs[0], &outs[1]),
            "alike streams copied twice"
        );
        assert_eq!(&*outs[2], &*pkt(102, 2));
        // The next packet: shared again, and each stream's numbering moved on.
        let b2 = pkt(7001, 50);
        let mut shared = Vp8Renumbered::default();
        let o1 = s1.rewrite_shared(&b2, &mut shared);
        let o2 = s2.rewrite_shared(&b2, &mut shared);
        let o3 = s3.rewrite_shared(&b2, &mut shared);
        assert!(Arc::ptr_eq(&o1, &o2));
        assert_eq!((&*o1, &*o3), (&*pkt(102, 2), &*pkt(103, 2)));
    }
}
