//! The harness: an SFU, simulated clients, and a seeded network with delay and loss, stepped in
//! virtual time.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Input, Output as RtcOutput};
use summit_core::{Decision, Disconnect, Identity, JoinRequest, Output, Sfu, SfuConfig, SfuEvent};
use summit_proto::{
    Capabilities, InvitationId, MeetingMessage, MeetingName, ParticipantId, ResumeToken, Role,
    ServerMessage,
};

use crate::SimClient;

/// One datagram on the simulated network.
struct Datagram {
    at: Instant,
    source: SocketAddr,
    destination: SocketAddr,
    data: Vec<u8>,
}

/// A bottleneck towards one address: a FIFO drained at `rate`, dropping what would wait longer
/// than `queue`, as a thin access link does.
#[derive(Debug, Clone, Copy)]
struct Link {
    rate: u64,
    queue: Duration,
    busy_until: Instant,
}

/// An SFU and its simulated participants in virtual time.
pub struct Harness {
    /// The core under test.
    pub sfu: Sfu,
    /// Every client ever joined, by join order.
    pub clients: Vec<SimClient>,
    /// Virtual now.
    pub now: Instant,
    /// Virtual start.
    pub start: Instant,
    /// Probability that a datagram is lost.
    pub loss: f64,
    /// Extra loss of media from one address towards the server (a client's bad uplink).
    pub uplink_loss: std::collections::HashMap<SocketAddr, f64>,
    /// One-way network delay.
    pub delay: Duration,
    /// Every core decision with the virtual time since start.
    pub decisions: Vec<(Duration, Decision)>,
    /// Every disconnect the core ordered.
    pub disconnects: Vec<(ParticipantId, Disconnect)>,
    /// Every signaling message sent, by recipient.
    pub signals: Vec<(ParticipantId, ServerMessage)>,
    /// Every event the core asked the runtime to persist.
    pub events: Vec<SfuEvent>,
    /// Every packet handed to the recording: (publisher, source, sequence number).
    pub recorded: Vec<(ParticipantId, summit_proto::TrackSource, u64)>,
    /// Every instruction to the recording's writer, in order.
    pub recording_controls: Vec<summit_core::RecordingControl>,
    /// Whether invitations made by `join` skip the lobby (default: yes, as most tests need).
    pub skip_lobby: bool,
    /// Whether invitations made by `join` are to an end-to-end encrypted meeting (default: no,
    /// so that tests can chat in plain text; the core forwards media the same either way).
    pub e2ee: bool,
    /// Whether pages that join from now on receive RED audio (RFC 2198), as Chromium does
    /// (default: no, as Firefox ESR and str0m's defaults).
    pub red_pages: bool,
    /// Pages join with video slots (they then send `view`).
    pub video_slots: bool,
    last_sent: std::collections::HashMap<SocketAddr, Vec<u8>>,
    /// Datagrams the seeded network lost, by destination.
    pub dropped_to: std::collections::HashMap<SocketAddr, u64>,
    /// Datagrams sent, by destination.
    pub sent: std::collections::HashMap<SocketAddr, u64>,
    /// Datagrams a limited link dropped (queue full), by destination.
    pub link_drops: std::collections::HashMap<SocketAddr, u64>,
    links: std::collections::HashMap<SocketAddr, Link>,
    server: SocketAddr,
    seed: u64,
    in_flight: Vec<Datagram>,
    next_ping: Instant,
}

impl Harness {
    /// A harness whose network randomness comes from `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, |_| {})
    }

    /// A harness with adjusted core settings.
    pub fn with_config(seed: u64, f: impl FnOnce(&mut SfuConfig)) -> Self {
        let now = Instant::now();
        let server: SocketAddr = (Ipv4Addr::new(127, 0, 0, 1), 7881).into();
        let mut config = SfuConfig::new(server);
        config.record_decisions = true;
        f(&mut config);
        Self {
            sfu: Sfu::new(config, now),
            clients: Vec::new(),
            now,
            start: now,
            loss: 0.0,
            uplink_loss: Default::default(),
            delay: Duration::from_millis(2),
            decisions: Vec::new(),
            disconnects: Vec::new(),
            signals: Vec::new(),
            events: Vec::new(),
            recorded: Vec::new(),
            recording_controls: Vec::new(),
            skip_lobby: true,
            e2ee: false,
            red_pages: false,
            video_slots: false,
            sent: Default::default(),
            last_sent: Default::default(),
            dropped_to: Default::default(),
            link_drops: Default::default(),
            links: Default::default(),
            server,
            seed,
            in_flight: Vec::new(),
            next_ping: now,
        }
    }

    /// A delegate named `name` joins `meeting` and publishes microphone and camera.
    pub fn join(&mut self, meeting: &str, name: &str) -> usize {
        self.join_as(meeting, name, Role::Delegate)
    }

    /// Someone with `role` joins `meeting`; those who may publish publish microphone and camera.
    pub fn join_as(&mut self, meeting: &str, name: &str, role: Role) -> usize {
        let i = self.enter(meeting, name, role);
        if role != Role::Observer {
            self.publish(i);
        }
        i
    }

    /// The identity `enter` gives `name`: invitation `inv-<name>`, this harness's lobby and
    /// encryption settings. Tests change fields with struct update syntax.
    pub fn identity(&self, name: &str, role: Role) -> Identity {
        Identity {
            name: name.into(),
            role,
            capabilities: Capabilities::for_role(role),
            invitation: InvitationId(format!("inv-{name}")),
            skip_lobby: self.skip_lobby,
            e2ee: self.e2ee,
            interprets: None,
        }
    }

    /// A request to enter `meeting` as `identity`, with a fresh resume token, presenting
    /// `resume` (a token an earlier session got) if given.
    pub fn request(
        &self,
        meeting: &str,
        identity: Identity,
        resume: Option<&ResumeToken>,
    ) -> JoinRequest {
        let token = summit_auth::new_resume_token().unwrap();
        JoinRequest {
            meeting: MeetingName::parse(meeting).unwrap(),
            identity,
            settings: Default::default(),
            resume: resume.map(summit_auth::resume_hash),
            keep_media: false,
            video_slots: self.video_slots,
            token_hash: summit_auth::resume_hash(&token),
            token,
            allow_new: true,
            restored: None,
        }
    }

    /// The resume token participant `id` got last (in `welcome` or `lobby`).
    pub fn resume_token(&self, id: ParticipantId) -> Option<ResumeToken> {
        self.signals.iter().rev().find_map(|(to, m)| match m {
            ServerMessage::Welcome { resume_token, .. }
            | ServerMessage::Lobby { resume_token, .. }
                if *to == id =>
            {
                Some(resume_token.clone())
            }
            _ => None,
        })
    }

    /// Someone enters `meeting` without publishing yet.
    pub fn enter(&mut self, meeting: &str, name: &str, role: Role) -> usize {
        let identity = self.identity(name, role);
        self.enter_with(meeting, identity)
    }

    /// An interpreter of `pair` (e.g. "ru-zh") enters `meeting` and publishes their microphone.
    pub fn join_interpreter(&mut self, meeting: &str, name: &str, pair: &str) -> usize {
        let identity = Identity {
            interprets: Some(pair.parse().unwrap()),
            ..self.identity(name, Role::Interpreter)
        };
        let i = self.enter_with(meeting, identity);
        self.publish_audio(i);
        i
    }

    /// A delegate named `name` joins `meeting` and publishes their microphone alone.
    pub fn join_audio(&mut self, meeting: &str, name: &str) -> usize {
        let i = self.enter(meeting, name, Role::Delegate);
        self.publish_audio(i);
        i
    }

    /// Client `i` publishes its microphone alone.
    pub fn publish_audio(&mut self, i: usize) {
        let (sdp, tracks) = self.clients[i].publish_offer_with(false);
        self.send(i, MeetingMessage::Publish { sdp, tracks })
            .unwrap();
    }

    /// Someone enters `meeting` with a given identity, without publishing yet.
    pub fn enter_with(&mut self, meeting: &str, identity: Identity) -> usize {
        self.try_enter_with(meeting, identity).unwrap()
    }

    /// As [`Harness::enter_with`], or the core's refusal.
    pub fn try_enter_with(
        &mut self,
        meeting: &str,
        identity: Identity,
    ) -> Result<usize, summit_core::SfuError> {
        let req = self.request(meeting, identity, None);
        let id = self.sfu.join(self.now, req)?.id;
        let n = self.clients.len() as u8 + 1;
        let host = Ipv4Addr::new(127, 0, 1, n);
        let mut c = SimClient::new(id, self.now, (host, 5000).into(), (host, 5001).into());
        if self.red_pages {
            c.receive_red(self.now);
        }
        self.clients.push(c);
        self.process_outputs();
        Ok(self.clients.len() - 1)
    }

    /// A delegate joins and publishes microphone and a camera in three simulcast layers.
    pub fn join_simulcast(&mut self, meeting: &str, name: &str) -> usize {
        let i = self.enter(meeting, name, Role::Delegate);
        self.clients[i].simulcast = true;
        self.publish(i);
        i
    }

    /// Limits the link towards client `i`'s subscribing connection to `bps` bits per second
    /// (with a 200 ms queue), or lifts the limit with `None`.
    pub fn limit_downlink(&mut self, i: usize, bps: Option<u64>) {
        let addr = self.clients[i].sub_addr;
        match bps {
            Some(rate) => {
                let busy_until = self.links.get(&addr).map_or(self.now, |l| l.busy_until);
                let queue = Duration::from_millis(200);
                self.links.insert(
                    addr,
                    Link {
                        rate,
                        queue,
                        busy_until,
                    },
                );
            }
            None => {
                self.links.remove(&addr);
            }
        }
    }

    /// Client `i` publishes microphone and camera.
    pub fn publish(&mut self, i: usize) {
        let (sdp, tracks) = self.clients[i].publish_offer();
        let id = self.clients[i].id;
        self.sfu
            .handle_message(self.now, id, MeetingMessage::Publish { sdp, tracks }, 0)
            .unwrap();
        self.process_outputs();
    }

    /// Client `i` sends a signaling message; returns the core's answer.
    pub fn send(&mut self, i: usize, msg: MeetingMessage) -> Result<(), summit_core::SfuError> {
        let id = self.clients[i].id;
        let r = self.sfu.handle_message(self.now, id, msg, 0);
        self.process_outputs();
        r
    }

    /// The messages client `i` was sent, oldest first.
    pub fn messages_to(&self, i: usize) -> Vec<&ServerMessage> {
        let id = self.clients[i].id;
        self.signals
            .iter()
            .filter(|(to, _)| *to == id)
            .map(|(_, m)| m)
            .collect()
    }

    /// Client `i` leaves with a `leave` message.
    pub fn leave(&mut self, i: usize) {
        let id = self.clients[i].id;
        self.sfu
            .handle_message(self.now, id, MeetingMessage::Leave {}, 0)
            .unwrap();
        self.clients[i].disconnected = true;
        self.process_outputs();
    }

    /// Runs the simulation for `d` of virtual time.
    pub fn run(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.step();
        }
    }

    /// Hands a datagram straight to the core, as if `source` had sent it now.
    pub fn inject(&mut self, source: SocketAddr, data: &[u8]) {
        self.sfu
            .handle_receive(self.now, Protocol::Udp, source, self.server, data);
        self.process_outputs();
    }

    /// Runs one millisecond of the simulation.
    pub fn tick(&mut self) {
        self.step();
    }

    /// Time since the harness started.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn step(&mut self) {
        self.now += Duration::from_millis(1);
        let now = self.now;
        // Deliver what has arrived.
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
            .into_iter()
            .partition(|d| d.at <= now);
        self.in_flight = later;
        let mut out = Vec::new();
        for d in due {
            if d.destination == self.server {
                self.sfu
                    .handle_receive(now, Protocol::Udp, d.source, d.destination, &d.data);
                continue;
            }
            let Some(c) = self.clients.iter_mut().find(|c| {
                !c.disconnected && (c.pub_addr == d.destination || c.sub_addr == d.destination)
            }) else {
                continue;
            };
            let publisher = c.pub_addr == d.destination;
            c.subscriber_now = now;
            if let Ok(r) = Receive::new(Protocol::Udp, d.source, d.destination, &d.data) {
                let rtc = if publisher {
                    &mut c.publisher
                } else {
                    &mut c.subscriber
                };
                let _ = rtc.handle_input(Input::Receive(now, r));
                // str0m keeps one pending event: drain after every input.
                drain(c, publisher, &mut out);
            }
        }
        // Clients send and receive.
        for c in self.clients.iter_mut().filter(|c| !c.disconnected) {
            c.generate(now);
            for publisher in [true, false] {
                let rtc = if publisher {
                    &mut c.publisher
                } else {
                    &mut c.subscriber
                };
                let _ = rtc.handle_input(Input::Timeout(now));
                drain(c, publisher, &mut out);
            }
        }
        for (s, d, data) in out {
            self.transmit(s, d, data);
        }
        // Heartbeats.
        if now >= self.next_ping {
            self.next_ping = now + Duration::from_secs(2);
            let ids: Vec<ParticipantId> = self
                .clients
                .iter()
                .filter(|c| !c.disconnected && !c.silent)
                .map(|c| c.id)
                .collect();
            for id in ids {
                let _ = self.sfu.handle_message(now, id, MeetingMessage::Ping {}, 0);
            }
        }
        self.sfu.handle_timeout(now);
        self.process_outputs();
    }

    /// The last datagram `source` sent towards the server.
    pub fn last_sent_from(&self, source: SocketAddr) -> Option<&[u8]> {
        self.last_sent.get(&source).map(Vec::as_slice)
    }

    fn transmit(&mut self, source: SocketAddr, destination: SocketAddr, data: Vec<u8>) {
        if destination == self.server {
            self.last_sent.insert(source, data.clone());
        }
        *self.sent.entry(destination).or_default() += 1;
        let uplink = self.uplink_loss.get(&source).copied().unwrap_or(0.0);
        let loss = if destination == self.server {
            self.loss.max(uplink)
        } else {
            self.loss
        };
        if loss > 0.0 && self.lost(destination, &data, loss) {
            *self.dropped_to.entry(destination).or_default() += 1;
            return;
        }
        let mut at = self.now + self.delay;
        if let Some(link) = self.links.get_mut(&destination) {
            let start = link.busy_until.max(self.now);
            if start - self.now > link.queue {
                *self.link_drops.entry(destination).or_default() += 1;
                return;
            }
            // 28 bytes of IP and UDP headers on the wire.
            let bits = (data.len() as u64 + 28) * 8;
            link.busy_until = start + Duration::from_micros(bits * 1_000_000 / link.rate.max(1));
            at = link.busy_until + self.delay;
        }
        self.in_flight.push(Datagram {
            at,
            source,
            destination,
            data,
        });
    }

    /// Whether the seeded network loses this datagram. Only original media packets (Opus and VP8
    /// payload types) are lost, and the choice depends on the packet (its destination, payload
    /// type and sequence number, which SRTP leaves in the clear), never on the order of sending.
    /// str0m picks SSRCs and RTX sequence numbers at random, so neither the order of streams nor
    /// retransmissions may decide what is lost, or runs with one seed would differ.
    fn lost(&self, destination: SocketAddr, data: &[u8], loss: f64) -> bool {
        use std::hash::{Hash, Hasher};
        const OPUS: u8 = 111;
        const VP8: u8 = 96;
        let media = data.len() >= 12
            && (128..192).contains(&data[0])
            && matches!(data[1] & 0x7f, OPUS | VP8);
        if !media {
            return false;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.seed, destination, data[1] & 0x7f, &data[2..4]).hash(&mut h);
        (h.finish() % 1_000_000) as f64 / 1_000_000.0 < loss
    }

    /// Drains the core's outputs: datagrams onto the network, signaling to the clients.
    pub fn process_outputs(&mut self) {
        loop {
            match self.sfu.poll_output() {
                Output::Timeout(_) => break,
                Output::Transmit(t) => self.transmit(t.source, t.destination, t.contents.to_vec()),
                Output::Disconnect(id, why) => {
                    if let Some(c) = self.clients.iter_mut().find(|c| c.id == id) {
                        c.disconnected = true;
                    }
                    self.disconnects.push((id, why));
                }
                Output::Event(e) => self.events.push(e),
                Output::Recorded(r) => self.recorded.push((r.publisher, r.source, r.seq)),
                Output::RecordingKey(..) => {}
                Output::Recording(c) => self.recording_controls.push(c),
                Output::Signal(id, msg) => {
                    self.signals.push((id, msg.clone()));
                    let now = self.now;
                    let Some(c) = self
                        .clients
                        .iter_mut()
                        .find(|c| c.id == id && !c.disconnected)
                    else {
                        continue;
                    };
                    match msg {
                        ServerMessage::PublishAnswer { sdp } => c.accept_publish_answer(&sdp),
                        ServerMessage::SubscribeOffer {
                            sdp,
                            tracks,
                            channel_mid,
                            speaker_mids,
                            video_mids,
                            screen_mid,
                        } => {
                            c.screen_mid = screen_mid;
                            let answer = c.answer_subscribe(
                                &sdp,
                                tracks,
                                channel_mid,
                                speaker_mids,
                                video_mids,
                            );
                            // A participant removed meanwhile gets an error, as a page would.
                            let answer = MeetingMessage::SubscribeAnswer { sdp: answer };
                            let _ = self.sfu.handle_message(now, id, answer, 0);
                        }
                        ServerMessage::SpeakerSlots { slots } => {
                            c.switched_slots(&slots, summit_proto::TrackSource::Microphone)
                        }
                        ServerMessage::VideoSlots { slots } => {
                            let (screen, cameras): (Vec<_>, Vec<_>) = slots
                                .into_iter()
                                .partition(|s| c.screen_mid.as_ref() == Some(&s.mid));
                            c.switched_slots(&cameras, summit_proto::TrackSource::Camera);
                            c.switched_slots(&screen, summit_proto::TrackSource::Screen);
                        }
                        _ => {}
                    }
                }
            }
        }
        let at = self.elapsed();
        let new = self.sfu.take_decisions();
        self.decisions.extend(new.into_iter().map(|d| (at, d)));
    }
}

/// Polls one of a client's connections until it wants a timeout.
fn drain(c: &mut SimClient, publisher: bool, out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>) {
    loop {
        let rtc = if publisher {
            &mut c.publisher
        } else {
            &mut c.subscriber
        };
        match rtc.poll_output() {
            Ok(RtcOutput::Timeout(_)) | Err(_) => break,
            Ok(RtcOutput::Transmit(t)) => out.push((t.source, t.destination, t.contents.to_vec())),
            Ok(RtcOutput::Event(e)) => {
                if publisher {
                    c.on_publisher_event(e)
                } else {
                    c.on_subscriber_event(e)
                }
            }
        }
    }
}
