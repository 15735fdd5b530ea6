//! The core's timers: each connection's next deadline, and the named periodic jobs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::endpoint::peer::PeerKey;

/// A periodic job of the whole SFU, as opposed to one connection's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Heartbeats, reconnection windows, TURN renewals, uplink verdicts, deferred keyframe
    /// requests, expired resume tokens.
    Housekeeping,
    /// Every subscriber's layers chosen again (layer rates change as encoders adapt), besides
    /// on each new estimate.
    Reallocate,
}

impl Timer {
    /// Every named timer, in the order they fire when due together.
    pub(crate) const ALL: [Timer; 2] = [Timer::Housekeeping, Timer::Reallocate];

    /// How often it fires.
    pub(crate) fn period(self) -> Duration {
        match self {
            Timer::Housekeeping => Duration::from_millis(50),
            Timer::Reallocate => Duration::from_millis(500),
        }
    }
}

/// Connection deadlines in a min-heap, so the due ones are found without scanning every
/// connection, and one deadline per named timer.
#[derive(Debug)]
pub(crate) struct Timers {
    /// (deadline, connection). Entries go stale when a connection's deadline changes; the
    /// caller checks an entry against the connection's current deadline when it pops it.
    connections: BinaryHeap<Reverse<(Instant, PeerKey)>>,
    named: [Instant; Timer::ALL.len()],
}

impl Timers {
    /// Timers whose named jobs first fire one period after `now`.
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            connections: BinaryHeap::new(),
            named: Timer::ALL.map(|t| now + t.period()),
        }
    }

    /// Drive connection `key` at `at`.
    pub(crate) fn schedule(&mut self, at: Instant, key: PeerKey) {
        self.connections.push(Reverse((at, key)));
    }

    /// The earliest deadline of any kind (a connection's may be stale).
    pub(crate) fn next(&self) -> Instant {
        let connection = self.connections.peek().map(|Reverse((at, _))| *at);
        self.named
            .iter()
            .copied()
            .chain(connection)
            .fold(self.named[0], Instant::min)
    }

    /// Pops one connection deadline due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, PeerKey)> {
        match self.connections.peek() {
            Some(Reverse((at, _))) if *at <= now => self.connections.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    /// Whether `timer` is due at `now`; if so, it is set again one period later.
    pub(crate) fn fire(&mut self, timer: Timer, now: Instant) -> bool {
        let at = &mut self.named[timer as usize];
        if now < *at {
            return false;
        }
        *at = now + timer.period();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::peer::Side;
    use summit_proto::ParticipantId;

    #[test]
    fn named_timers_fire_once_per_period_and_connections_in_deadline_order() {
        let t0 = Instant::now();
        let mut timers = Timers::new(t0);
        assert_eq!(timers.next(), t0 + Timer::Housekeeping.period());
        assert!(!timers.fire(Timer::Housekeeping, t0));
        let t1 = t0 + Timer::Housekeeping.period();
        assert!(timers.fire(Timer::Housekeeping, t1));
        assert!(
            !timers.fire(Timer::Housekeeping, t1),
            "set again a period later"
        );
        assert!(!timers.fire(Timer::Reallocate, t1));
        assert!(timers.fire(Timer::Reallocate, t0 + Timer::Reallocate.period()));
        let key = |n| PeerKey {
            participant: ParticipantId(n),
            side: Side::Subscriber,
        };
        timers.schedule(t0 + Duration::from_millis(7), key(2));
        timers.schedule(t0 + Duration::from_millis(3), key(1));
        assert_eq!(timers.next(), t0 + Duration::from_millis(3));
        let late = t0 + Duration::from_millis(10);
        assert_eq!(timers.pop_due(late).map(|e| e.1), Some(key(1)));
        assert_eq!(timers.pop_due(late).map(|e| e.1), Some(key(2)));
        assert_eq!(timers.pop_due(late), None);
    }
}
