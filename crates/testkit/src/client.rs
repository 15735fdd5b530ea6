//! A simulated browser: a publishing and a subscribing str0m connection, media generators and
//! counters of what it received per (participant, source).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::rtp::{RtpWrite, Ssrc};
use str0m::{Candidate, Event, Rtc};
use summit_proto::{ParticipantId, PublishedTrackInfo, SubscribedTrack, TrackSource};

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
    /// Sequence numbers received on the channel, in order of arrival.
    pub channel_seqs: Vec<u64>,
    /// Keyframes requested of this client's camera.
    pub keyframe_requests: u64,
    pub(crate) send_keyframe: bool,
    pub(crate) seq: HashMap<Mid, u64>,
    pub(crate) next_audio: Instant,
    pub(crate) next_video: Instant,
    pub(crate) frames: u64,
    /// Stop sending heartbeats (a dead network).
    pub silent: bool,
    /// Removed by the server.
    pub disconnected: bool,
}

fn rtc(now: Instant, addr: SocketAddr) -> Rtc {
    let mut rtc = Rtc::builder().set_rtp_mode(true).build(now);
    rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
    rtc
}

impl SimClient {
    /// A new page for participant `id` with two addresses.
    pub fn new(
        id: ParticipantId,
        now: Instant,
        pub_addr: SocketAddr,
        sub_addr: SocketAddr,
    ) -> Self {
        Self {
            id,
            publisher: rtc(now, pub_addr),
            subscriber: rtc(now, sub_addr),
            pub_addr,
            sub_addr,
            pub_pending: None,
            audio: None,
            video: None,
            mapping: Vec::new(),
            received: HashMap::new(),
            unmapped: 0,
            channel_mid: None,
            channel_seqs: Vec::new(),
            keyframe_requests: 0,
            send_keyframe: true,
            seq: HashMap::new(),
            next_audio: now,
            // Video frames fall between audio packets, so no two streams write in the same
            // millisecond and str0m's internal stream order cannot change what is sent first.
            next_video: now + Duration::from_millis(7),
            frames: 0,
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
        let mut api = self.publisher.sdp_api();
        let a = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let v =
            video.then(|| api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        let (offer, pending) = api.apply().unwrap();
        self.pub_pending = Some(pending);
        self.audio = Some(a);
        self.video = v;
        let mut tracks = vec![PublishedTrackInfo {
            mid: a.to_string(),
            source: TrackSource::Microphone,
        }];
        tracks.extend(v.map(|v| PublishedTrackInfo {
            mid: v.to_string(),
            source: TrackSource::Camera,
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
    ) -> String {
        self.mapping = tracks;
        self.channel_mid = channel_mid;
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        let answer = self.subscriber.sdp_api().accept_offer(offer).unwrap();
        answer.to_sdp_string()
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
        if let Some(mid) = self.video {
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
        stream.write_rtp(
            RtpWrite::new(pt, s.into(), ts, at, payload)
                .marker(marker)
                .nackable(!kind_audio),
        );
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
            match m {
                Some(t) => *self.received.entry((t.participant, t.source)).or_default() += 1,
                None => self.unmapped += 1,
            }
        }
    }

    pub(crate) fn on_publisher_event(&mut self, e: Event) {
        if let Event::KeyframeRequest(_) = e {
            self.keyframe_requests += 1;
            self.send_keyframe = true;
        }
    }
}
