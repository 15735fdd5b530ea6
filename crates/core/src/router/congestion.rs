//! Signs of overload on the link towards a subscriber, from the receiver reports its browser
//! sends: heavy loss, or a round trip grown well past the path's own (a queue filling).
//!
//! str0m's estimate also falls under random loss (hotel Wi-Fi, a lossy radio hop), where
//! sending less repairs nothing: at 10 % loss each way it sank below the lowest layer, and
//! cutting that layer froze the picture for seconds at a time. So the allocator cuts a
//! picture's last layer only when these signs agree that the link is overloaded (or when
//! there are none to go by); higher layers follow the estimate as before.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use str0m::media::Mid;

/// Loss (a share of the packets the page expected over the fresh reports, all streams
/// together) at or above which the link counts as overloaded. The page reports loss before
/// repairs, and a packet lost on the publisher's side and repaired late counts too: at 10 %
/// random loss on each side, reports show 18-22 %; a link given 1.8 times what it carries
/// (the thin-link test) shows 45 %. A link overloaded less than that with a queue shows it
/// by its round trip; one without a queue is not told from random loss.
const HEAVY_LOSS_PERCENT: u64 = 35;
/// Fewer packets than this over the fresh reports say nothing about loss (at 20 % reported
/// loss, 7 of 20 is common). A link too thin for the lowest layer carries few, so this stays
/// low enough for its first seconds of overload to count (a browser's lowest layer and audio
/// make some 200 in three seconds).
const MIN_EXPECTED: u64 = 40;
/// Rounds kept (a few seconds of reports).
const ROUNDS: usize = 8;
/// A round trip this much longer than the path's shortest, in [`QUEUE_ROUNDS`] rounds running,
/// is a queue filling.
const QUEUE_DELAY: Duration = Duration::from_millis(100);
/// Rounds running that must show the longer round trip. One alone is a spike that sending less
/// would not cure (a busy host or radio retries): on a lossy link with 45 ms round trips, a
/// single report of 150-160 ms paused a picture for 3 s at a time, twice a minute.
const QUEUE_ROUNDS: usize = 2;
/// Reports older than this say nothing about the link now (browsers report about once a
/// second per video stream).
const FRESH: Duration = Duration::from_secs(3);
/// Reports this close together belong to one round (str0m reports every stream at once).
const ROUND: Duration = Duration::from_millis(500);
/// A jump in a stream's sequence numbers larger than this is a new stream, not loss.
const MAX_JUMP: u64 = 30_000;

/// What the receiver reports say about one subscriber's downlink.
#[derive(Debug, Default, Clone)]
pub(crate) struct LinkSigns {
    /// The shortest round trip reported: the path without a queue.
    base_rtt: Option<Duration>,
    /// Per stream: the cumulative loss and highest sequence number last reported.
    streams: Vec<(Mid, u64, u64)>,
    /// The round being gathered, and the latest complete ones (oldest first).
    gathering: Option<Round>,
    rounds: VecDeque<Round>,
}

/// One round of reports: when it began, packets lost and expected in it over all streams,
/// and its longest round trip.
#[derive(Debug, Clone, Copy)]
struct Round {
    at: Instant,
    lost: u64,
    expected: u64,
    rtt: Option<Duration>,
}

impl LinkSigns {
    /// One stream's figures from the page's receiver reports: `remote` is the cumulative
    /// (packets lost, highest sequence number), `rtt` the round trip of the latest report.
    pub(crate) fn report(
        &mut self,
        now: Instant,
        mid: Mid,
        remote: Option<(u64, u64)>,
        rtt: Option<Duration>,
    ) {
        let Some((lost, seq)) = remote else {
            return;
        };
        if let Some(r) = rtt {
            self.base_rtt = Some(self.base_rtt.map_or(r, |b| b.min(r)));
        }
        let (d_lost, d_expected) = match self.streams.iter_mut().find(|s| s.0 == mid) {
            Some(s) => {
                let d = match seq.checked_sub(s.2) {
                    Some(e) if e <= MAX_JUMP => (lost.saturating_sub(s.1).min(e), e),
                    _ => (0, 0),
                };
                (s.1, s.2) = (lost, seq);
                d
            }
            None => {
                self.streams.push((mid, lost, seq));
                (0, 0)
            }
        };
        match &mut self.gathering {
            Some(g) if now.saturating_duration_since(g.at) < ROUND => {
                g.lost += d_lost;
                g.expected += d_expected;
                g.rtt = g.rtt.max(rtt);
            }
            _ => {
                self.close_round();
                self.gathering = Some(Round {
                    at: now,
                    lost: d_lost,
                    expected: d_expected,
                    rtt,
                });
            }
        }
    }

    /// Whether a round of the page's reports on this link is complete (the first comes about
    /// a second after media starts, and a round gathers for half a second).
    pub(crate) fn heard(&self) -> bool {
        !self.rounds.is_empty()
    }

    /// The round gathered so far joins the latest ones if it had figures.
    fn close_round(&mut self) {
        if let Some(g) = self
            .gathering
            .take()
            .filter(|g| g.expected > 0 || g.rtt.is_some())
        {
            if self.rounds.len() == ROUNDS {
                self.rounds.pop_front();
            }
            self.rounds.push_back(g);
        }
    }

    /// Whether the link shows no sign of overload: fresh reports, with loss below
    /// [`HEAVY_LOSS_PERCENT`] over them (when they cover enough packets to say) and no queue
    /// in the latest [`QUEUE_ROUNDS`]. False when there is nothing to go by.
    pub(crate) fn clear(&mut self, now: Instant) -> bool {
        if self
            .gathering
            .is_some_and(|g| now.saturating_duration_since(g.at) >= ROUND)
        {
            self.close_round();
        }
        let fresh = |r: &&Round| now.saturating_duration_since(r.at) < FRESH;
        if !self.rounds.back().is_some_and(|r| fresh(&r)) {
            return false;
        }
        let (lost, expected) = self
            .rounds
            .iter()
            .filter(fresh)
            .fold((0, 0), |(l, e), r| (l + r.lost, e + r.expected));
        let heavy = expected >= MIN_EXPECTED && lost * 100 >= expected * HEAVY_LOSS_PERCENT;
        let queued = self.base_rtt.is_some_and(|base| {
            self.rounds.len() >= QUEUE_ROUNDS
                && self
                    .rounds
                    .iter()
                    .rev()
                    .take(QUEUE_ROUNDS)
                    .all(|r| fresh(&r) && r.rtt.is_some_and(|rtt| rtt > base + QUEUE_DELAY))
        });
        !heavy && !queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// Reports for two streams at `at`: cumulative (lost, highest sequence) each, one rtt.
    fn round(s: &mut LinkSigns, at: Instant, a: (u64, u64), b: (u64, u64), rtt: u64) {
        s.report(at, Mid::from("0"), Some(a), Some(MS(rtt)));
        s.report(at + MS(1), Mid::from("1"), Some(b), Some(MS(rtt)));
    }

    #[test]
    fn random_loss_on_a_short_path_is_clear() {
        let t0 = Instant::now();
        let mut s = LinkSigns::default();
        assert!(!s.clear(t0), "nothing to go by yet");
        assert!(!s.heard());
        round(&mut s, t0, (0, 1000), (0, 5000), 45);
        assert!(!s.heard(), "a round gathers for half a second");
        assert!(s.clear(t0 + MS(900)), "a round trip, no loss");
        assert!(s.heard());
        // A fifth lost over both streams; a few packets of a small stream lost count for
        // little.
        round(&mut s, t0 + MS(1000), (3, 1005), (20, 5100), 48);
        assert!(s.clear(t0 + MS(1600)));
        // Few packets, most of them lost: too few to tell.
        round(&mut s, t0 + MS(1700), (3, 1005), (30, 5120), 48);
        assert!(s.clear(t0 + MS(2300)));
        // No packets since: the last round stands until it is old.
        round(&mut s, t0 + MS(2400), (3, 1005), (30, 5120), 48);
        assert!(s.clear(t0 + MS(2600)));
        // A report without figures changes nothing either.
        s.report(t0 + MS(3000), Mid::from("0"), None, None);
        assert!(s.clear(t0 + MS(3600)));
        assert!(!s.clear(t0 + MS(2400) + FRESH));
    }

    #[test]
    fn heavy_loss_or_a_queue_is_overload() {
        let t0 = Instant::now();
        let mut s = LinkSigns::default();
        round(&mut s, t0, (0, 0), (0, 0), 40);
        round(&mut s, t0 + MS(1000), (0, 100), (0, 100), 40);
        assert!(s.clear(t0 + MS(1600)));
        // Three fifths lost for a while: over the fresh reports, first less than a third,
        // then more.
        round(&mut s, t0 + MS(2000), (60, 200), (60, 200), 40);
        assert!(
            s.clear(t0 + MS(2600)),
            "three tenths over the last three seconds"
        );
        round(&mut s, t0 + MS(3000), (120, 300), (120, 300), 40);
        assert!(!s.clear(t0 + MS(3600)));
        // No loss since (once the lossy rounds are old), but one round trip grew by a
        // queue's worth: a spike, not yet a queue.
        for (i, rtt) in [(6, 40), (7, 190)] {
            let seq = i * 100;
            round(&mut s, t0 + MS(i * 1000), (120, seq), (120, seq), rtt);
        }
        assert!(s.clear(t0 + MS(7600)), "one long round trip");
        // The next one too: a queue.
        round(&mut s, t0 + MS(8000), (120, 800), (120, 800), 210);
        assert!(!s.clear(t0 + MS(8600)));
        // Drained again.
        round(&mut s, t0 + MS(9000), (120, 900), (120, 900), 60);
        assert!(s.clear(t0 + MS(9600)));
        // A stream that starts again far away (a new sender) is not loss.
        round(&mut s, t0 + MS(10_000), (120, 1000), (120, 90_000), 60);
        round(&mut s, t0 + MS(11_000), (121, 1100), (120, 90_100), 60);
        assert!(s.clear(t0 + MS(11_600)));
    }
}
