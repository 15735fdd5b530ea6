//! The timer queue: which `Rtc` must be driven when, without scanning them all.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::peer::PeerKey;

/// A min-heap of (deadline, peer). Entries go stale when a peer's deadline changes; the caller
/// checks an entry against the peer's current deadline when it pops it.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, PeerKey)>>,
}

impl Timers {
    pub(crate) fn schedule(&mut self, at: Instant, key: PeerKey) {
        self.heap.push(Reverse((at, key)));
    }

    /// The earliest deadline, stale or not.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Pops one entry due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, PeerKey)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }
}
