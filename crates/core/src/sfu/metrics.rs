//! The facade's counting: a snapshot for monitoring, summed from the router's forwarded counts
//! and the endpoint's connection figures, per meeting and in total.

use str0m::media::Mid;

use crate::metrics::{Counters, MeetingMetrics, Metrics, StreamFigures};
use crate::Sfu;

impl Sfu {
    /// A snapshot for monitoring.
    pub fn metrics(&self) -> Metrics {
        let meetings = self
            .meetings
            .meetings()
            .map(|(name, m)| {
                let mut counters = m.departed_counters();
                let mut tracks = 0;
                for &id in m.members() {
                    counters += self.counters(id);
                    tracks += self.router.media(id).map_or(0, |p| p.sources().count());
                }
                MeetingMetrics {
                    name: name.clone(),
                    participants: m.members().len(),
                    waiting: m.lobby().len(),
                    tracks,
                    counters,
                }
            })
            .collect();
        let mut totals = self.departed_counters;
        for id in self.meetings.participants().map(|p| p.id) {
            totals += self.counters(id);
        }
        Metrics {
            meetings,
            totals,
            dropped_datagrams: self.dropped(),
        }
    }

    /// Everything counted for a participant: forwarded from them, and their connections' NACK
    /// and loss figures.
    pub(crate) fn counters(&self, id: summit_proto::ParticipantId) -> Counters {
        let mut c = self
            .router
            .media(id)
            .map(|m| m.forwarded())
            .unwrap_or_default();
        c += self.endpoint.counters(id);
        c
    }

    /// str0m reported a stream's cumulative figures: keep the latest per stream.
    pub(crate) fn stream_figures(
        &mut self,
        key: crate::endpoint::peer::PeerKey,
        mid: Mid,
        f: StreamFigures,
    ) {
        if let Some(peer) = self.endpoint.peer_mut(key) {
            match peer.figures.iter_mut().find(|(m, _)| *m == mid) {
                Some((_, old)) => *old = f,
                None => peer.figures.push((mid, f)),
            }
        }
    }
}
