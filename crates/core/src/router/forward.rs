//! Forwarding one RTP packet: classify it (which track, layer and codec), give it to the
//! recording, then for each subscription select, rewrite and write it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::Pt;
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite};
use summit_proto::{ParticipantId, TrackSource};

use crate::decision::Decision;
use crate::endpoint::peer::{PeerKey, Side};
use crate::endpoint::Endpoint;
use crate::router::codec::{VideoCodec, Vp8Renumbered};
use crate::router::layer_selector::Selection;
use crate::router::subscription::SlotRef;
use crate::router::track::TrackRef;
use crate::router::{Media, Router};
use crate::RecordedPacket;

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

/// What a packet from a publisher is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Classified {
    pub(crate) track: TrackRef,
    /// The track's place in its publisher's list.
    idx: usize,
    /// The simulcast layer it belongs to (0 for a track sent as one stream).
    layer: usize,
    pt: Pt,
    codec: VideoCodec,
    clock_rate: u32,
    /// RFC 2198 redundant audio around the codec's frames.
    red: bool,
    /// A host muted this microphone: nothing of it goes anywhere.
    pub(crate) held_by_host: bool,
}

impl Classified {
    fn video(&self) -> bool {
        !self.track.source.is_audio()
    }
}

/// What one packet became for one subscription.
enum Delivery {
    /// Written, with this outgoing sequence number.
    Sent(u64),
    /// Not written: the slot waits for a keyframe of its layer.
    NeedsKeyframe,
    /// Not written: not this slot's layer, or the slot is not ready for media.
    Skipped,
}

/// What one packet became for all of its track's subscriptions.
#[derive(Default)]
struct FanOut {
    sent: u64,
    sent_bytes: u64,
    needs_keyframe: bool,
}

impl Router {
    /// Which track and layer a packet belongs to (learning a new SSRC from its m-line and rid),
    /// in which codec (cached by payload type); meters the layer's rate.
    pub(crate) fn classify(
        &mut self,
        endpoint: &mut Endpoint,
        from: ParticipantId,
        now: Instant,
        pkt: &RtpPacket,
    ) -> Option<Classified> {
        let publisher = self.media.get_mut(&from)?;
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
                let (mid, rid) = endpoint
                    .rtc_mut(from, Side::Publisher)?
                    .direct_api()
                    .stream_rx(&ssrc)
                    .map(|s| (s.mid(), s.rid()))?;
                let i = publisher.tracks.iter().position(|t| t.mid == mid)?;
                let layers = &mut publisher.tracks[i].layers;
                let l = match rid {
                    Some(rid) => layers.iter().position(|l| l.rid == Some(rid)),
                    // No rid: the one stream, or simulcast the answer did not keep (the
                    // browser then sends its first, lowest, encoding alone).
                    None => Some(0),
                }?;
                layers.get_mut(l)?.ssrc = Some(ssrc);
                (i, l)
            }
        };
        let (codec, clock_rate, red) = match publisher.tracks[idx].codec {
            Some((p, c, r, red)) if p == pt => (c, r, red),
            _ => {
                let params = endpoint
                    .rtc(from, Side::Publisher)?
                    .codec_config()
                    .find(|p| p.pt() == pt || p.red() == Some(pt))?;
                let c = crate::router::codec::video_codec(params.spec().codec);
                let r = params.spec().clock_rate.get();
                let red = params.pt() != pt;
                publisher.tracks[idx].codec = Some((pt, c, r, red));
                (c, r, red)
            }
        };
        let track = &mut publisher.tracks[idx];
        if let Some(l) = track.layers.get_mut(layer) {
            l.rate.add(now, pkt.payload.len());
        }
        let source = track.source;
        Some(Classified {
            track: TrackRef {
                publisher: from,
                source,
            },
            idx,
            layer,
            pt,
            codec,
            clock_rate,
            red,
            held_by_host: source == TrackSource::Microphone && publisher.muted_by_host,
        })
    }

    /// Gives the packet to the recording, which takes the best layer being sent and switches at
    /// keyframes like a slot (asking for one when it needs one). Returns the packet for the
    /// recording, if it takes this one.
    pub(crate) fn tap_recording(
        &mut self,
        endpoint: &mut Endpoint,
        c: &Classified,
        pkt: &RtpPacket,
        now: Instant,
    ) -> Option<RecordedPacket> {
        let track = self
            .media
            .get_mut(&c.track.publisher)
            .filter(|p| p.recording)
            .and_then(|p| p.tracks.get_mut(c.idx))?;
        let video = c.video();
        let best = track.best_live_layer(now);
        let tap = &mut track.tap;
        let payload = &pkt.payload;
        let mut keyframe = None;
        tap.selector.set_target(Some(best));
        let take = match tap
            .selector
            .select(c.layer, || !video || c.codec.is_keyframe_start(payload))
        {
            Selection::Forward => {
                if tap.selector.switching() {
                    // A better (or the only remaining) layer: move at its next keyframe.
                    keyframe = Some(best);
                }
                true
            }
            Selection::Switch => {
                tap.forwarder.switch_source(video);
                true
            }
            Selection::WaitForKeyframe => {
                keyframe = Some(c.layer);
                false
            }
            Selection::Drop => false,
        };
        let mapped = take
            .then(|| {
                tap.forwarder
                    .map(*pkt.seq_no, pkt.header.timestamp, c.clock_rate, now, || {
                        video && c.codec.is_keyframe_start(payload)
                    })
            })
            .flatten();
        if let Some(layer) = keyframe {
            self.request_keyframe(endpoint, c.track, layer, now);
        }
        mapped.map(|(seq, timestamp)| RecordedPacket {
            publisher: c.track.publisher,
            source: c.track.source,
            seq,
            timestamp,
            clock_rate: c.clock_rate,
            marker: pkt.header.marker,
            red: c.red,
            payload: pkt.payload.clone(),
        })
    }

    /// Delivers the packet to every slot its track feeds, counts what was sent for the
    /// publisher, and asks for a keyframe when a slot waits for one.
    pub(crate) fn fan_out(
        &mut self,
        endpoint: &mut Endpoint,
        c: &Classified,
        pkt: &RtpPacket,
        now: Instant,
    ) {
        let Router {
            media,
            subscriptions,
            decisions,
            ..
        } = self;
        let exts = ExtensionValues {
            audio_level: pkt.header.ext_vals.audio_level,
            voice_activity: pkt.header.ext_vals.voice_activity,
            video_orientation: pkt.header.ext_vals.video_orientation,
            ..Default::default()
        };
        // Subscribers that switched layers together renumber this packet alike: one copy.
        let mut renumbered = Vp8Renumbered::default();
        let mut fan = FanOut::default();
        for &at in subscriptions.slots_of(c.track) {
            match deliver(media, endpoint, c, pkt, &exts, at, now, &mut renumbered) {
                Delivery::Sent(seq) => {
                    fan.sent += 1;
                    fan.sent_bytes += pkt.payload.len() as u64;
                    if let Some(decisions) = decisions {
                        decisions.push(Decision::Forwarded {
                            from: c.track.publisher,
                            source: c.track.source,
                            to: at.participant,
                            seq,
                        });
                    }
                    let key = PeerKey {
                        participant: at.participant,
                        side: Side::Subscriber,
                    };
                    endpoint.mark_dirty(key);
                }
                Delivery::NeedsKeyframe => fan.needs_keyframe = true,
                Delivery::Skipped => {}
            }
        }
        if let Some(publisher) = self.media.get_mut(&c.track.publisher) {
            publisher.forwarded.forwarded_packets += fan.sent;
            publisher.forwarded.forwarded_bytes += fan.sent_bytes;
        }
        if fan.needs_keyframe {
            self.request_keyframe(endpoint, c.track, c.layer, now);
        }
    }
}

/// One packet to one slot: select (is it the slot's layer, and may the slot take it now),
/// rewrite (sequence number, timestamp, payload type, VP8 picture numbering), write.
#[allow(clippy::too_many_arguments)]
fn deliver(
    media: &mut BTreeMap<ParticipantId, Media>,
    endpoint: &mut Endpoint,
    c: &Classified,
    pkt: &RtpPacket,
    exts: &ExtensionValues,
    at: SlotRef,
    now: Instant,
    renumbered: &mut Vp8Renumbered,
) -> Delivery {
    let video = c.video();
    let payload = &pkt.payload;
    let is_keyframe = || video && c.codec.is_keyframe_start(payload);
    // Select.
    let Some(slot) = media
        .get_mut(&at.participant)
        .and_then(|p| p.slots.get_mut(at.slot))
    else {
        return Delivery::Skipped;
    };
    let Some(mut rtc) = endpoint.rtc_mut(at.participant, Side::Subscriber) else {
        return Delivery::Skipped;
    };
    if !slot.ready() || !rtc.is_connected() {
        return Delivery::Skipped;
    }
    let Some(mid) = slot.mid else {
        return Delivery::Skipped;
    };
    match slot.selector.select(c.layer, || !video || is_keyframe()) {
        Selection::Forward => {}
        Selection::Switch => {
            // Continue the outgoing stream from this layer (after a pause too).
            slot.forwarder.switch_source(video);
            slot.vp8.switch_source();
        }
        Selection::WaitForKeyframe => return Delivery::NeedsKeyframe,
        Selection::Drop => return Delivery::Skipped,
    }
    // Rewrite.
    let seq = *pkt.seq_no;
    let Some((out_seq, out_ts)) =
        slot.forwarder
            .map(seq, pkt.header.timestamp, c.clock_rate, now, is_keyframe)
    else {
        return if video && slot.forwarder.waiting_for_keyframe() {
            Delivery::NeedsKeyframe
        } else {
            Delivery::Skipped
        };
    };
    let out_pt = match slot.pt_map {
        Some((i, o)) if i == c.pt => o,
        _ => {
            // Once per slot and payload type: both connections' codecs are read.
            let Some(o) = subscriber_pt(endpoint, c, at.participant) else {
                return Delivery::Skipped;
            };
            slot.pt_map = Some((c.pt, o));
            let Some(r) = endpoint.rtc_mut(at.participant, Side::Subscriber) else {
                return Delivery::Skipped;
            };
            rtc = r;
            o
        }
    };
    let payload = match c.codec {
        VideoCodec::Vp8 => slot.vp8.rewrite_shared(&pkt.payload, renumbered),
        _ => pkt.payload.clone(),
    };
    // Write.
    let mut api = rtc.direct_api();
    let Some(stream) = api.stream_tx_by_mid(mid, None) else {
        return Delivery::Skipped;
    };
    if !slot.resends_configured {
        // Once the m-line exists in str0m.
        stream.set_rtx_cache(
            RESEND_CACHE_PACKETS,
            RESEND_CACHE_AGE,
            Some(RESEND_SHARE_CAP),
        );
        slot.resends_configured = true;
    }
    stream.write_rtp(
        RtpWrite::new(out_pt, out_seq.into(), out_ts, pkt.timestamp, payload)
            .marker(pkt.header.marker)
            .ext_vals(exts.clone())
            .nackable(true),
    );
    Delivery::Sent(out_seq)
}

/// The subscriber's payload type for what the publisher sends as `c.pt`.
fn subscriber_pt(endpoint: &Endpoint, c: &Classified, subscriber: ParticipantId) -> Option<Pt> {
    map_pt(
        endpoint.rtc(c.track.publisher, Side::Publisher)?,
        endpoint.rtc(subscriber, Side::Subscriber)?,
        c.pt,
    )
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
