//! The media path: connection events, forwarding RTP to subscribers, keyframe requests.

use std::time::{Duration, Instant};

use str0m::bwe::BweKind;
use str0m::format::Codec;
use str0m::media::{KeyframeRequestKind, MediaKind, Pt};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use str0m::Event;
use summit_proto::{ParticipantId, TrackSource};

use crate::codec::{VideoCodec, Vp8Renumbered};
use crate::decision::Decision;
use crate::layer_selector::Selection;
use crate::metrics::StreamFigures;
use crate::output::Output;
use crate::peer::{PeerKey, Side};
use crate::track::TrackRef;
use crate::{RecordedPacket, Sfu};

/// How many sent packets, and for how long, each outgoing stream keeps to answer NACKs.
const RESEND_CACHE_PACKETS: usize = 2000;
const RESEND_CACHE_AGE: Duration = Duration::from_secs(3);
/// The share of an outgoing stream's bytes that may be resends before str0m drops the resends
/// it has queued. Its 15 % default is less than a link losing 10 % needs once bursts (a lost
/// keyframe) and repairs of repairs count: resends were dropped, and the picture stalled until
/// a later request got through (90 % of frames decoded instead of 94 % in a minute of
/// tests/browser/loss-figures.mjs). Half still keeps a storm of requests from crowding out the
/// stream itself.
const RESEND_SHARE_CAP: f32 = 0.5;

impl Sfu {
    pub(crate) fn on_event(&mut self, key: PeerKey, now: Instant, e: Event) {
        match (key.side, e) {
            (Side::Publisher, Event::RtpPacket(pkt)) => self.forward(key.participant, now, pkt),
            (Side::Subscriber, Event::KeyframeRequest(req)) => {
                // The subscriber lost its picture: ask for a keyframe of the layer it gets.
                let want = self.participants.get(&key.participant).and_then(|p| {
                    let s = p.slots.iter().find(|s| s.mid == Some(req.mid))?;
                    Some((s.track?, s.selector.current().or(s.selector.target())?))
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
                    .participants
                    .get(&key.participant)
                    .and_then(|p| p.tracks.iter().find(|t| t.mid == s.mid))
                    .is_some_and(|t| t.source.is_audio());
                let jitter = if audio { s.jitter } else { 0 };
                self.uplink_report(key.participant, now, s.loss, jitter, 48_000);
            }
            (Side::Subscriber, Event::MediaEgressStats(s)) => {
                if let Some(p) = self.participants.get_mut(&key.participant) {
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
                let Some(p) = self.participants.get_mut(&key.participant) else {
                    return;
                };
                if p.peer_mut(key.side).path.change(s) {
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

    /// Forwards one packet from a publisher to every slot its track feeds whose chosen layer it
    /// belongs to; a slot changes layer only at a keyframe of the layer it switches to.
    fn forward(&mut self, from: ParticipantId, now: Instant, pkt: RtpPacket) {
        let Some(publisher) = self.participants.get_mut(&from) else {
            return;
        };
        let ssrc = pkt.header.ssrc;
        let pt = pkt.header.payload_type;
        let found = publisher
            .tracks
            .iter()
            .enumerate()
            .find_map(|(i, t)| Some((i, t.layer_of(ssrc)?)));
        let (idx, layer) = match found {
            Some(f) => f,
            None => {
                // First packet of this SSRC: find its m-line, and its layer by rid.
                let Some((mid, rid)) = publisher
                    .publisher
                    .rtc
                    .direct_api()
                    .stream_rx(&ssrc)
                    .map(|s| (s.mid(), s.rid()))
                else {
                    return;
                };
                let Some(i) = publisher.tracks.iter().position(|t| t.mid == mid) else {
                    return;
                };
                let layers = &mut publisher.tracks[i].layers;
                let l = match rid {
                    Some(rid) => layers.iter().position(|l| l.rid == Some(rid)),
                    // No rid: the one stream, or simulcast the answer did not keep (the
                    // browser then sends its first, lowest, encoding alone).
                    None => Some(0),
                };
                let Some(l) = l else { return };
                let Some(entry) = layers.get_mut(l) else {
                    return;
                };
                entry.ssrc = Some(ssrc);
                (i, l)
            }
        };
        let codec_cache = publisher.tracks[idx].codec;
        let (codec, clock_rate, red) = match codec_cache {
            Some((p, c, r, red)) if p == pt => (c, r, red),
            _ => {
                let Some(params) = publisher
                    .publisher
                    .rtc
                    .codec_config()
                    .find(|p| p.pt() == pt || p.red() == Some(pt))
                else {
                    return;
                };
                let c = crate::codec::video_codec(params.spec().codec);
                let r = params.spec().clock_rate.get();
                let red = params.pt() != pt;
                publisher.tracks[idx].codec = Some((pt, c, r, red));
                (c, r, red)
            }
        };
        if let Some(l) = publisher.tracks[idx].layers.get_mut(layer) {
            l.rate.add(now, pkt.payload.len());
        }
        let source = publisher.tracks[idx].source;
        if source == TrackSource::Microphone && publisher.muted_by_host {
            return;
        }
        let video = !source.is_audio();
        // The recording takes the best layer being sent, switching at keyframes like a slot.
        let mut record_keyframe = None;
        if publisher.recording {
            let best = publisher.tracks[idx].best_live_layer(now);
            let tap = &mut publisher.tracks[idx].tap;
            let payload = &pkt.payload;
            tap.selector.set_target(Some(best));
            let take = match tap
                .selector
                .select(layer, || !video || codec.is_keyframe_start(payload))
            {
                Selection::Forward => {
                    if tap.selector.switching() {
                        // A better (or the only remaining) layer: move at its next keyframe.
                        record_keyframe = Some(best);
                    }
                    true
                }
                Selection::Switch => {
                    tap.forwarder.switch_source(video);
                    true
                }
                Selection::WaitForKeyframe => {
                    record_keyframe = Some(layer);
                    false
                }
                Selection::Drop => false,
            };
            let seq = *pkt.seq_no;
            let mapped = take
                .then(|| {
                    tap.forwarder
                        .map(seq, pkt.header.timestamp, clock_rate, now, || {
                            video && codec.is_keyframe_start(payload)
                        })
                })
                .flatten();
            if let Some((seq, timestamp)) = mapped {
                self.outputs.push_back(Output::Recorded(RecordedPacket {
                    publisher: from,
                    source,
                    seq,
                    timestamp,
                    clock_rate,
                    marker: pkt.header.marker,
                    red,
                    payload: pkt.payload.clone(),
                }));
            }
        }
        if let Some(l) = record_keyframe {
            self.request_keyframe(
                TrackRef {
                    publisher: from,
                    source,
                },
                l,
                now,
            );
        }
        #[cfg(feature = "danger-test-attacks")]
        let pkt = {
            let mut pkt = pkt;
            pkt.payload = self.attack_payload(from, source, pkt.payload.clone());
            pkt
        };
        let Some(publisher) = self.participants.get_mut(&from) else {
            return;
        };
        // Take the list out so subscribers can be borrowed mutably; put it back after.
        let subscribers = std::mem::take(&mut publisher.tracks[idx].subscribers);
        let exts = ExtensionValues {
            audio_level: pkt.header.ext_vals.audio_level,
            voice_activity: pkt.header.ext_vals.voice_activity,
            video_orientation: pkt.header.ext_vals.video_orientation,
            ..Default::default()
        };
        let seq: u64 = *pkt.seq_no;
        let ts = pkt.header.timestamp;
        let mut need_keyframe = false;
        let (mut sent, mut sent_bytes) = (0u64, 0u64);
        // Subscribers that switched layers together renumber this packet alike: one copy.
        let mut renumbered = Vp8Renumbered::default();
        for s in &subscribers {
            let Some(sub) = self.participants.get_mut(&s.participant) else {
                continue;
            };
            let Some(slot) = sub.slots.get_mut(s.slot) else {
                continue;
            };
            if !slot.ready() || !sub.subscriber.rtc.is_connected() {
                continue;
            }
            let Some(mid) = slot.mid else { continue };
            let payload = &pkt.payload;
            match slot
                .selector
                .select(layer, || !video || codec.is_keyframe_start(payload))
            {
                Selection::Forward => {}
                Selection::Switch => {
                    // Continue the outgoing stream from this layer (after a pause too).
                    slot.forwarder.switch_source(video);
                    slot.vp8.switch_source();
                }
                Selection::WaitForKeyframe => {
                    need_keyframe = true;
                    continue;
                }
                Selection::Drop => continue,
            }
            let Some((out_seq, out_ts)) = slot.forwarder.map(seq, ts, clock_rate, now, || {
                video && codec.is_keyframe_start(payload)
            }) else {
                need_keyframe |= video && slot.forwarder.waiting_for_keyframe();
                continue;
            };
            let out_pt = match slot.pt_map {
                Some((i, o)) if i == pt => o,
                _ => {
                    let Some(o) = self.participants.get(&from).and_then(|pp| {
                        map_pt(
                            &pp.publisher.rtc,
                            &self.participants.get(&s.participant)?.subscriber.rtc,
                            pt,
                        )
                    }) else {
                        continue;
                    };
                    if let Some(slot) = self
                        .participants
                        .get_mut(&s.participant)
                        .and_then(|p| p.slots.get_mut(s.slot))
                    {
                        slot.pt_map = Some((pt, o));
                    }
                    o
                }
            };
            let Some(sub) = self.participants.get_mut(&s.participant) else {
                continue;
            };
            let configure = sub
                .slots
                .get(s.slot)
                .is_some_and(|slot| !slot.resends_configured);
            let payload = match sub.slots.get_mut(s.slot) {
                Some(slot) if codec == VideoCodec::Vp8 => {
                    slot.vp8.rewrite_shared(&pkt.payload, &mut renumbered)
                }
                _ => pkt.payload.clone(),
            };
            let mut api = sub.subscriber.rtc.direct_api();
            let Some(stream) = api.stream_tx_by_mid(mid, None) else {
                continue;
            };
            if configure {
                stream.set_rtx_cache(
                    RESEND_CACHE_PACKETS,
                    RESEND_CACHE_AGE,
                    Some(RESEND_SHARE_CAP),
                );
            }
            stream.write_rtp(
                RtpWrite::new(out_pt, out_seq.into(), out_ts, pkt.timestamp, payload)
                    .marker(pkt.header.marker)
                    .ext_vals(exts.clone())
                    .nackable(true),
            );
            if configure {
                if let Some(slot) = sub.slots.get_mut(s.slot) {
                    slot.resends_configured = true;
                }
            }
            sent += 1;
            sent_bytes += pkt.payload.len() as u64;
            if self.config.record_decisions {
                self.decisions.push(Decision::Forwarded {
                    from,
                    source,
                    to: s.participant,
                    seq: out_seq,
                });
            }
            self.mark_dirty(PeerKey {
                participant: s.participant,
                side: Side::Subscriber,
            });
        }
        if let Some(publisher) = self.participants.get_mut(&from) {
            publisher.forwarded.forwarded_packets += sent;
            publisher.forwarded.forwarded_bytes += sent_bytes;
            if let Some(t) = publisher.tracks.get_mut(idx) {
                t.subscribers = subscribers;
            }
        }
        if need_keyframe {
            self.request_keyframe(
                TrackRef {
                    publisher: from,
                    source,
                },
                layer,
                now,
            );
        }
    }

    /// Asks for a keyframe of every video `id` receives (its ready slots' layers).
    fn refresh_received_video(&mut self, id: ParticipantId, now: Instant) {
        let wanted: Vec<(TrackRef, usize)> = self
            .participants
            .get(&id)
            .map(|p| {
                p.slots
                    .iter()
                    .filter(|s| s.ready() && s.kind == MediaKind::Video)
                    .filter_map(|s| Some((s.track?, s.selector.target()?)))
                    .collect()
            })
            .unwrap_or_default();
        self.request_keyframes(wanted, now);
    }

    /// Asks `id` for a keyframe of every layer of its video tracks that someone receives.
    fn refresh_published_video(&mut self, id: ParticipantId, now: Instant) {
        let wanted: Vec<(TrackRef, usize)> = self
            .participants
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
                        let mut layers: Vec<usize> = t
                            .subscribers
                            .iter()
                            .filter_map(|sub| {
                                self.participants
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
        let Some(p) = self.participants.get_mut(&t.publisher) else {
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
        let Some(p) = self.participants.get_mut(&t.publisher) else {
            return;
        };
        p.forwarded.keyframe_requests += 1;
        let Some((mid, rid, ssrc)) = p.track(t.source).and_then(|t| {
            let l = t.layers.get(layer)?;
            Some((t.mid, l.rid, l.ssrc))
        }) else {
            return;
        };
        let mut api = p.publisher.rtc.direct_api();
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
        for p in self.participants.values_mut() {
            for t in &mut p.tracks {
                for (i, l) in t.layers.iter_mut().enumerate() {
                    if l.keyframes.poll_deferred(now, window) {
                        let r = TrackRef {
                            publisher: p.id,
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

/// The subscriber's payload type for the codec the publisher sends as `pt`.
fn map_pt(publisher: &str0m::Rtc, subscriber: &str0m::Rtc, pt: Pt) -> Option<Pt> {
    let params = publisher
        .codec_config()
        .find(|p| p.pt() == pt || p.red() == Some(pt))?;
    let red = params.pt() != pt;
    let spec = params.spec();
    let theirs = subscriber.codec_config().find(|p| {
        let s = p.spec();
        s.codec == spec.codec
            && (spec.codec != Codec::H264
                || s.format.profile_level_id == spec.format.profile_level_id)
    })?;
    // RED (RFC 2198) goes out as RED, to a subscriber that negotiated it; an encrypted RED
    // payload cannot be unwrapped here for one that did not (docs/connectivity.md).
    if red {
        theirs.red()
    } else {
        Some(theirs.pt())
    }
}
