//! Signaling limits: message size and rate per connection, connections per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;

/// Limits on signaling, each configurable on `summit serve`.
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest signaling message, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub(crate) max_message_bytes: usize,
    /// Sustained signaling messages per second per connection.
    #[arg(long, default_value_t = 50)]
    pub(crate) messages_per_second: u32,
    /// Messages a connection may send in a burst above that rate.
    #[arg(long, default_value_t = 100)]
    pub(crate) message_burst: u32,
    /// WebSocket connections per IP address.
    #[arg(long, default_value_t = 200)]
    pub(crate) max_connections_per_ip: usize,
    /// Participants (admitted and waiting) per meeting.
    #[arg(long, default_value_t = 100)]
    pub(crate) max_participants: usize,
}

/// A token bucket: `burst` messages at once, refilled at `rate` per second.
#[derive(Debug)]
pub(crate) struct RateLimit {
    tokens: f64,
    burst: f64,
    rate: f64,
    last: Instant,
}

impl RateLimit {
    pub(crate) fn new(limits: &Limits, now: Instant) -> Self {
        let burst = f64::from(limits.message_burst.max(1));
        Self {
            tokens: burst,
            burst,
            rate: f64::from(limits.messages_per_second),
            last: now,
        }
    }

    /// Whether one more message is allowed at `now`.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Open connections per address, shared by the signaling tasks.
#[derive(Clone, Default)]
pub(crate) struct ConnectionCounts(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// Holds one connection's place; gives it back when dropped.
pub(crate) struct ConnectionSlot {
    counts: ConnectionCounts,
    ip: IpAddr,
}

impl ConnectionCounts {
    /// Takes a place for `ip`, or `None` when it has `max` already.
    pub(crate) fn acquire(&self, ip: IpAddr, max: usize) -> Option<ConnectionSlot> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = m.entry(ip).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ConnectionSlot {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut m = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Time allowed between connecting and a valid `join`.
pub(crate) const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_message_bytes: 1024,
            messages_per_second: 50,
            message_burst: 100,
            max_connections_per_ip: 2,
            max_participants: 10,
        }
    }

    #[test]
    fn bursts_then_the_sustained_rate() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(&limits(), t0);
        assert_eq!((0..150).filter(|_| r.allow(t0)).count(), 100);
        // One second later, 50 more.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..150).filter(|_| r.allow(t1)).count(), 50);
    }

    #[test]
    fn connections_per_address() {
        let c = ConnectionCounts::default();
        let ip: IpAddr = "127.0.0.9".parse().unwrap();
        let a = c.acquire(ip, 2).unwrap();
        let _b = c.acquire(ip, 2).unwrap();
        assert!(c.acquire(ip, 2).is_none());
        assert!(c.acquire("127.0.0.8".parse().unwrap(), 2).is_some());
        drop(a);
        assert!(c.acquire(ip, 2).is_some());
    }
}
