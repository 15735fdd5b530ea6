//! A simulated participant of the load generator: WebRTC connections (str0m in RTP mode, as the
//! SFU) on real UDP sockets, replaying the bench content with stamps and counting what arrives.
//! Signaling is someone else's job: the peer exchanges SDP with it over two channels.

use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite};
use str0m::{Candidate, Event, Input, Output, Rtc};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::content::Content;
use super::stamp::Stamp;
use super::tally::Tally;

/// Datagrams read from one socket per wake-up.
const RECV_BATCH: usize = 64;
const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// 30 frames/s.
const VIDEO_INTERVAL: Duration = Duration::from_nanos(33_333_333);

/// What a peer publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Media {
    /// A microphone.
    Audio,
    /// A microphone and a camera.
    AudioVideo,
}

/// A quiet microphone's RFC 6464 level (silence).
pub(crate) const QUIET_DBOV: i8 = -127;

/// One simulated participant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerSpec {
    /// Its number in the scenario; its streams are `2 * index` (audio) and `2 * index + 1`.
    pub(crate) index: u32,
    /// What it sends, if anything.
    pub(crate) publish: Option<Media>,
    /// Whether it receives.
    pub(crate) subscribe: bool,
    /// The RFC 6464 level its microphone packets carry (dBov: 0 the loudest, -127 silence):
    /// a speaker's or a quiet listener's, as a page's encoder would mark them.
    pub(crate) level: i8,
}

/// Simulcast layers of the camera, lowest first: rid, width, height.
pub(crate) const SIMULCAST: [(&str, u32, u32); 3] =
    [("q", 320, 180), ("h", 640, 360), ("f", 1280, 720)];

/// From signaling to the peer.
pub(crate) enum ToPeer {
    /// The server's answer to the publishing offer.
    PublishAnswer(String),
    /// The server's offer for the receiving connection.
    SubscribeOffer(String),
}

/// From the peer to signaling.
pub(crate) enum FromPeer {
    /// The publishing offer and the mids of its microphone and camera.
    PublishOffer {
        sdp: String,
        audio: String,
        video: Option<String>,
        /// The camera goes out in the simulcast layers [`SIMULCAST`].
        simulcast: bool,
    },
    /// The answer to the last subscribe offer.
    SubscribeAnswer(String),
}

/// Signaling's ends of a peer's channels.
pub(crate) struct PeerLink {
    /// Messages to the peer.
    pub(crate) to_peer: mpsc::UnboundedSender<ToPeer>,
    /// Messages from the peer.
    pub(crate) from_peer: mpsc::UnboundedReceiver<FromPeer>,
}

/// One WebRTC connection and its own UDP socket (the server tells connections apart by address).
struct Conn {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// How long the last datagram read waited in the socket.
    queued: Duration,
}

impl Conn {
    fn bind(ip: IpAddr, now: Instant) -> anyhow::Result<Self> {
        let std = std::net::UdpSocket::bind((ip, 0))
            .with_context(|| format!("cannot bind UDP on {ip}"))?;
        std.set_nonblocking(true)?;
        // The kernel stamps each datagram's arrival: latency is measured to that moment, not
        // to when this one thread got round to reading it.
        nix::sys::socket::setsockopt(&std, nix::sys::socket::sockopt::ReceiveTimestampns, &true)?;
        let local = std.local_addr()?;
        let mut rtc = Rtc::builder().set_rtp_mode(true).build(now);
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        Ok(Self {
            rtc,
            socket: UdpSocket::from_std(std)?,
            local,
            queued: Duration::ZERO,
        })
    }

    /// Reads one waiting datagram into the connection; false when none is waiting.
    fn receive_one(&mut self, buf: &mut [u8]) -> bool {
        let fd = self.socket.as_raw_fd();
        let read = self.socket.try_io(Interest::READABLE, || {
            let mut iov = [IoSliceMut::new(buf)];
            let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
            let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())?;
            let arrived = msg.cmsgs().ok().and_then(|mut c| {
                c.find_map(|c| match c {
                    ControlMessageOwned::ScmTimestampns(t) => Some(Duration::from(t)),
                    _ => None,
                })
            });
            let source = msg.address.and_then(|a: SockaddrStorage| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::from(std::net::SocketAddrV4::from(*v4)))
                    .or_else(|| {
                        a.as_sockaddr_in6()
                            .map(|v6| SocketAddr::from(std::net::SocketAddrV6::from(*v6)))
                    })
            });
            Ok((msg.bytes, source, arrived))
        });
        let Ok((n, source, arrived)) = read else {
            return false;
        };
        let Some(source) = source else { return true };
        self.queued = arrived
            .and_then(|at| {
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?;
                wall.checked_sub(at)
            })
            .unwrap_or_default();
        if let Ok(r) = Receive::new(Protocol::Udp, source, self.local, &buf[..n]) {
            let _ = self.rtc.handle_input(Input::Receive(Instant::now(), r));
        }
        true
    }

    /// Sends what the connection has ready and hands out its events; returns when it next
    /// needs time to pass.
    fn drain(&mut self, mut on_event: impl FnMut(Event)) -> Instant {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return t,
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => on_event(e),
                // A failed connection: nothing more will come of it.
                Err(_) => return Instant::now() + Duration::from_secs(3600),
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Side {
    Publisher,
    Subscriber,
}

/// The sending side's place in the content.
struct Sender {
    audio: Mid,
    video: Option<Mid>,
    opus: u8,
    vp8: u8,
    next_audio: Instant,
    next_video: Instant,
    audio_n: u32,
    video_n: u32,
    video_frame: usize,
    audio_rtp_seq: u64,
    video_rtp_seq: u64,
    video_frames_sent: u32,
    /// Sequence numbers of the lower simulcast layers.
    low_rtp_seq: [u64; 2],
}

/// Starts the peer on the current `LocalSet`; signaling talks to it through the returned link.
pub(crate) fn spawn(
    spec: PeerSpec,
    ip: IpAddr,
    content: Rc<Content>,
    tally: Rc<Tally>,
) -> anyhow::Result<(PeerLink, tokio::task::JoinHandle<()>)> {
    let now = Instant::now();
    let publisher = spec.publish.map(|_| Conn::bind(ip, now)).transpose()?;
    let subscriber = spec.subscribe.then(|| Conn::bind(ip, now)).transpose()?;
    let (to_peer, from_signaling) = mpsc::unbounded_channel();
    let (to_signaling, from_peer) = mpsc::unbounded_channel();
    let peer = Peer {
        spec,
        publisher,
        subscriber,
        content,
        tally,
        pending: None,
        sender: None,
        flowing: Vec::new(),
    };
    let task = tokio::task::spawn_local(peer.run(from_signaling, to_signaling));
    Ok((PeerLink { to_peer, from_peer }, task))
}

struct Peer {
    spec: PeerSpec,
    publisher: Option<Conn>,
    subscriber: Option<Conn>,
    content: Rc<Content>,
    tally: Rc<Tally>,
    pending: Option<(SdpPendingOffer, Sender)>,
    sender: Option<Sender>,
    /// Streams this peer has received at least once.
    flowing: Vec<bool>,
}

async fn readable(conn: Option<&Conn>) {
    match conn {
        Some(c) => {
            let _ = c.socket.readable().await;
        }
        None => std::future::pending().await,
    }
}

impl Peer {
    async fn run(
        mut self,
        mut signaling: mpsc::UnboundedReceiver<ToPeer>,
        out: mpsc::UnboundedSender<FromPeer>,
    ) {
        if let Some(offer) = self.offer() {
            let _ = out.send(offer);
        }
        let mut buf = vec![0u8; 2048];
        loop {
            let next = self.drive();
            tokio::select! {
                _ = readable(self.publisher.as_ref()) => self.receive(Side::Publisher, &mut buf),
                _ = readable(self.subscriber.as_ref()) => self.receive(Side::Subscriber, &mut buf),
                m = signaling.recv() => match m {
                    Some(ToPeer::PublishAnswer(sdp)) => self.accept_answer(&sdp),
                    Some(ToPeer::SubscribeOffer(sdp)) => {
                        if let Some(answer) = self.answer(&sdp) {
                            let _ = out.send(FromPeer::SubscribeAnswer(answer));
                        }
                    }
                    None => return,
                },
                _ = tokio::time::sleep_until(next.into()) => {}
            }
        }
    }

    /// Sends media that is due, lets time pass in both connections and drains them; returns
    /// when to wake next.
    fn drive(&mut self) -> Instant {
        let now = Instant::now();
        self.send_due(now);
        let mut next = now + Duration::from_secs(1);
        for side in [Side::Publisher, Side::Subscriber] {
            if let Some(c) = self.conn(side) {
                let _ = c.rtc.handle_input(Input::Timeout(now));
            }
            next = next.min(self.drain(side));
        }
        if let Some(s) = &self.sender {
            next = next.min(s.next_audio);
            if s.video.is_some() {
                next = next.min(s.next_video);
            }
        }
        next
    }

    fn conn(&mut self, side: Side) -> Option<&mut Conn> {
        match side {
            Side::Publisher => self.publisher.as_mut(),
            Side::Subscriber => self.subscriber.as_mut(),
        }
    }

    /// Reads a batch of waiting datagrams. str0m (RTP mode) holds one received packet until it
    /// is polled, so each datagram is drained before the next is read.
    fn receive(&mut self, side: Side, buf: &mut [u8]) {
        for _ in 0..RECV_BATCH {
            let got = self.conn(side).is_some_and(|c| c.receive_one(buf));
            if !got {
                return;
            }
            self.drain(side);
        }
    }

    /// Sends what one connection has ready and handles its events; returns its next deadline.
    fn drain(&mut self, side: Side) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        let tally = &self.tally;
        match side {
            Side::Publisher => {
                let (Some(c), sender) = (&mut self.publisher, &mut self.sender) else {
                    return far;
                };
                c.drain(|e| {
                    // A keyframe request: the next frame sent is the content's first, a keyframe.
                    if let (Event::KeyframeRequest(_), Some(s)) = (e, sender.as_mut()) {
                        s.video_frame = 0;
                    }
                })
            }
            Side::Subscriber => {
                let (Some(c), flowing) = (&mut self.subscriber, &mut self.flowing) else {
                    return far;
                };
                // Packets of the datagram just read arrived when the kernel says, not now.
                let queued = std::mem::take(&mut c.queued);
                c.drain(|e| {
                    let Event::RtpPacket(p) = e else { return };
                    let Some(stamp) = Stamp::read(&p.payload) else {
                        return;
                    };
                    tally.on_received(
                        &stamp,
                        p.timestamp.checked_sub(queued).unwrap_or(p.timestamp),
                    );
                    let i = stamp.stream as usize;
                    if flowing.len() <= i {
                        flowing.resize(i + 1, false);
                    }
                    if !flowing[i] {
                        flowing[i] = true;
                        tally.on_flowing();
                    }
                })
            }
        }
    }

    fn offer(&mut self) -> Option<FromPeer> {
        let media = self.spec.publish?;
        let conn = self.publisher.as_mut()?;
        let mut api = conn.rtc.sdp_api();
        let simulcast = !self.content.low_layers.is_empty();
        let layers = simulcast.then(|| {
            let mut s = Simulcast::new();
            for (rid, ..) in SIMULCAST {
                s.add_send_layer(SimulcastLayer::new(rid));
            }
            s
        });
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let video = (media == Media::AudioVideo)
            .then(|| api.add_media(MediaKind::Video, Direction::SendOnly, None, None, layers));
        let (offer, pending) = api.apply()?;
        let pt = |codec: Codec| {
            conn.rtc
                .codec_config()
                .find(|p| p.spec().codec == codec)
                .map(|p| *p.pt())
        };
        let now = Instant::now();
        let sender = Sender {
            audio,
            video,
            opus: pt(Codec::Opus).unwrap_or(111),
            vp8: pt(Codec::Vp8).unwrap_or(96),
            next_audio: now,
            next_video: now,
            audio_n: 0,
            video_n: 0,
            video_frame: 0,
            // Streams start far apart in sequence space, as browsers' do.
            audio_rtp_seq: 1_000 + u64::from(self.spec.index) * 7_919 % 30_000,
            video_rtp_seq: 5_000 + u64::from(self.spec.index) * 104_729 % 30_000,
            video_frames_sent: 0,
            low_rtp_seq: [20_000, 40_000],
        };
        self.pending = Some((pending, sender));
        Some(FromPeer::PublishOffer {
            sdp: offer.to_sdp_string(),
            audio: audio.to_string(),
            video: video.map(|v| v.to_string()),
            simulcast,
        })
    }

    fn accept_answer(&mut self, sdp: &str) {
        let (Some(conn), Some((pending, mut sender))) = (&mut self.publisher, self.pending.take())
        else {
            return;
        };
        let Ok(answer) = SdpAnswer::from_sdp_string(sdp) else {
            eprintln!("bench peer {}: unusable answer", self.spec.index);
            return;
        };
        if conn.rtc.sdp_api().accept_answer(pending, answer).is_ok() {
            let now = Instant::now();
            sender.next_audio = now;
            sender.next_video = now;
            self.sender = Some(sender);
            self.tally.on_published();
        }
    }

    fn answer(&mut self, sdp: &str) -> Option<String> {
        let conn = self.subscriber.as_mut()?;
        let offer = SdpOffer::from_sdp_string(sdp).ok()?;
        let answer = conn.rtc.sdp_api().accept_offer(offer).ok()?;
        Some(answer.to_sdp_string())
    }

    /// Writes the audio packets and video frames that are due, each stamped.
    fn send_due(&mut self, now: Instant) {
        let (Some(conn), Some(s)) = (&mut self.publisher, &mut self.sender) else {
            return;
        };
        if !conn.rtc.is_connected() {
            // Media starts once connected, without a backlog.
            s.next_audio = now;
            s.next_video = now;
            return;
        }
        let index = self.spec.index;
        let level = self.spec.level;
        let tally = &self.tally;
        let content = &self.content;
        let mut api = conn.rtc.direct_api();
        while s.next_audio <= now {
            let lag = now - s.next_audio;
            s.next_audio += AUDIO_INTERVAL;
            let opus = &content.audio[s.audio_n as usize % content.audio.len()];
            let stamp = Stamp {
                stream: 2 * index,
                seq: s.audio_n,
                sent_ns: tally.ns(now),
            };
            let mut payload = opus.clone();
            stamp.append_to(&mut payload);
            s.audio_rtp_seq += 1;
            let ts = (s.audio_n).wrapping_mul(960);
            s.audio_n += 1;
            if let Some(tx) = api.stream_tx_by_mid(s.audio, None) {
                tx.write_rtp(
                    RtpWrite::new(s.opus.into(), s.audio_rtp_seq.into(), ts, now, payload)
                        .marker(true)
                        .ext_vals(ExtensionValues {
                            audio_level: Some(level),
                            // str0m writes the level only with the voice activity flag.
                            voice_activity: Some(level > QUIET_DBOV),
                            ..Default::default()
                        }),
                );
                tally.on_sent(&stamp, lag);
            }
        }
        let Some(video) = s.video else { return };
        while s.next_video <= now {
            let lag = now - s.next_video;
            s.next_video += VIDEO_INTERVAL;
            let frame = &content.video[s.video_frame % content.video.len()];
            s.video_frame += 1;
            let ts = s.video_frames_sent.wrapping_mul(3_000);
            s.video_frames_sent += 1;
            // With simulcast the stamped 720p is the top layer; the lower ones carry no stamp
            // (a receiver moved down to them shows as loss of the stream it should get).
            let simulcast = !content.low_layers.is_empty();
            let top = simulcast.then(|| Rid::from(SIMULCAST[2].0));
            let last = frame.packets.len().saturating_sub(1);
            for (i, p) in frame.packets.iter().enumerate() {
                let stamp = Stamp {
                    stream: 2 * index + 1,
                    seq: s.video_n,
                    sent_ns: tally.ns(now),
                };
                s.video_n += 1;
                let mut payload = p.clone();
                stamp.append_to(&mut payload);
                s.video_rtp_seq += 1;
                if let Some(tx) = api.stream_tx_by_mid(video, top) {
                    tx.write_rtp(
                        RtpWrite::new(s.vp8.into(), s.video_rtp_seq.into(), ts, now, payload)
                            .marker(i == last)
                            .nackable(true),
                    );
                    tally.on_sent(&stamp, lag);
                }
            }
            for (l, frames) in content.low_layers.iter().enumerate() {
                let Some(frame) = frames.get((s.video_frame - 1) % frames.len().max(1)) else {
                    continue;
                };
                let rid = Rid::from(SIMULCAST[l].0);
                let last = frame.packets.len().saturating_sub(1);
                for (i, p) in frame.packets.iter().enumerate() {
                    s.low_rtp_seq[l] += 1;
                    let Some(tx) = api.stream_tx_by_mid(video, Some(rid)) else {
                        continue;
                    };
                    tx.write_rtp(
                        RtpWrite::new(s.vp8.into(), s.low_rtp_seq[l].into(), ts, now, p.clone())
                            .marker(i == last)
                            .nackable(true),
                    );
                }
            }
        }
    }
}
