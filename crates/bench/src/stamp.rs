//! The stamp the load generator puts at the end of every payload: which stream, which packet and
//! when it was sent, so that receivers measure loss and one-way added latency on one clock.

/// Bytes of a stamp.
pub(crate) const STAMP_LEN: usize = 20;
const MAGIC: [u8; 2] = *b"sb";

/// One packet's identity and send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// The publishing stream (publisher index × 2, + 1 for video).
    pub(crate) stream: u32,
    /// The stream's packet number, from 0.
    pub(crate) seq: u32,
    /// When it was handed to the sending connection, in ns since the bench started.
    pub(crate) sent_ns: u64,
}

impl Stamp {
    /// Appends the stamp to `payload`.
    pub(crate) fn append_to(&self, payload: &mut Vec<u8>) {
        payload.extend_from_slice(&MAGIC);
        payload.extend_from_slice(&[0, 0]);
        payload.extend_from_slice(&self.stream.to_be_bytes());
        payload.extend_from_slice(&self.seq.to_be_bytes());
        payload.extend_from_slice(&self.sent_ns.to_be_bytes());
    }

    /// The stamp at the end of `payload`, if it carries one.
    pub(crate) fn read(payload: &[u8]) -> Option<Self> {
        let s = payload.get(payload.len().checked_sub(STAMP_LEN)?..)?;
        if s[..2] != MAGIC {
            return None;
        }
        let u32_at = |i: usize| u32::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
        let mut ns = [0u8; 8];
        ns.copy_from_slice(&s[12..20]);
        Some(Self {
            stream: u32_at(4),
            seq: u32_at(8),
            sent_ns: u64::from_be_bytes(ns),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_round_trips_and_short_or_foreign_payloads_have_none() {
        let stamp = Stamp {
            stream: 7,
            seq: 123_456,
            sent_ns: 9_876_543_210,
        };
        let mut payload = vec![0x10, 1, 2, 3];
        stamp.append_to(&mut payload);
        assert_eq!(payload.len(), 4 + STAMP_LEN);
        assert_eq!(Stamp::read(&payload), Some(stamp));
        assert_eq!(Stamp::read(&payload[1..]), Some(stamp));
        assert_eq!(Stamp::read(&payload[..STAMP_LEN - 1]), None);
        assert_eq!(Stamp::read(&[0u8; 64]), None);
        assert_eq!(Stamp::read(&[]), None);
    }
}
