//! Forwarder: rewrites one source's sequence numbers and timestamps into one subscriber's
//! continuous outgoing stream, so the source can change without a new track.

use std::time::Instant;

/// Where an outgoing stream stands, and how the current source maps into it.
#[derive(Debug, Default)]
pub(crate) struct Forwarder {
    mapping: Option<Mapping>,
    /// Last outgoing extended sequence number and RTP time, and when it was sent.
    last: Option<(u64, u32, Instant)>,
    /// Video waits for a keyframe before the first packet of a (new) source.
    wait_keyframe: bool,
}

#[derive(Debug, Clone, Copy)]
struct Mapping {
    first_in_seq: u64,
    seq_offset: u64,
    ts_offset: u32,
}

/// First outgoing sequence number: below 2^16 so the receiver needs no rollover count.
const FIRST_SEQ: u64 = 1;

impl Forwarder {
    /// A forwarder whose first source starts at the next packet (audio) or keyframe (video).
    pub(crate) fn new(video: bool) -> Self {
        Self {
            mapping: None,
            last: None,
            wait_keyframe: video,
        }
    }

    /// Starts a new source: its first packet continues the outgoing stream.
    pub(crate) fn switch_source(&mut self, video: bool) {
        self.mapping = None;
        self.wait_keyframe = video;
    }

    /// Whether the forwarder is waiting for a keyframe before it forwards anything.
    pub(crate) fn waiting_for_keyframe(&self) -> bool {
        self.wait_keyframe
    }

    /// Maps an incoming packet to its outgoing (extended sequence, RTP time), or `None` to drop it.
    /// `is_keyframe` is asked only while waiting for one.
    pub(crate) fn map(
        &mut self,
        seq: u64,
        ts: u32,
        clock_rate: u32,
        now: Instant,
        is_keyframe: impl FnOnce() -> bool,
    ) -> Option<(u64, u32)> {
        let m = match self.mapping {
            Some(m) => m,
            None => {
                if self.wait_keyframe && !is_keyframe() {
                    return None;
                }
                self.wait_keyframe = false;
                let (out_seq, out_ts) = match self.last {
                    None => (FIRST_SEQ, ts),
                    Some((last_seq, last_ts, at)) => {
                        // Advance the timestamp by the real time since the last outgoing packet.
                        let elapsed = now.saturating_duration_since(at);
                        let ticks = (elapsed.as_micros() * u128::from(clock_rate) / 1_000_000)
                            .clamp(1, u128::from(u32::MAX / 2));
                        (last_seq + 1, last_ts.wrapping_add(ticks as u32))
                    }
                };
                let m = Mapping {
                    first_in_seq: seq,
                    seq_offset: out_seq.wrapping_sub(seq),
                    ts_offset: out_ts.wrapping_sub(ts),
                };
                self.mapping = Some(m);
                m
            }
        };
        // Packets from before the source started here belong to no one downstream.
        if seq < m.first_in_seq {
            return None;
        }
        let out_seq = seq.wrapping_add(m.seq_offset);
        let out_ts = ts.wrapping_add(m.ts_offset);
        match self.last {
            Some((last_seq, _, _)) if out_seq <= last_seq => {}
            _ => self.last = Some((out_seq, out_ts, now)),
        }
        Some((out_seq, out_ts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn continuous_across_a_source_switch() {
        let t0 = Instant::now();
        let mut f = Forwarder::new(true);
        // Waits for a keyframe.
        assert_eq!(f.map(500, 9000, 90_000, t0, || false), None);
        assert_eq!(f.map(501, 9000, 90_000, t0, || true), Some((1, 9000)));
        assert_eq!(f.map(502, 12000, 90_000, t0, || false), Some((2, 12000)));
        // A retransmission of something older than the start is dropped.
        assert_eq!(f.map(499, 6000, 90_000, t0, || true), None);
        // Reordered packets keep their place.
        assert_eq!(f.map(504, 15000, 90_000, t0, || false), Some((4, 15000)));
        assert_eq!(f.map(503, 15000, 90_000, t0, || false), Some((3, 15000)));
        // Switch to a source far away in number space, 100 ms later.
        f.switch_source(true);
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(f.map(70_000, 1, 90_000, t1, || false), None);
        assert_eq!(
            f.map(70_001, 1, 90_000, t1, || true),
            Some((5, 15000 + 9000))
        );
        assert_eq!(
            f.map(70_002, 3001, 90_000, t1, || false),
            Some((6, 15000 + 12000))
        );
    }

    #[test]
    fn audio_starts_at_once_and_wraps_timestamps() {
        let t0 = Instant::now();
        let mut f = Forwarder::new(false);
        assert_eq!(
            f.map(65_535, u32::MAX, 48_000, t0, || false),
            Some((1, u32::MAX))
        );
        assert_eq!(f.map(65_536, 959, 48_000, t0, || false), Some((2, 959)));
    }
}
