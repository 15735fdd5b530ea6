//! A token bucket: a burst at once, then a sustained rate. Bounds what one sender may ask the
//! server to relay (bytes), and how many messages one connection may send.

use std::time::Instant;

/// `burst` units at once, refilled at `rate` units per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        let burst = burst.max(1.0);
        Self {
            tokens: burst,
            burst,
            rate: rate.max(0.0),
            last: now,
        }
    }

    /// Units it holds at most (what may go at once).
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Units it refills per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes `n` units at `now` if the bucket holds them; otherwise takes nothing.
    pub fn take(&mut self, now: Instant, n: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_the_sustained_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(50.0, 100.0, t0);
        assert_eq!((0..150).filter(|_| b.take(t0, 1.0)).count(), 100);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..150).filter(|_| b.take(t1, 1.0)).count(), 50);
    }

    #[test]
    fn a_large_request_waits_for_room_and_takes_nothing_meanwhile() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000.0, 4000.0, t0);
        assert!(b.take(t0, 3000.0));
        assert!(!b.take(t0, 2000.0), "1000 left");
        assert!(b.take(t0, 1000.0), "the refused request took nothing");
        assert!(b.take(t0 + Duration::from_secs(2), 2000.0));
        // A clock that steps back does not refill.
        assert!(!b.take(t0, 1.0));
    }
}
