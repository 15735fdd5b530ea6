//! Keyframe requests to publishers: at most one per layer of a published track within a
//! window, and a request that arrives inside the window is sent when it closes rather than
//! lost. The router asks on behalf of the slots (a subscriber lost its picture, a layer switch,
//! a new path) and of the recording.

use std::time::{Duration, Instant};

use str0m::media::{KeyframeRequestKind, MediaKind, Mid};
use summit_proto::ParticipantId;

use crate::decision::Decision;
use crate::endpoint::peer::{PeerKey, Side};
use crate::endpoint::Endpoint;
use crate::router::track::TrackRef;
use crate::router::Router;

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

impl Router {
    /// A subscriber's page lost the picture of its slot `mid`: asks for a keyframe of the
    /// layer it gets (or is about to).
    pub(crate) fn keyframe_for_slot(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
        mid: Mid,
        now: Instant,
    ) {
        let want = self.media.get(&id).and_then(|p| {
            let s = p.slots.iter().find(|s| s.mid == Some(mid))?;
            Some((s.track()?, s.selector.current().or(s.selector.target())?))
        });
        if let Some((t, layer)) = want {
            self.request_keyframe(endpoint, t, layer, now);
        }
    }

    /// Asks for a keyframe of every video `id` receives (its ready slots' layers).
    pub(crate) fn refresh_received_video(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
        now: Instant,
    ) {
        let wanted: Vec<(TrackRef, usize)> = self
            .media
            .get(&id)
            .map(|p| {
                p.slots
                    .iter()
                    .filter(|s| s.ready() && s.kind == MediaKind::Video)
                    .filter_map(|s| Some((s.track()?, s.selector.target()?)))
                    .collect()
            })
            .unwrap_or_default();
        self.request_keyframes(endpoint, wanted, now);
    }

    /// Asks `id` for a keyframe of every layer of its video tracks that someone receives.
    pub(crate) fn refresh_published_video(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
        now: Instant,
    ) {
        let wanted: Vec<(TrackRef, usize)> = self
            .media
            .get(&id)
            .map(|p| {
                p.tracks
                    .iter()
                    .filter(|t| t.kind() == MediaKind::Video)
                    .flat_map(|t| {
                        let r = TrackRef {
                            publisher: id,
                            source: t.source,
                        };
                        let mut layers: Vec<usize> = self
                            .subscriptions
                            .slots_of(r)
                            .iter()
                            .filter_map(|sub| self.slot(*sub)?.selector.current())
                            .collect();
                        // One request per layer: a second inside the throttle would come later.
                        layers.sort_unstable();
                        layers.dedup();
                        layers.into_iter().map(move |l| (r, l))
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.request_keyframes(endpoint, wanted, now);
    }

    /// [`Router::request_keyframe`] for each (track, layer).
    fn request_keyframes(
        &mut self,
        endpoint: &mut Endpoint,
        wanted: Vec<(TrackRef, usize)>,
        now: Instant,
    ) {
        for (t, layer) in wanted {
            self.request_keyframe(endpoint, t, layer, now);
        }
    }

    /// Asks a publisher for a keyframe of one layer, throttled per layer.
    pub(crate) fn request_keyframe(
        &mut self,
        endpoint: &mut Endpoint,
        t: TrackRef,
        layer: usize,
        now: Instant,
    ) {
        let window = self.keyframe_throttle;
        let Some(track) = self
            .media
            .get_mut(&t.publisher)
            .and_then(|p| p.track_mut(t.source))
        else {
            return;
        };
        if track.kind() != MediaKind::Video {
            return;
        }
        let Some(l) = track.layers.get_mut(layer) else {
            return;
        };
        if l.keyframes.request(now, window) {
            self.send_keyframe_request(endpoint, t, layer);
        }
    }

    /// Sends the requests the throttle held back whose window has closed.
    pub(crate) fn send_deferred_keyframe_requests(
        &mut self,
        endpoint: &mut Endpoint,
        now: Instant,
    ) {
        let window = self.keyframe_throttle;
        let mut due: Vec<(TrackRef, usize)> = Vec::new();
        for (&id, p) in self.media.iter_mut() {
            for t in &mut p.tracks {
                for (i, l) in t.layers.iter_mut().enumerate() {
                    if l.keyframes.poll_deferred(now, window) {
                        let r = TrackRef {
                            publisher: id,
                            source: t.source,
                        };
                        due.push((r, i));
                    }
                }
            }
        }
        for (t, layer) in due {
            self.send_keyframe_request(endpoint, t, layer);
        }
    }

    fn send_keyframe_request(&mut self, endpoint: &mut Endpoint, t: TrackRef, layer: usize) {
        let Some(p) = self.media.get_mut(&t.publisher) else {
            return;
        };
        p.forwarded.keyframe_requests += 1;
        let Some((mid, rid, ssrc)) = p.track(t.source).and_then(|t| {
            let l = t.layers.get(layer)?;
            Some((t.mid, l.rid, l.ssrc))
        }) else {
            return;
        };
        let Some(rtc) = endpoint.rtc_mut(t.publisher, Side::Publisher) else {
            return;
        };
        let mut api = rtc.direct_api();
        let rx = match ssrc {
            Some(ssrc) => api.stream_rx(&ssrc),
            None => api.stream_rx_by_mid(mid, rid),
        };
        if let Some(rx) = rx {
            rx.request_keyframe(KeyframeRequestKind::Pli);
        }
        tracing::debug!(publisher = %t.publisher, source = ?t.source, layer, "keyframe request");
        if let Some(decisions) = &mut self.decisions {
            decisions.push(Decision::KeyframeRequested {
                from: t.publisher,
                source: t.source,
            });
        }
        endpoint.mark_dirty(PeerKey {
            participant: t.publisher,
            side: Side::Publisher,
        });
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
