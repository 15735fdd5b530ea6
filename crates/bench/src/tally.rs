//! What the generator's receivers and senders count while a scenario runs: packets sent and
//! received inside the measuring window (by send time), added latency, and the generator's lag.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::stamp::Stamp;

/// Latencies above this are clamped (a packet that late is as good as lost to a listener).
const MAX_NS: u64 = 60_000_000_000;

/// Shared by every simulated peer of one run (one thread: `Cell` and `RefCell` suffice).
pub(crate) struct Tally {
    /// The bench's clock origin: stamps count ns from it.
    pub(crate) epoch: Instant,
    /// The measuring window, in send time (ns since `epoch`).
    window: Cell<Option<(u64, u64)>>,
    latency: RefCell<Histogram<u64>>,
    /// How late publishers sent what was due (the generator falling behind).
    lag: RefCell<Histogram<u64>>,
    /// Packets sent inside the window, by stream.
    sent: RefCell<Vec<u64>>,
    /// Packets received that were sent inside the window.
    received: Cell<u64>,
    /// Packets received at all (progress).
    received_total: Cell<u64>,
    /// (subscriber, stream) pairs that have delivered at least one packet.
    flowing: Cell<usize>,
    /// Publishers whose offer the server has answered.
    published: Cell<usize>,
}

/// A window's figures.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counts {
    /// Packets sent in the window, by stream.
    pub(crate) sent: Vec<u64>,
    /// Packets sent in the window that arrived.
    pub(crate) received: u64,
    /// Added latency percentiles (p50, p99, p99.9).
    pub(crate) latency: [Duration; 3],
    /// Generator lag at p99.
    pub(crate) lag_p99: Duration,
}

fn histogram() -> Histogram<u64> {
    // Bounds are constants that `new_with_bounds` accepts (low >= 1, high >= 2 * low, 3 digits).
    #[allow(clippy::expect_used)]
    Histogram::new_with_bounds(1, MAX_NS, 3).expect("valid histogram bounds")
}

impl Tally {
    /// An empty tally whose clock starts now.
    pub(crate) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            window: Cell::new(None),
            latency: RefCell::new(histogram()),
            lag: RefCell::new(histogram()),
            sent: RefCell::new(Vec::new()),
            received: Cell::new(0),
            received_total: Cell::new(0),
            flowing: Cell::new(0),
            published: Cell::new(0),
        }
    }

    /// Ns since the epoch.
    pub(crate) fn ns(&self, t: Instant) -> u64 {
        t.saturating_duration_since(self.epoch).as_nanos() as u64
    }

    fn in_window(&self, sent_ns: u64) -> bool {
        self.window
            .get()
            .is_some_and(|(from, to)| sent_ns >= from && sent_ns < to)
    }

    /// Starts a measuring window now, forgetting the last one.
    pub(crate) fn open_window(&self, now: Instant) {
        self.window.set(Some((self.ns(now), u64::MAX)));
        self.latency.borrow_mut().reset();
        self.lag.borrow_mut().reset();
        self.sent.borrow_mut().iter_mut().for_each(|s| *s = 0);
        self.received.set(0);
    }

    /// Ends the window for packets sent from now on (those in flight still count when they land).
    pub(crate) fn close_window(&self, now: Instant) {
        if let Some((from, _)) = self.window.get() {
            self.window.set(Some((from, self.ns(now))));
        }
    }

    /// A publisher sent packet `stamp`, `lag` after it was due.
    pub(crate) fn on_sent(&self, stamp: &Stamp, lag: Duration) {
        if !self.in_window(stamp.sent_ns) {
            return;
        }
        let mut sent = self.sent.borrow_mut();
        let i = stamp.stream as usize;
        if sent.len() <= i {
            sent.resize(i + 1, 0);
        }
        sent[i] += 1;
        let _ = self.lag.borrow_mut().record(lag.as_nanos() as u64);
    }

    /// A subscriber received `stamp` at `at`.
    pub(crate) fn on_received(&self, stamp: &Stamp, at: Instant) {
        self.received_total.set(self.received_total.get() + 1);
        if !self.in_window(stamp.sent_ns) {
            return;
        }
        self.received.set(self.received.get() + 1);
        let ns = self.ns(at).saturating_sub(stamp.sent_ns).clamp(1, MAX_NS);
        let _ = self.latency.borrow_mut().record(ns);
    }

    /// A subscriber got its first packet of a stream.
    pub(crate) fn on_flowing(&self) {
        self.flowing.set(self.flowing.get() + 1);
    }

    /// A publisher's offer was answered.
    pub(crate) fn on_published(&self) {
        self.published.set(self.published.get() + 1);
    }

    /// Publishers answered so far.
    pub(crate) fn published(&self) -> usize {
        self.published.get()
    }

    /// (subscriber, stream) pairs delivering.
    pub(crate) fn flowing(&self) -> usize {
        self.flowing.get()
    }

    /// Packets received so far, in or out of a window.
    pub(crate) fn received_total(&self) -> u64 {
        self.received_total.get()
    }

    /// The figures of the window so far.
    pub(crate) fn counts(&self) -> Counts {
        let latency = self.latency.borrow();
        let q = |q: f64| Duration::from_nanos(latency.value_at_quantile(q));
        Counts {
            sent: self.sent.borrow().clone(),
            received: self.received.get(),
            latency: [q(0.5), q(0.99), q(0.999)],
            lag_p99: Duration::from_nanos(self.lag.borrow().value_at_quantile(0.99)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_packets_sent_inside_the_window_count() {
        let tally = Tally::new();
        let t0 = tally.epoch;
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let stamp = |seq, ms: u64| Stamp {
            stream: 1,
            seq,
            sent_ns: ms * 1_000_000,
        };
        tally.on_sent(&stamp(0, 5), Duration::ZERO);
        tally.on_received(&stamp(0, 5), at(6));
        tally.open_window(at(10));
        for i in 0..10u32 {
            let s = stamp(i + 1, 10 + u64::from(i));
            tally.on_sent(&s, Duration::ZERO);
            // Every other packet is lost; the others take 2 ms.
            if i % 2 == 0 {
                tally.on_received(&s, at(12 + u64::from(i)));
            }
        }
        tally.close_window(at(20));
        // Sent after the window closed: counts for neither side.
        tally.on_sent(&stamp(11, 21), Duration::ZERO);
        tally.on_received(&stamp(11, 21), at(22));
        let c = tally.counts();
        assert_eq!(c.sent, [0, 10]);
        assert_eq!(c.received, 5);
        assert!(c.latency[1] >= Duration::from_micros(1_990));
        assert!(c.latency[1] <= Duration::from_micros(2_010));
        assert_eq!(tally.received_total(), 7);
    }
}
