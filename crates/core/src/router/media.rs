//! Media connection events (keyframe requests, estimates, stats, ICE changes) and the
//! keyframe requests the server sends publishers. Forwarding itself is in `forward.rs`.

use std::time::Instant;

use str0m::bwe::BweKind;
use str0m::media::{KeyframeRequestKind, MediaKind};
use str0m::Event;
use summit_proto::ParticipantId;

use crate::decision::Decision;
use crate::endpoint::peer::{PeerKey, Side};
use crate::metrics::StreamFigures;
use crate::router::track::TrackRef;
use crate::Sfu;

impl Sfu {
    pub(crate) fn on_event(&mut self, key: PeerKey, now: Instant, e: Event) {
        match (key.side, e) {
            (Side::Publisher, Event::RtpPacket(pkt)) => self.forward(key.participant, now, pkt),
            (Side::Subscriber, Event::KeyframeRequest(req)) => {
                // The subscriber lost its picture: ask for a keyframe of the layer it gets.
                let want = self.router.media.get(&key.participant).and_then(|p| {
                    let s = p.slots.iter().find(|s| s.mid == Some(req.mid))?;
                    Some((s.track()?, s.selector.current().or(s.selector.target())?))
                });
                if let Some((t, layer)) = want {
                    self.request_keyframe(t, layer, now);
                }
            }
            (Side::Subscriber, Event::Connected) => {
                // Start every video slot that was waiting for the connection.
                self.refresh_received_video(key.participant, now);
            }
            (Side::Subscriber, Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })) => {
                self.bandwidth_estimated(key.participant, now, estimate.as_u64());
            }
            (Side::Publisher, Event::MediaIngressStats(s)) => {
                let f = StreamFigures {
                    nacks: s.nacks,
                    lost: 0,
                };
                self.stream_figures(key, s.mid, f);
                // Jitter counts for audio only: a video frame's packets share one timestamp
                // and leave the sender paced, which reads as jitter on any link.
                let audio = self
                    .router
                    .media
                    .get(&key.participant)
                    .and_then(|p| p.tracks.iter().find(|t| t.mid == s.mid))
                    .is_some_and(|t| t.source.is_audio());
                let jitter = if audio { s.jitter } else { 0 };
                self.uplink_report(key.participant, now, s.loss, jitter, 48_000);
            }
            (Side::Subscriber, Event::MediaEgressStats(s)) => {
                if let Some(p) = self.router.media.get_mut(&key.participant) {
                    let remote = s
                        .remote
                        .as_ref()
                        .map(|r| (r.packets_lost, *r.maximum_sequence_number));
                    p.bandwidth.signs.report(now, s.mid, remote, s.rtt);
                }
                let lost = s.remote.map_or(0, |r| r.packets_lost);
                let f = StreamFigures {
                    nacks: s.nacks,
                    lost,
                };
                self.stream_figures(key, s.mid, f);
            }
            (_, Event::IceConnectionStateChange(s)) => {
                tracing::debug!(participant = %key.participant, side = ?key.side, "ICE {s:?}");
                let Some(peer) = self.endpoint.peer_mut(key) else {
                    return;
                };
                if peer.path.change(s) {
                    // The path is back after an outage (a changed network, an ICE restart):
                    // what was sent meanwhile is lost for good, older than any resend cache,
                    // and a picture waiting for it would freeze until the browser asks for a
                    // keyframe itself (after 3 s). Ask now.
                    match key.side {
                        Side::Subscriber => self.refresh_received_video(key.participant, now),
                        Side::Publisher => self.refresh_published_video(key.participant, now),
                    }
                }
            }
            _ => {}
        }
    }

    /// Asks for a keyframe of every video `id` receives (its ready slots' layers).
    fn refresh_received_video(&mut self, id: ParticipantId, now: Instant) {
        let wanted: Vec<(TrackRef, usize)> = self
            .router
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
        self.request_keyframes(wanted, now);
    }

    /// Asks `id` for a keyframe of every layer of its video tracks that someone receives.
    fn refresh_published_video(&mut self, id: ParticipantId, now: Instant) {
        let wanted: Vec<(TrackRef, usize)> = self
            .router
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
                            .router
                            .subscriptions
                            .slots_of(r)
                            .iter()
                            .filter_map(|sub| {
                                self.router
                                    .media
                                    .get(&sub.participant)?
                                    .slots
                                    .get(sub.slot)?
                                    .selector
                                    .current()
                            })
                            .collect();
                        // One request per layer: a second inside the throttle would come later.
                        layers.sort_unstable();
                        layers.dedup();
                        layers.into_iter().map(move |l| (r, l))
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.request_keyframes(wanted, now);
    }

    /// [`Sfu::request_keyframe`] for each (track, layer).
    fn request_keyframes(&mut self, wanted: Vec<(TrackRef, usize)>, now: Instant) {
        for (t, layer) in wanted {
            self.request_keyframe(t, layer, now);
        }
    }

    /// Asks a publisher for a keyframe of one layer, throttled per layer.
    pub(crate) fn request_keyframe(&mut self, t: TrackRef, layer: usize, now: Instant) {
        let window = self.config.keyframe_throttle;
        let Some(p) = self.router.media.get_mut(&t.publisher) else {
            return;
        };
        let Some(track) = p.track_mut(t.source) else {
            return;
        };
        if track.kind() != MediaKind::Video {
            return;
        }
        let Some(l) = track.layers.get_mut(layer) else {
            return;
        };
        if l.keyframes.request(now, window) {
            self.send_keyframe_request(t, layer);
        }
    }

    fn send_keyframe_request(&mut self, t: TrackRef, layer: usize) {
        let Some(p) = self.router.media.get_mut(&t.publisher) else {
            return;
        };
        p.forwarded.keyframe_requests += 1;
        let Some((mid, rid, ssrc)) = p.track(t.source).and_then(|t| {
            let l = t.layers.get(layer)?;
            Some((t.mid, l.rid, l.ssrc))
        }) else {
            return;
        };
        let Some(rtc) = self.endpoint.rtc_mut(t.publisher, Side::Publisher) else {
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
        if self.config.record_decisions {
            self.decisions.push(Decision::KeyframeRequested {
                from: t.publisher,
                source: t.source,
            });
        }
        self.mark_dirty(PeerKey {
            participant: t.publisher,
            side: Side::Publisher,
        });
    }

    pub(crate) fn send_deferred_keyframe_requests(&mut self, now: Instant) {
        let window = self.config.keyframe_throttle;
        let mut due: Vec<(TrackRef, usize)> = Vec::new();
        for (&id, p) in self.router.media.iter_mut() {
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
            self.send_keyframe_request(t, layer);
        }
    }
}
