//! How each participant's media reaches the server (their uplink): the loss and jitter the
//! server sees on what they publish. A page's own statistics describe only the path towards
//! it, so this is what tells everyone else that someone's picture and voice are breaking up
//! because of their connection. Judged with hysteresis and sent only on a change of verdict,
//! so a meeting does not get a message per participant per report.

use std::time::{Duration, Instant};

use summit_proto::{ParticipantId, ServerMessage, Uplink};

use crate::Sfu;

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

impl Sfu {
    /// One stream's receive report of `id`'s publishing connection: `loss` (fraction), and
    /// `jitter` in RTP units at `clock_rate`. Judged with the round's others (see
    /// [`Sfu::judge_uplinks`]).
    pub(crate) fn uplink_report(
        &mut self,
        id: ParticipantId,
        now: Instant,
        loss: Option<f32>,
        jitter: u32,
        clock_rate: u32,
    ) {
        let Some(p) = self.meetings.participant_mut(id) else {
            return;
        };
        let loss = loss.unwrap_or(0.0).clamp(0.0, 1.0);
        let jitter_ms = if clock_rate > 0 {
            (u64::from(jitter) * 1000 / u64::from(clock_rate)).min(u64::from(u16::MAX)) as u32
        } else {
            0
        };
        let (at, l, j) = p.uplink.round.unwrap_or((now, 0.0, 0));
        p.uplink.round = Some((at, l.max(loss), j.max(jitter_ms)));
    }

    /// Judges the rounds of reports that are complete (a moment old), and tells everyone of a
    /// changed verdict.
    pub(crate) fn judge_uplinks(&mut self, now: Instant) {
        let mut changed = Vec::new();
        for p in self.meetings.participants_mut() {
            let Some((at, loss, jitter_ms)) = p.uplink.round else {
                continue;
            };
            if now.saturating_duration_since(at) < ROUND {
                continue;
            }
            p.uplink.round = None;
            let q = &mut p.uplink;
            let bad = loss > POOR_LOSS || jitter_ms > POOR_JITTER_MS;
            let good = loss < GOOD_LOSS && jitter_ms < GOOD_JITTER_MS;
            let turned = if !q.poor {
                q.poor = bad;
                bad
            } else if good {
                q.good_run += 1;
                q.poor = q.good_run < GOOD_REPORTS;
                !q.poor
            } else {
                q.good_run = 0;
                false
            };
            if turned {
                q.good_run = 0;
                q.told = Some(Uplink {
                    loss_percent: (loss * 100.0).round() as u8,
                    jitter_ms: jitter_ms.min(u32::from(u16::MAX)) as u16,
                });
                tracing::debug!(participant = %p.id, poor = q.poor, loss, jitter_ms, "uplink");
                changed.push((p.id, q.poor, q.told));
            }
        }
        for (id, poor, told) in changed {
            self.broadcast_update(id);
            if let Some(uplink) = told {
                self.signal(id, ServerMessage::YourUplink { poor, uplink });
            }
        }
    }
}
