//! The SFU state machine: entry points (`handle_*`, `poll_output`) and participant lifecycle.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::net::{Protocol, Receive};
use str0m::Input;
use summit_proto::{
    Capabilities, Capability, ClientMessage, CloseCode, InvitationId, Language, LanguagePair,
    MeetingName, ParticipantId, Role, ServerMessage, TrackSource, PROTOCOL_VERSION,
};

use summit_record::RecordEvent;

use crate::channels::{add_pair, Request};

use crate::decision::Decision;
use crate::meeting::Meeting;
use crate::output::{Disconnect, Output};
use crate::participant::Participant;
use crate::peer::{Peer, PeerKey, Side};
use crate::policy::{EveryoneSeesEveryone, SubscriptionPolicy};
use crate::timers::Timers;
use crate::{SfuConfig, SfuError};

/// Longest chat message, in characters.
/// How long a session that lost its connection can be resumed.
const RESUME_WINDOW: Duration = Duration::from_secs(30);
/// How often heartbeats and deferred keyframe requests are checked.
const HOUSEKEEPING: Duration = Duration::from_millis(50);
/// How often every subscriber's layers are chosen again, besides on each new estimate.
const REALLOCATE: Duration = Duration::from_millis(500);

/// Who is joining, as established at the edge from their invitation.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Display name.
    pub name: String,
    /// Role (shown to others; the core checks only capabilities).
    pub role: Role,
    /// What they may do.
    pub capabilities: Capabilities,
    /// The invitation they entered with.
    pub invitation: InvitationId,
    /// The invitation lets them skip the lobby.
    pub skip_lobby: bool,
    /// The invitation is to an end-to-end encrypted meeting.
    pub e2ee: bool,
    /// The meeting's language channels as registered (merged into the meeting's).
    pub languages: Vec<Language>,
    /// For an interpreter: the pair their invitation names.
    pub interprets: Option<LanguagePair>,
    /// The meeting's recording key as registered, if any (encrypted meetings need one to be
    /// recorded).
    pub recording_key: Option<String>,
}

/// The SFU: every meeting, participant and connection on this server.
#[derive(Debug)]
pub struct Sfu {
    pub(crate) config: SfuConfig,
    pub(crate) policy: Box<dyn SubscriptionPolicy>,
    pub(crate) meetings: HashMap<MeetingName, Meeting>,
    /// Ordered, so that every walk over participants is deterministic.
    pub(crate) participants: BTreeMap<ParticipantId, Participant>,
    /// Remote address to the connection that ICE accepted from it.
    pub(crate) routes: HashMap<SocketAddr, PeerKey>,
    pub(crate) timers: Timers,
    /// Connections written to since last driven.
    pub(crate) dirty: Vec<PeerKey>,
    pub(crate) outputs: VecDeque<Output>,
    next_id: u64,
    next_housekeeping: Instant,
    next_allocation: Instant,
    pub(crate) now: Instant,
    pub(crate) decisions: Vec<Decision>,
    /// Sessions that lost their connection recently, by id.
    departed: HashMap<ParticipantId, Departed>,
    dropped: u64,
    /// What participants who left had counted (server totals).
    pub(crate) departed_counters: crate::metrics::Counters,
}

impl Sfu {
    /// A new SFU with the default subscription policy.
    pub fn new(config: SfuConfig, now: Instant) -> Self {
        Self::with_policy(config, Box::new(EveryoneSeesEveryone), now)
    }

    /// A new SFU with a given subscription policy.
    pub fn with_policy(
        config: SfuConfig,
        policy: Box<dyn SubscriptionPolicy>,
        now: Instant,
    ) -> Self {
        Self {
            config,
            policy,
            meetings: HashMap::new(),
            participants: BTreeMap::new(),
            routes: HashMap::new(),
            timers: Timers::default(),
            dirty: Vec::new(),
            outputs: VecDeque::new(),
            next_id: 1,
            next_housekeeping: now + HOUSEKEEPING,
            next_allocation: now + REALLOCATE,
            now,
            decisions: Vec::new(),
            departed: HashMap::new(),
            dropped: 0,
            departed_counters: crate::metrics::Counters::default(),
        }
    }

    /// Number of meetings with someone in them.
    pub fn meeting_count(&self) -> usize {
        self.meetings.len()
    }

    /// Number of participants on this server.
    pub fn participant_count(&self) -> usize {
        self.participants.len()
    }

    /// The participants of a meeting, in order of entry.
    pub fn members(&self, meeting: &MeetingName) -> Vec<ParticipantId> {
        self.meetings
            .get(meeting)
            .map(|m| m.members.clone())
            .unwrap_or_default()
    }

    /// Remote addresses the media port currently routes (one per ICE-validated connection).
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// Datagrams dropped before reaching any connection: unparseable, or from an address that
    /// no connection's ICE has validated.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Takes the decisions recorded since the last call (only with `record_decisions`).
    pub fn take_decisions(&mut self) -> Vec<Decision> {
        std::mem::take(&mut self.decisions)
    }

    /// Lets in a participant whose invitation the edge has verified. Hosts and invitations that
    /// skip the lobby enter at once; everyone else waits in the lobby. `resume` names the session
    /// a reconnecting page had: within the grace period it comes back as it was, lobby skipped.
    /// Without `allow_new` (the invitation has no use left) only a resume may enter.
    pub fn join(
        &mut self,
        now: Instant,
        meeting: MeetingName,
        identity: Identity,
        resume: Option<ParticipantId>,
        allow_new: bool,
    ) -> Result<Joined, SfuError> {
        self.now = now;
        let resumed = resume.and_then(|r| self.resumable(r, &meeting, &identity.invitation, now));
        if resumed.is_none() && !allow_new {
            return Err(SfuError::NotResumable);
        }
        if resumed.is_none() {
            if let Some(m) = self.meetings.get(&meeting) {
                if m.e2ee != identity.e2ee {
                    return Err(SfuError::EncryptionMismatch);
                }
                if m.locked {
                    return Err(SfuError::Locked);
                }
                if m.members.len() + m.lobby.len() >= self.config.max_participants {
                    return Err(SfuError::MeetingFull);
                }
            }
        }
        let (id, was_admitted) = match resumed {
            Some(r) => r,
            None => {
                let id = ParticipantId(self.next_id);
                self.next_id += 1;
                (id, false)
            }
        };
        let admitted =
            was_admitted || identity.capabilities.has(Capability::Moderate) || identity.skip_lobby;
        let e2ee = identity.e2ee;
        let languages = identity.languages;
        let recording_key = identity.recording_key;
        let p = Participant {
            id,
            meeting: meeting.clone(),
            name: identity.name,
            role: identity.role,
            capabilities: identity.capabilities,
            invitation: identity.invitation,
            admitted,
            muted_by_host: false,
            publisher: Peer::new(now, self.config.public_addr, None),
            subscriber: Peer::new(
                now,
                self.config.public_addr,
                self.config.initial_bandwidth.map(Bitrate::bps),
            ),
            tracks: Vec::new(),
            slots: Vec::new(),
            channel_slot: None,
            interprets: identity.interprets,
            recording: false,
            pending_offer: None,
            needs_offer: false,
            last_seen: now,
            forwarded: crate::metrics::Counters::default(),
            microphone_muted: false,
            camera_off: false,
            bandwidth: crate::participant::Bandwidth::default(),
        };
        let pair = p.interprets.clone();
        self.participants.insert(id, p);
        if !self.meetings.contains_key(&meeting) {
            self.record(&meeting, RecordEvent::MeetingStarted {});
        }
        let m = self
            .meetings
            .entry(meeting.clone())
            .or_insert_with(|| Meeting::new(e2ee));
        if recording_key.is_some() {
            m.recording_key = recording_key;
        }
        // Channels registered (or a pair invited) since the meeting began join it now.
        let mut added = false;
        for l in languages {
            added |= m.interpretation.add_language(l);
        }
        if let Some(pair) = &pair {
            let before = m.interpretation.languages().count();
            add_pair(&mut m.interpretation, pair);
            added |= m.interpretation.languages().count() != before;
        }
        if added {
            self.interpretation_changed(&meeting);
        }
        if admitted {
            self.enter(id);
        } else {
            if let Some(m) = self.meetings.get_mut(&meeting) {
                m.lobby.push(id);
            }
            self.lobby_changed(&meeting);
        }
        Ok(Joined {
            id,
            resumed: resumed.is_some(),
            admitted,
        })
    }

    /// The session `r` may be resumed by this invitation: it left within the grace period, or
    /// its old connection is still here (then it is replaced). Returns its id and admission.
    fn resumable(
        &mut self,
        r: ParticipantId,
        meeting: &MeetingName,
        invitation: &InvitationId,
        now: Instant,
    ) -> Option<(ParticipantId, bool)> {
        if let Some(p) = self.participants.get(&r) {
            if &p.meeting != meeting || &p.invitation != invitation {
                return None;
            }
            let admitted = p.admitted;
            if let Some(p) = self.participants.remove(&r) {
                self.cleanup(p, "reconnected", false);
            }
            return Some((r, admitted));
        }
        let d = self.departed.get(&r)?;
        if &d.meeting != meeting || &d.invitation != invitation || now > d.at + RESUME_WINDOW {
            return None;
        }
        let admitted = d.admitted;
        self.departed.remove(&r);
        Some((r, admitted))
    }

    /// An admitted participant enters the meeting: welcome, tell the others, subscribe.
    pub(crate) fn enter(&mut self, id: ParticipantId) {
        let Some(p) = self.participants.get_mut(&id) else {
            return;
        };
        p.admitted = true;
        let interpreter = p.interprets.is_some();
        let info = p.info();
        let joined = RecordEvent::Joined {
            participant: id.0,
            name: p.name.clone(),
            role: p.role.to_string(),
            invitation: p.invitation.0.clone(),
        };
        let caps = p.capabilities;
        let meeting = p.meeting.clone();
        self.record(&meeting, joined);
        self.enter_interpretation(id);
        let Some(m) = self.meetings.get_mut(&meeting) else {
            return;
        };
        m.lobby.retain(|x| *x != id);
        let others: Vec<ParticipantId> = m.members.clone();
        m.members.push(id);
        let chat = m.chat.iter().cloned().collect();
        let locked = m.locked;
        let e2ee = m.e2ee;
        let recording = m.recording;
        let recording_key = m.recording_key.clone().filter(|_| e2ee);
        if let Some(p) = self.participants.get_mut(&id) {
            p.recording = recording;
        }
        let participants = others
            .iter()
            .filter_map(|o| self.participants.get(o).map(Participant::info))
            .collect();
        let welcome = ServerMessage::Welcome {
            version: PROTOCOL_VERSION,
            participant_id: id,
            meeting: meeting.clone(),
            name: info.name.clone(),
            role: info.role,
            can_publish: caps.has(Capability::Publish) || caps.has(Capability::PublishAudio),
            can_publish_video: caps.has(Capability::Publish),
            can_chat: caps.has(Capability::Chat),
            can_moderate: caps.has(Capability::Moderate),
            locked,
            e2ee,
            recording,
            recording_key,
            participants,
            chat,
            heartbeat_ms: self.config.heartbeat_interval.as_millis() as u64,
        };
        self.signal(id, welcome);
        if interpreter {
            // Everyone sees the booth's new member.
            self.interpretation_changed(&meeting);
        } else {
            self.send_interpretation_state(id);
        }
        for o in &others {
            self.signal(
                *o,
                ServerMessage::ParticipantJoined {
                    participant: info.clone(),
                },
            );
        }
        // Subscribe the newcomer to every track already published.
        for o in others {
            let sources: Vec<TrackSource> = self
                .participants
                .get(&o)
                .map(|p| p.tracks.iter().map(|t| t.source).collect())
                .unwrap_or_default();
            for s in sources {
                self.subscribe_if_policy(id, o, s);
            }
        }
        self.offer_if_needed(id);
        self.lobby_changed(&meeting);
    }

    /// Handles one signaling message from an admitted participant. `wall_ms` is the wall-clock
    /// time (Unix milliseconds) the runtime received it, used to stamp chat.
    pub fn handle_message(
        &mut self,
        now: Instant,
        id: ParticipantId,
        msg: ClientMessage,
        wall_ms: u64,
    ) -> Result<(), SfuError> {
        self.now = now;
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant)?;
        p.last_seen = now;
        let waiting = !p.admitted;
        match msg {
            ClientMessage::Join { .. } => Err(SfuError::Unexpected("already joined")),
            ClientMessage::Ping {} => {
                self.signal(id, ServerMessage::Pong {});
                Ok(())
            }
            ClientMessage::Display { tiles } => self.handle_display(now, id, &tiles),
            ClientMessage::Leave {} => {
                self.remove(
                    id,
                    Disconnect {
                        code: CloseCode::Normal,
                        reason: "left the meeting".into(),
                    },
                );
                Ok(())
            }
            _ if waiting => Err(SfuError::Unexpected("waiting in the lobby")),
            ClientMessage::Admit { participant } => self.admit(id, participant),
            ClientMessage::Deny { participant } => self.deny(id, participant),
            ClientMessage::MuteParticipant { participant } => {
                self.mute_participant(id, participant)
            }
            ClientMessage::Remove { participant } => self.remove_participant(id, participant),
            ClientMessage::Lock { locked } => self.lock(id, locked),
            ClientMessage::EndMeeting {} => self.end_meeting(id),
            ClientMessage::Invite { .. } => {
                Err(SfuError::Unexpected("invitations are made at the edge"))
            }
            ClientMessage::Publish { sdp, tracks } => self.handle_publish(id, &sdp, &tracks),
            ClientMessage::SubscribeAnswer { sdp } => self.handle_subscribe_answer(now, id, &sdp),
            ClientMessage::Mute { source, muted } => {
                match source {
                    TrackSource::Microphone => {
                        p.microphone_muted = muted;
                        if !muted {
                            p.muted_by_host = false;
                        }
                    }
                    TrackSource::Camera => p.camera_off = muted,
                    TrackSource::Screen => {
                        return Err(SfuError::Invalid(
                            "a screen share is stopped, not muted".into(),
                        ))
                    }
                }
                self.broadcast_update(id);
                Ok(())
            }
            ClientMessage::Chat { text, sealed } => self.chat(id, text, sealed, wall_ms),
            ClientMessage::E2ee { to, data } => self.relay_e2ee(id, to, data),
            ClientMessage::Listen { channel } => {
                self.interpretation_request(id, Request::Listen(channel))
            }
            ClientMessage::TakeMic {} => self.interpretation_request(id, Request::TakeMic),
            ClientMessage::HandOver { to } => {
                self.interpretation_request(id, Request::HandOver(to))
            }
            ClientMessage::ReleaseMic {} => self.interpretation_request(id, Request::ReleaseMic),
            ClientMessage::SetDirection { into } => {
                self.interpretation_request(id, Request::SetDirection(into))
            }
            ClientMessage::StartRecording {} => self.set_recording(id, true),
            ClientMessage::StopRecording {} => self.set_recording(id, false),
            ClientMessage::RecordingKey { data } => self.recording_key_from(id, data),
            ClientMessage::AddLanguage { language } => {
                self.interpretation_request(id, Request::AddLanguage(language))
            }
        }
    }

    /// The participant `id`, or the error for a request from someone who already left.
    pub(crate) fn participant(&self, id: ParticipantId) -> Result<&Participant, SfuError> {
        self.participants
            .get(&id)
            .ok_or(SfuError::UnknownParticipant)
    }

    /// The participant's signaling connection closed: they leave at once.
    pub fn handle_closed(&mut self, now: Instant, id: ParticipantId) {
        self.now = now;
        if let Some(p) = self.participants.remove(&id) {
            self.cleanup(p, "left the meeting", true);
        }
    }

    /// A datagram arrived on the media port.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.now = now;
        let Ok(input) = Receive::new(Protocol::Udp, source, destination, data) else {
            self.dropped += 1;
            return;
        };
        let input = Input::Receive(now, input);
        // STUN has the top two bits of its first byte clear (RFC 7983).
        let is_stun = data.first().is_some_and(|b| *b < 4);
        let key = match self.routes.get(&source) {
            Some(k) if self.accepts(*k, &input) => Some(*k),
            _ if is_stun => self.find_acceptor(&input),
            _ => None,
        };
        let Some(key) = key else {
            self.dropped += 1;
            return;
        };
        self.routes.insert(source, key);
        let Some(p) = self.participants.get_mut(&key.participant) else {
            return;
        };
        if let Err(e) = p.peer_mut(key.side).rtc.handle_input(input) {
            tracing::debug!(participant = %key.participant, "input refused: {e}");
        }
        self.drain(key, now);
    }

    /// Time has passed: drive the connections that are due, check heartbeats.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        while let Some((at, key)) = self.timers.pop_due(now) {
            let due = self
                .participants
                .get(&key.participant)
                .is_some_and(|p| match key.side {
                    Side::Publisher => p.publisher.deadline == at,
                    Side::Subscriber => p.subscriber.deadline == at,
                });
            if due {
                self.mark_dirty(key);
            }
        }
        if now >= self.next_housekeeping {
            self.next_housekeeping = now + HOUSEKEEPING;
            self.housekeeping(now);
        }
    }

    /// The next thing for the runtime to do.
    pub fn poll_output(&mut self) -> Output {
        loop {
            if let Some(o) = self.outputs.pop_front() {
                return o;
            }
            if let Some(key) = self.dirty.pop() {
                self.drive(key);
                continue;
            }
            let next = self
                .timers
                .next()
                .map_or(self.next_housekeeping, |t| t.min(self.next_housekeeping));
            return Output::Timeout(next.max(self.now));
        }
    }

    fn housekeeping(&mut self, now: Instant) {
        let timeout = self.config.heartbeat_timeout;
        let silent: Vec<ParticipantId> = self
            .participants
            .values()
            .filter(|p| now.saturating_duration_since(p.last_seen) > timeout)
            .map(|p| p.id)
            .collect();
        for id in silent {
            self.remove(
                id,
                Disconnect {
                    code: CloseCode::HeartbeatTimeout,
                    reason: "no heartbeat: connection lost".into(),
                },
            );
        }
        self.send_deferred_keyframe_requests(now);
        if now >= self.next_allocation {
            // Layer rates change as publishers' encoders adapt: choose again now and then.
            self.next_allocation = now + REALLOCATE;
            self.reallocate_all(now);
        }
        self.departed.retain(|_, d| now <= d.at + RESUME_WINDOW);
    }

    fn accepts(&self, key: PeerKey, input: &Input) -> bool {
        self.participants
            .get(&key.participant)
            .is_some_and(|p| match key.side {
                Side::Publisher => p.publisher.rtc.accepts(input),
                Side::Subscriber => p.subscriber.rtc.accepts(input),
            })
    }

    /// Finds the connection a datagram from an unknown address belongs to (STUN only: the ICE
    /// username names the connection).
    fn find_acceptor(&self, input: &Input) -> Option<PeerKey> {
        self.participants.values().find_map(|p| {
            if p.publisher.rtc.accepts(input) {
                Some(PeerKey {
                    participant: p.id,
                    side: Side::Publisher,
                })
            } else if p.subscriber.rtc.accepts(input) {
                Some(PeerKey {
                    participant: p.id,
                    side: Side::Subscriber,
                })
            } else {
                None
            }
        })
    }

    pub(crate) fn mark_dirty(&mut self, key: PeerKey) {
        if let Some(p) = self.participants.get_mut(&key.participant) {
            let peer = p.peer_mut(key.side);
            if !peer.dirty {
                peer.dirty = true;
                self.dirty.push(key);
            }
        }
    }

    fn drive(&mut self, key: PeerKey) {
        let now = self.now;
        let Some(p) = self.participants.get_mut(&key.participant) else {
            return;
        };
        let peer = p.peer_mut(key.side);
        peer.dirty = false;
        if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
            tracing::debug!(participant = %key.participant, "timeout refused: {e}");
        }
        self.drain(key, now);
    }

    /// Polls one connection until it asks for a timeout, acting on its events.
    pub(crate) fn drain(&mut self, key: PeerKey, now: Instant) {
        loop {
            let Some(p) = self.participants.get_mut(&key.participant) else {
                return;
            };
            let peer = p.peer_mut(key.side);
            match peer.rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => {
                    if peer.deadline != t || t <= now {
                        peer.deadline = t;
                        self.timers.schedule(t, key);
                    }
                    return;
                }
                Ok(str0m::Output::Transmit(t)) => self.outputs.push_back(Output::Transmit(t)),
                Ok(str0m::Output::Event(e)) => self.on_event(key, now, e),
                Err(e) => {
                    tracing::info!(participant = %key.participant, "connection failed: {e}");
                    self.remove(
                        key.participant,
                        Disconnect {
                            code: CloseCode::Refused,
                            reason: "media connection failed".into(),
                        },
                    );
                    return;
                }
            }
        }
    }

    pub(crate) fn signal(&mut self, to: ParticipantId, msg: ServerMessage) {
        self.outputs.push_back(Output::Signal(to, msg));
    }

    /// Tells everyone else in the meeting about a participant's new state.
    pub(crate) fn broadcast_update(&mut self, id: ParticipantId) {
        let Some(p) = self.participants.get(&id) else {
            return;
        };
        let info = p.info();
        let members = self
            .meetings
            .get(&p.meeting)
            .map(|m| m.members.clone())
            .unwrap_or_default();
        for to in members.into_iter().filter(|m| *m != id) {
            self.signal(
                to,
                ServerMessage::ParticipantUpdated {
                    participant: info.clone(),
                },
            );
        }
    }

    /// Removes a participant and tells the runtime to close their connection.
    pub(crate) fn remove(&mut self, id: ParticipantId, why: Disconnect) {
        if let Some(p) = self.participants.remove(&id) {
            let reason = why.reason.clone();
            let resumable = why.code == CloseCode::HeartbeatTimeout;
            self.outputs.push_back(Output::Disconnect(id, why));
            self.cleanup(p, &reason, resumable);
        }
    }

    /// Undoes everything a departed participant took part in. A `resumable` departure (a lost
    /// connection) can be resumed by the same invitation within the grace period.
    pub(crate) fn cleanup(&mut self, mut p: Participant, reason: &str, resumable: bool) {
        let id = p.id;
        if resumable {
            self.departed.insert(
                id,
                Departed {
                    meeting: p.meeting.clone(),
                    invitation: p.invitation.clone(),
                    admitted: p.admitted,
                    at: self.now,
                },
            );
        }
        p.publisher.rtc.disconnect();
        p.subscriber.rtc.disconnect();
        self.routes.retain(|_, k| k.participant != id);
        self.dirty.retain(|k| k.participant != id);
        // Others stop receiving this participant's tracks.
        for t in &p.tracks {
            for s in &t.subscribers {
                self.release_slot(s.participant, s.slot);
            }
        }
        // Tracks this participant received no longer feed them.
        for slot in &p.slots {
            if let Some(tr) = slot.track {
                if let Some(pubr) = self.participants.get_mut(&tr.publisher) {
                    if let Some(t) = pubr.track_mut(tr.source) {
                        t.subscribers.retain(|s| s.participant != id);
                    }
                }
            }
        }
        let counted = p.counters();
        self.departed_counters += counted;
        let members = match self.meetings.get_mut(&p.meeting) {
            Some(m) => {
                m.departed_counters += counted;
                m.members.retain(|x| *x != id);
                m.lobby.retain(|x| *x != id);
                m.members.clone()
            }
            None => Vec::new(),
        };
        if p.admitted {
            let left = RecordEvent::Left {
                participant: id.0,
                name: p.name.clone(),
                reason: reason.to_owned(),
            };
            self.record(&p.meeting, left);
        }
        self.leave_interpretation(&p.meeting, id);
        if self.meetings.get(&p.meeting).is_some_and(Meeting::is_empty) {
            if let Some(m) = self.meetings.remove(&p.meeting) {
                let reason = m.ending.unwrap_or_else(|| "everyone left".to_owned());
                if m.recording {
                    let by = "the meeting ended".to_owned();
                    self.record(&p.meeting, RecordEvent::RecordingStopped { by });
                }
                self.record(&p.meeting, RecordEvent::MeetingEnded { reason });
            }
        }
        if !p.admitted {
            // Nobody but the hosts knew of them.
            self.lobby_changed(&p.meeting);
            return;
        }
        for to in members {
            self.signal(
                to,
                ServerMessage::ParticipantLeft {
                    participant_id: id,
                    reason: reason.to_owned(),
                },
            );
            self.offer_if_needed(to);
        }
        if p.capabilities.has(Capability::Moderate) {
            self.lobby_changed(&p.meeting);
        }
    }
}

/// A session that lost its connection, kept so the same invitation can resume it.
#[derive(Debug)]
pub(crate) struct Departed {
    meeting: MeetingName,
    invitation: InvitationId,
    admitted: bool,
    at: Instant,
}

/// What [`Sfu::join`] led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    /// The participant's id (the old one when resumed).
    pub id: ParticipantId,
    /// A session was resumed: no lobby, and no use of the invitation is spent.
    pub resumed: bool,
    /// Entered at once (otherwise waiting in the lobby).
    pub admitted: bool,
}
