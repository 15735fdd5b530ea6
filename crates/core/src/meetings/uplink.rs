//! How each participant's media reaches the server (their uplink): the loss and jitter the
//! server sees on what they publish. A page's own statistics describe only the path towards
//! it, so this is what tells everyone else that someone's picture and voice are breaking up
//! because of their connection. Judged with hysteresis and sent only on a change of verdict,
//! so a meeting does not get a message per participant per report.

use std::time::{Duration, Instant};

use summit_proto::{ParticipantId, Uplink};

use crate::meetings::Meetings;

/// Loss above which an uplink is poor (a fraction of packets, per receiver report).
const POOR_LOSS: f32 = 0.05;
/// Jitter above which an uplink is poor, in milliseconds.
const POOR_JITTER_MS: u32 = 50;
/// Loss and jitter below which it is good again.
const GOOD_LOSS: f32 = 0.02;
const GOOD_JITTER_MS: u32 = 30;
/// Rounds of reports in a row that must look good before a poor uplink is called good again.
const GOOD_REPORTS: u8 = 2;
/// How long after a round's first report it is judged (str0m reports all streams at once).
const ROUND: Duration = Duration::from_millis(500);

/// What the server has seen of one participant's uplink.
#[derive(Debug, Default, Clone)]
pub(crate) struct UplinkQuality {
    /// Judged poor (and told so).
    pub(crate) poor: bool,
    /// The figures behind the last verdict told.
    pub(crate) told: Option<Uplink>,
    /// Good rounds of reports since it was judged poor.
    good_run: u8,
    /// The worst of the reports of the current round (str0m reports every stream at once),
    /// and when the round began.
    round: Option<(Instant, f32, u32)>,
}

impl UplinkQuality {
    /// One stream's receive report: `loss` (fraction), and `jitter` in RTP units at
    /// `clock_rate`, kept as the worst of the round's reports so far.
    fn report(&mut self, now: Instant, loss: Option<f32>, jitter: u32, clock_rate: u32) {
        let loss = loss.unwrap_or(0.0).clamp(0.0, 1.0);
        let jitter_ms = if clock_rate > 0 {
            (u64::from(jitter) * 1000 / u64::from(clock_rate)).min(u64::from(u16::MAX)) as u32
        } else {
            0
        };
        let (at, l, j) = self.round.unwrap_or((now, 0.0, 0));
        self.round = Some((at, l.max(loss), j.max(jitter_ms)));
    }

    /// Judges the round of reports if it is complete (a moment old); returns whether the
    /// verdict turned.
    fn judge(&mut self, now: Instant) -> bool {
        let Some((at, loss, jitter_ms)) = self.round else {
            return false;
        };
        if now.saturating_duration_since(at) < ROUND {
            return false;
        }
        self.round = None;
        let bad = loss > POOR_LOSS || jitter_ms > POOR_JITTER_MS;
        let good = loss < GOOD_LOSS && jitter_ms < GOOD_JITTER_MS;
        let turned = if !self.poor {
            self.poor = bad;
            bad
        } else if good {
            self.good_run += 1;
            self.poor = self.good_run < GOOD_REPORTS;
            !self.poor
        } else {
            self.good_run = 0;
            false
        };
        if turned {
            self.good_run = 0;
            self.told = Some(Uplink {
                loss_percent: (loss * 100.0).round() as u8,
                jitter_ms: jitter_ms.min(u32::from(u16::MAX)) as u16,
            });
        }
        turned
    }
}

impl Meetings {
    /// One stream's receive report of `id`'s publishing connection: `loss` (fraction), and
    /// `jitter` in RTP units at `clock_rate`. Judged with the round's others (see
    /// [`Meetings::judge_uplinks`]).
    pub(crate) fn uplink_report(
        &mut self,
        id: ParticipantId,
        now: Instant,
        loss: Option<f32>,
        jitter: u32,
        clock_rate: u32,
    ) {
        if let Some(p) = self.participant_mut(id) {
            p.uplink.report(now, loss, jitter, clock_rate);
        }
    }

    /// Judges the rounds of reports that are complete; returns whose verdict changed, with the
    /// verdict and its figures (for everyone else, and for them).
    pub(crate) fn judge_uplinks(&mut self, now: Instant) -> Vec<(ParticipantId, bool, Uplink)> {
        self.participants_mut()
            .filter_map(|p| {
                let turned = p.uplink.judge(now);
                let told = p.uplink.told.filter(|_| turned)?;
                tracing::debug!(participant = %p.id, poor = p.uplink.poor, ?told, "uplink");
                Some((p.id, p.uplink.poor, told))
            })
            .collect()
    }
}
