//! Signaling limits: message size and rate per connection, connections per address, what one
//! participant may have relayed, seats and the lobby, and failed attempts to resume a session.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use summit_core::{SfuConfig, TokenBucket};

/// Limits on signaling, each configurable on `summit serve`.
#[derive(Args, Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest signaling message, in bytes (room for a page's SDP in a meeting of 100).
    #[arg(long, default_value_t = summit_proto::MAX_MESSAGE_BYTES)]
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
    /// Participants (admitted and waiting) per meeting, hosts aside.
    #[arg(long, default_value_t = 100)]
    pub(crate) max_participants: usize,
    /// Places kept for hosts beyond --max-participants: a full meeting, or a lobby flooded
    /// through one leaked link, never locks the hosts out.
    #[arg(long, default_value_t = 5)]
    pub(crate) host_seats: usize,
    /// People who may wait in one meeting's lobby with the same invitation.
    #[arg(long, default_value_t = 3)]
    pub(crate) max_lobby_per_invitation: usize,
    /// Bytes per second one participant may have the server relay to others (key exchange,
    /// chat); more is refused with an error.
    #[arg(long, default_value_t = 64 * 1024)]
    pub(crate) relay_bytes_per_second: u64,
    /// Bytes one participant may have relayed in a burst above that rate.
    #[arg(long, default_value_t = 256 * 1024)]
    pub(crate) relay_burst_bytes: u64,
}

impl Limits {
    /// Puts the limits the core enforces into its settings.
    pub(crate) fn apply(&self, config: &mut SfuConfig) {
        config.max_participants = self.max_participants;
        config.host_seats = self.host_seats;
        config.max_lobby_per_invitation = self.max_lobby_per_invitation;
        config.relay_bytes_per_second = self.relay_bytes_per_second;
        config.relay_burst_bytes = self.relay_burst_bytes;
    }
}

/// Messages per connection: `burst` at once, refilled at the sustained rate.
#[derive(Debug)]
pub(crate) struct RateLimit(TokenBucket);

impl RateLimit {
    pub(crate) fn new(limits: &Limits, now: Instant) -> Self {
        Self(TokenBucket::new(
            f64::from(limits.messages_per_second),
            f64::from(limits.message_burst),
            now,
        ))
    }

    /// Whether one more message is allowed at `now`.
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        self.0.take(now, 1.0)
    }
}

/// Resume tokens that took nothing back, per address: a few are a page returning too late,
/// many are someone guessing. Ten at once, then one every six seconds.
#[derive(Clone, Default)]
pub(crate) struct ResumeFailures(Arc<Mutex<HashMap<IpAddr, TokenBucket>>>);

/// Failed resumes one address may make at once, and per second after that.
const RESUME_FAILURE_BURST: f64 = 10.0;
const RESUME_FAILURES_PER_SECOND: f64 = 1.0 / 6.0;

impl ResumeFailures {
    /// Whether `ip` may present a resume token now (it has failed too often otherwise).
    pub(crate) fn may_try(&self, ip: IpAddr, now: Instant) -> bool {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A bucket with less than one failure left refuses; a check takes nothing.
        m.get(&ip).is_none_or(|b| b.clone().take(now, 1.0))
    }

    /// A token from `ip` took nothing back.
    pub(crate) fn failed(&self, ip: IpAddr, now: Instant) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Addresses whose buckets are full again carry no information: forget them.
        if m.len() > 10_000 {
            m.retain(|_, b| !b.clone().take(now, RESUME_FAILURE_BURST));
        }
        m.entry(ip)
            .or_insert_with(|| {
                TokenBucket::new(RESUME_FAILURES_PER_SECOND, RESUME_FAILURE_BURST, now)
            })
            .take(now, 1.0);
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
            host_seats: 1,
            max_lobby_per_invitation: 3,
            relay_bytes_per_second: 1000,
            relay_burst_bytes: 4000,
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
    fn failed_resumes_are_limited_per_address() {
        let f = ResumeFailures::default();
        let (ip, other): (IpAddr, IpAddr) =
            ("127.0.0.9".parse().unwrap(), "127.0.0.8".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(f.may_try(ip, t0));
            f.failed(ip, t0);
        }
        assert!(!f.may_try(ip, t0), "ten failures at once are the most");
        assert!(f.may_try(other, t0));
        assert!(
            f.may_try(ip, t0 + Duration::from_secs(7)),
            "one more every six seconds"
        );
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
