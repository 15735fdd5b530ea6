//! Keyframe request throttling: at most one request per layer of a published track within a
//! window, and a request that arrives inside the window is sent when it closes rather than
//! lost.

use std::time::{Duration, Instant};

/// Throttle state of one layer of a published video track.
#[derive(Debug, Default)]
pub(crate) struct KeyframeThrottle {
    last_sent: Option<Instant>,
    deferred: bool,
}

impl KeyframeThrottle {
    /// A subscriber needs a keyframe. Returns whether to request one now; otherwise it is deferred.
    pub(crate) fn request(&mut self, now: Instant, window: Duration) -> bool {
        match self.last_sent {
            Some(at) if now < at + window => {
                self.deferred = true;
                false
            }
            _ => {
                self.last_sent = Some(now);
                self.deferred = false;
                true
            }
        }
    }

    /// Whether a deferred request is due now (and marks it sent).
    pub(crate) fn poll_deferred(&mut self, now: Instant, window: Duration) -> bool {
        if self.deferred && self.last_sent.is_none_or(|at| now >= at + window) {
            self.deferred = false;
            self.last_sent = Some(now);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_joiners_in_a_second_cause_two_requests() {
        let w = Duration::from_millis(500);
        let t0 = Instant::now();
        let mut k = KeyframeThrottle::default();
        let mut sent = 0;
        for i in 0..10u64 {
            let now = t0 + Duration::from_millis(i * 100);
            if k.poll_deferred(now, w) {
                sent += 1;
            }
            if k.request(now, w) {
                sent += 1;
            }
        }
        // t=0 sent; t=100..400 deferred; t=500 due (deferred), t=600..900 deferred again.
        assert_eq!(sent, 2);
        assert!(k.poll_deferred(t0 + Duration::from_millis(1000), w));
        assert!(!k.poll_deferred(t0 + Duration::from_millis(2000), w));
    }
}
