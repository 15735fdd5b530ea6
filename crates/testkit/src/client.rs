//! A simulated browser: a publishing and a subscribing str0m connection, media generators and
//! counters of what it received per (participant, source).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::rtp::{ExtensionValues, RtpWrite, Ssrc};
use str0m::{Candidate, Event, Rtc};
use summit_proto::{
    LayerInfo, ParticipantId, PublishedTrackInfo, SubscribedTrack, SwitchedSlot, TrackSource,
};

/// The simulated camera's simulcast layers, lowest first: rid, size, and per 40 ms frame the
/// packets and payload bytes each (about 110, 330 and 900 kbit/s with overheads).
pub const LAYERS: [(&str, u32, u32, usize, usize); 3] = [
    ("l", 320, 180, 1, 500),
    ("m", 640, 360, 2, 750),
    ("h", 1280, 720, 4, 1050),
];

/// Where the simulated payloads carry their layer: after the VP8 header in a frame's first
/// packet, after the descriptor's first byte in the others.
fn layer_of(payload: &[u8]) -> Option<u8> {
    let first = payload.first()? & 0x10 != 0;
    payload.get(if first { 5 } else { 1 }).copied()
}

/// One change of the layer a subscriber receives of one video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerChange {
    /// When (virtual time).
    pub at: Instant,
    /// The layer now received (index into [`LAYERS`]); a change to the same layer is a
    /// resumption after a pause of a second or more.
    pub layer: u8,
    /// Whether the first packet of the new layer starts a keyframe.
    pub keyframe: bool,
}

/// A simulated participant's page.
pub struct SimClient {
    /// Their id, from `welcome`.
    pub id: ParticipantId,
    /// Publishing connection.
    pub publisher: Rtc,
    /// Subscribing connection.
    pub subscriber: Rtc,
    /// Address of the publishing connection.
    pub pub_addr: SocketAddr,
    /// Address of the subscribing connection.
    pub sub_addr: SocketAddr,
    pub(crate) pub_pending: Option<SdpPendingOffer>,
    pub(crate) audio: Option<Mid>,
    pub(crate) video: Option<Mid>,
    /// What each subscribed mid carries, from the last `subscribe_offer`.
    pub mapping: Vec<SubscribedTrack>,
    /// Packets received, by (publisher, source).
    pub received: HashMap<(ParticipantId, TrackSource), u64>,
    /// Packets received on mids the mapping does not name.
    pub unmapped: u64,
    /// The mid carrying the language channel this page listens to.
    pub channel_mid: Option<String>,
    /// The mids of the speaker slots (from the last `subscribe_offer`).
    pub speaker_mids: Vec<String>,
    /// The mids of the video slots (from the last `subscribe_offer`).
    pub video_mids: Vec<String>,
    /// The mid of the screen slot (from the last `subscribe_offer`).
    pub screen_mid: Option<String>,
    /// Video m-lines in the last `subscribe_offer`, active or not.
    pub video_m_lines: usize,
    /// `subscribe_offer`s received.
    pub offers: usize,
    /// The RFC 6464 level (dBov: 0 the loudest, -127 silence) its microphone packets carry.
    pub level: i8,
    /// Sequence numbers received on the channel, in order of arrival.
    pub channel_seqs: Vec<u64>,
    /// Keyframes requested of this client's camera.
    pub keyframe_requests: u64,
    pub(crate) send_keyframe: bool,
    pub(crate) seq: HashMap<Mid, u64>,
    pub(crate) next_audio: Instant,
    pub(crate) next_video: Instant,
    pub(crate) frames: u64,
    /// Publish the camera in the three [`LAYERS`] (set before publishing).
    pub simulcast: bool,
    /// Its video is a shared screen rather than a camera (set before publishing).
    pub shares_screen: bool,
    /// Per (publisher, source) of simulcast video received: each change of layer, in order.
    pub layer_changes: HashMap<(ParticipantId, TrackSource), Vec<LayerChange>>,
    /// Per (publisher, source): video packets received, by layer.
    pub layer_packets: HashMap<(ParticipantId, TrackSource), [u64; 3]>,
    layer_last: HashMap<(ParticipantId, TrackSource), Instant>,
    layer_seq_seen: HashMap<(ParticipantId, TrackSource), u64>,
    /// Keyframes asked for, by simulcast layer.
    pub(crate) layer_keyframe: [bool; 3],
    pub(crate) layer_seq: [u64; 3],
    /// The virtual time of the input being handled (set by the harness).
    pub(crate) subscriber_now: Instant,
    /// Stop sending heartbeats (a dead network).
    pub silent: bool,
    /// Removed by the server.
    pub disconnected: bool,
}

/// A simulated page's connection on `addr`; with `red`, it offers RED for Opus as Chromium does.
fn rtc(now: Instant, addr: SocketAddr, red: bool) -> Rtc {
    let mut builder = Rtc::builder().set_rtp_mode(true);
    if red {
        builder = builder.enable_opus(true, true);
    }
    let mut rtc = builder.build(now);
    // A host candidate on a fixed, valid test address: it cannot fail.
    rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
    rtc
}

impl SimClient {
    /// This page's receiving connection offers RED for Opus, as Chromium does (before it has
    /// negotiated anything).
    pub fn receive_red(&mut self, now: Instant) {
        self.subscriber = rtc(now, self.sub_addr, true);
    }

    /// A new page for participant `id` with two addresses.
    pub fn new(
        id: ParticipantId,
        now: Instant,
        pub_addr: SocketAddr,
        sub_addr: SocketAddr,
    ) -> Self {
        Self {
            id,
            publisher: rtc(now, pub_addr, false),
            subscriber: rtc(now, sub_addr, false),
            pub_addr,
            sub_addr,
            pub_pending: None,
            audio: None,
            video: None,
            mapping: Vec::new(),
            received: HashMap::new(),
            unmapped: 0,
            channel_mid: None,
            speaker_mids: Vec::new(),
            video_mids: Vec::new(),
            screen_mid: None,
            shares_screen: false,
            video_m_lines: 0,
            offers: 0,
            level: -127,
            channel_seqs: Vec::new(),
            keyframe_requests: 0,
            send_keyframe: true,
            seq: HashMap::new(),
            next_audio: now,
            // Video frames fall between audio packets, so no two streams write in the same
            // millisecond and str0m's internal stream order cannot change what is sent first.
            next_video: now + Duration::from_millis(7),
            frames: 0,
            simulcast: false,
            subscriber_now: now,
            layer_changes: HashMap::new(),
            layer_packets: HashMap::new(),
            layer_last: HashMap::new(),
            layer_seq_seen: HashMap::new(),
            layer_keyframe: [true; 3],
            layer_seq: [0; 3],
            silent: false,
            disconnected: false,
        }
    }

    /// Makes the publishing offer (microphone and camera) and the track list to send with it.
    pub fn publish_offer(&mut self) -> (String, Vec<PublishedTrackInfo>) {
        self.publish_offer_with(true)
    }

    /// Makes a publishing offer: the microphone, and the camera if `video`.
    pub fn publish_offer_with(&mut self, video: bool) -> (String, Vec<PublishedTrackInfo>) {
        let simulcast = self.simulcast.then(|| {
            let mut s = Simulcast::new();
            for (rid, ..) in LAYERS {
                s.add_send_layer(SimulcastLayer::new(rid));
            }
            s
        });
        let mut api = self.publisher.sdp_api();
        let a = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let v = video
            .then(|| api.add_media(MediaKind::Video, Direction::SendOnly, None, None, simulcast));
        let (offer, pending) = api.apply().unwrap();
        self.pub_pending = Some(pending);
        self.audio = Some(a);
        self.video = v;
        let mut tracks = vec![PublishedTrackInfo {
            mid: a.to_string(),
            source: TrackSource::Microphone,
            layers: Vec::new(),
        }];
        let layers = if self.simulcast {
            LAYERS
                .iter()
                .map(|&(rid, width, height, ..)| LayerInfo {
                    rid: rid.into(),
                    width,
                    height,
                })
                .collect()
        } else {
            Vec::new()
        };
        let source = if self.shares_screen {
            TrackSource::Screen
        } else {
            TrackSource::Camera
        };
        tracks.extend(v.map(|v| PublishedTrackInfo {
            mid: v.to_string(),
            source,
            layers,
        }));
        (offer.to_sdp_string(), tracks)
    }

    /// Applies the server's answer to the publishing offer.
    pub fn accept_publish_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).unwrap();
        let pending = self.pub_pending.take().unwrap();
        self.publisher
            .sdp_api()
            .accept_answer(pending, answer)
            .unwrap();
    }

    /// Answers a subscribe offer.
    pub fn answer_subscribe(
        &mut self,
        sdp: &str,
        tracks: Vec<SubscribedTrack>,
        channel_mid: Option<String>,
        speaker_mids: Vec<String>,
        video_mids: Vec<String>,
    ) -> String {
        self.mapping = tracks;
        self.channel_mid = channel_mid;
        self.speaker_mids = speaker_mids;
        self.video_mids = video_mids;
        self.video_m_lines = sdp.matches("m=video").count();
        self.offers += 1;
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        let answer = self.subscriber.sdp_api().accept_offer(offer).unwrap();
        answer.to_sdp_string()
    }

    /// The server says whom its speaker slots (`Microphone`) or video slots (`Camera`) carry
    /// now: the mapping follows, as a page's.
    pub fn switched_slots(&mut self, slots: &[SwitchedSlot], source: TrackSource) {
        self.mapping
            .retain(|t| !slots.iter().any(|s| s.mid == t.mid));
        for s in slots {
            if let Some(participant) = s.participant {
                self.mapping.push(SubscribedTrack {
                    mid: s.mid.clone(),
                    participant,
                    source,
                });
            }
        }
    }

    /// Whose screen its screen slot carries now.
    pub fn screen(&self) -> Option<ParticipantId> {
        let mid = self.screen_mid.as_ref()?;
        self.mapping
            .iter()
            .find(|t| &t.mid == mid)
            .map(|t| t.participant)
    }

    /// The cameras its video slots carry now.
    pub fn sees(&self) -> Vec<ParticipantId> {
        self.carried_on(&self.video_mids)
    }

    /// The speakers its speaker slots carry now.
    pub fn hears(&self) -> Vec<ParticipantId> {
        self.carried_on(&self.speaker_mids)
    }

    /// Whom the m-lines `mids` carry now, as the page was told.
    fn carried_on(&self, mids: &[String]) -> Vec<ParticipantId> {
        self.mapping
            .iter()
            .filter(|t| mids.contains(&t.mid))
            .map(|t| t.participant)
            .collect()
    }

    /// Video packets this client has sent (two per frame).
    pub fn video_packets_sent(&self) -> u64 {
        self.frames * 2
    }

    /// Packets received from `from`'s `source`.
    pub fn got(&self, from: ParticipantId, source: TrackSource) -> u64 {
        self.received.get(&(from, source)).copied().unwrap_or(0)
    }

    /// Writes audio (50 packets/s) and video (25 frames/s, 2 packets each) that are due.
    pub(crate) fn generate(&mut self, now: Instant) {
        if !self.publisher.is_connected() {
            // Media starts when connected, with no backlog.
            self.next_audio = now;
            self.next_video = now + Duration::from_millis(7);
            return;
        }
        if let Some(mid) = self.audio {
            while self.next_audio <= now {
                self.next_audio += Duration::from_millis(20);
                self.write(now, mid, 111, vec![0xfc; 80], true, 960);
            }
        }
        if let (Some(mid), true) = (self.video, self.simulcast) {
            while self.next_video <= now {
                self.next_video += Duration::from_millis(40);
                self.frames += 1;
                self.write_layers(now, mid);
            }
        }
        if let (Some(mid), false) = (self.video, self.simulcast) {
            while self.next_video <= now {
                self.next_video += Duration::from_millis(40);
                self.frames += 1;
                let key = std::mem::take(&mut self.send_keyframe) || self.frames % 100 == 1;
                let first = vec![0x10, if key { 0x00 } else { 0x01 }, 0x9d, 0x01, 0x2a];
                self.write(now, mid, 96, [first, vec![0u8; 900]].concat(), false, 0);
                self.write(
                    now,
                    mid,
                    96,
                    [vec![0x00], vec![1u8; 600]].concat(),
                    true,
                    3600,
                );
            }
        }
    }

    /// One frame in each simulcast layer; each layer's keyframes come on request and every
    /// 4 s, as an encoder's would.
    fn write_layers(&mut self, now: Instant, mid: Mid) {
        let Some(pt) = self
            .publisher
            .codec_config()
            .find(|p| p.spec().codec == str0m::format::Codec::Vp8)
            .map(|p| p.pt())
        else {
            return;
        };
        for (i, &(rid, _, _, packets, size)) in LAYERS.iter().enumerate() {
            let key = std::mem::take(&mut self.layer_keyframe[i]) || self.frames % 100 == 1;
            let ts = (self.frames as u32)
                .wrapping_mul(3600)
                .wrapping_add(i as u32 * 1_000_000);
            for k in 0..packets {
                let mut payload = if k == 0 {
                    vec![0x10, if key { 0x00 } else { 0x01 }, 0x9d, 0x01, 0x2a]
                } else {
                    vec![0x00]
                };
                payload.push(i as u8);
                payload.resize(size, 0);
                self.layer_seq[i] += 1;
                let seq = 1000 * (i as u64 + 1) + self.layer_seq[i];
                let mut api = self.publisher.direct_api();
                let Some(stream) = api.stream_tx_by_mid(mid, Some(Rid::from(rid))) else {
                    return;
                };
                stream.write_rtp(
                    RtpWrite::new(pt, seq.into(), ts, now, payload)
                        .marker(k + 1 == packets)
                        .nackable(true),
                );
            }
        }
    }

    fn write(
        &mut self,
        at: Instant,
        mid: Mid,
        pt_hint: u8,
        payload: Vec<u8>,
        marker: bool,
        ts_step: u32,
    ) {
        let kind_audio = Some(mid) == self.audio;
        let pt = self
            .publisher
            .codec_config()
            .find(|p| {
                let c = p.spec().codec;
                if kind_audio {
                    c == str0m::format::Codec::Opus
                } else {
                    c == str0m::format::Codec::Vp8
                }
            })
            .map(|p| p.pt())
            .unwrap_or(pt_hint.into());
        // Pages start their streams far apart in sequence space, as browsers (random) do.
        let first = 100 + (self.id.0 * 7919) % 30_000;
        let seq = self.seq.entry(mid).or_insert(first);
        *seq += 1;
        let s = *seq;
        let ts = (s as u32)
            .wrapping_mul(if kind_audio { 960 } else { 1800 })
            .wrapping_add(ts_step);
        let mut api = self.publisher.direct_api();
        let Some(stream) = api.stream_tx_by_mid(mid, None) else {
            return;
        };
        let mut write = RtpWrite::new(pt, s.into(), ts, at, payload)
            .marker(marker)
            .nackable(!kind_audio);
        if kind_audio {
            write = write.ext_vals(ExtensionValues {
                audio_level: Some(self.level),
                // str0m writes the level only with the voice activity flag.
                voice_activity: Some(self.level > -127),
                ..Default::default()
            });
        }
        stream.write_rtp(write);
    }

    /// Counts a received event.
    pub(crate) fn on_subscriber_event(&mut self, e: Event) {
        if let Event::RtpPacket(p) = e {
            let ssrc: Ssrc = p.header.ssrc;
            let mid = self
                .subscriber
                .direct_api()
                .stream_rx(&ssrc)
                .map(|s| s.mid());
            let mid = mid.map(|m| m.to_string());
            if mid.is_some() && mid == self.channel_mid {
                self.channel_seqs.push(*p.seq_no);
                return;
            }
            let m = mid.and_then(|mid| self.mapping.iter().find(|t| t.mid == mid));
            let Some(t) = m else {
                self.unmapped += 1;
                return;
            };
            let key = (t.participant, t.source);
            *self.received.entry(key).or_default() += 1;
            if t.source == TrackSource::Camera {
                self.note_layer(key, *p.seq_no, &p.payload);
            }
        }
    }

    /// Follows which simulcast layer of a video arrives (simulated payloads say).
    fn note_layer(&mut self, key: (ParticipantId, TrackSource), seq: u64, payload: &[u8]) {
        let Some(layer) = layer_of(payload).filter(|&l| usize::from(l) < LAYERS.len()) else {
            return;
        };
        // A retransmission of an older packet says nothing about what is received now.
        let newest = self.layer_seq_seen.entry(key).or_insert(0);
        if seq < *newest {
            return;
        }
        *newest = seq;
        self.layer_packets.entry(key).or_default()[usize::from(layer)] += 1;
        let now = self.subscriber_now;
        // A pause (nothing for a second) ends like a switch: it must resume at a keyframe.
        let resumed = self
            .layer_last
            .insert(key, now)
            .is_some_and(|t| now.saturating_duration_since(t) > Duration::from_secs(1));
        let changes = self.layer_changes.entry(key).or_default();
        if resumed || changes.last().map(|c| c.layer) != Some(layer) {
            let keyframe = payload.len() > 1 && payload[0] & 0x10 != 0 && payload[1] & 0x01 == 0;
            changes.push(LayerChange {
                at: self.subscriber_now,
                layer,
                keyframe,
            });
        }
    }

    /// The layer of `from`'s camera received last, if any.
    pub fn layer_now(&self, from: ParticipantId) -> Option<u8> {
        self.layer_changes
            .get(&(from, TrackSource::Camera))
            .and_then(|c| c.last())
            .map(|c| c.layer)
    }

    pub(crate) fn on_publisher_event(&mut self, e: Event) {
        if let Event::KeyframeRequest(req) = e {
            self.keyframe_requests += 1;
            self.send_keyframe = true;
            let layer = req
                .rid
                .and_then(|rid| LAYERS.iter().position(|(r, ..)| Rid::from(*r) == rid));
            match layer {
                Some(i) => self.layer_keyframe[i] = true,
                None => self.layer_keyframe = [true; 3],
            }
        }
    }
}
