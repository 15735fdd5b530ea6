//! The SFU state machine, a thin facade over its three parts: entry points (`handle_*`,
//! `poll_output`), message dispatch, and driving each connection (`Endpoint` says which, and
//! when). Its submodules compose the parts for one job each: what the meetings decide
//! ([`Said`]) is carried out here, with what follows for the router's media and the
//! endpoint's connections.

#[cfg(feature = "danger-test-attacks")]
pub(crate) mod attacks;
pub(crate) mod interpretation;
pub(crate) mod media;
pub(crate) mod metrics;
pub(crate) mod moderation;
pub(crate) mod reconnect;
pub(crate) mod record;
pub(crate) mod recording;
pub(crate) mod session;
pub(crate) mod speakers;
pub(crate) mod turn;
pub(crate) mod video_slots;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use str0m::net::{Protocol, Receive};
use str0m::Input;
use summit_proto::{
    CloseCode, MeetingMessage, MeetingName, ParticipantId, ParticipantInfo, ResumeHash,
    ServerMessage, TrackSource,
};

use crate::meetings::channels::Request;

use crate::decision::Decision;
use crate::endpoint::peer::PeerKey;
use crate::endpoint::timers::Timer;
use crate::endpoint::Endpoint;
use crate::meetings::participant::Participant;
use crate::meetings::said::Said;
use crate::meetings::Meetings;
use crate::output::{Disconnect, Output};
use crate::policy::{EveryoneSeesEveryone, SubscriptionPolicy};
use crate::router::Router;
use crate::sfu::session::Departed;
use crate::{SfuConfig, SfuError};

/// The SFU: every meeting, participant and connection on this server.
#[derive(Debug)]
pub struct Sfu {
    config: SfuConfig,
    policy: Box<dyn SubscriptionPolicy>,
    /// Every meeting and everyone in one.
    meetings: Meetings,
    /// What each participant publishes and receives, and which slots each track feeds.
    router: Router,
    /// Connection routing, deadlines and the connections to drive.
    endpoint: Endpoint,
    outputs: VecDeque<Output>,
    next_id: u64,
    now: Instant,
    /// Sessions that lost their connection recently, by their resume token's hash.
    departed: HashMap<ResumeHash, Departed>,
    /// What participants who left had counted (server totals).
    departed_counters: crate::metrics::Counters,
    /// Meetings whose recording the last run left running, until each meets again.
    interrupted_recordings: std::collections::HashSet<MeetingName>,
    #[cfg(feature = "danger-test-attacks")]
    attacks: attacks::Attacks,
}

impl Sfu {
    /// A new SFU with the default subscription policy.
    pub fn new(config: SfuConfig, now: Instant) -> Self {
        Self::with_policy(config, Box::new(EveryoneSeesEveryone), now)
    }

    /// A new SFU with a given subscription policy.
    pub fn with_policy(
        mut config: SfuConfig,
        policy: Box<dyn SubscriptionPolicy>,
        now: Instant,
    ) -> Self {
        let first_id = config.first_participant_id.max(1);
        let interrupted_recordings = std::mem::take(&mut config.interrupted_recordings);
        let router = Router::new(config.keyframe_throttle, config.record_decisions);
        Self {
            config,
            policy,
            meetings: Meetings::default(),
            router,
            endpoint: Endpoint::new(now),
            outputs: VecDeque::new(),
            next_id: first_id,
            now,
            departed: HashMap::new(),
            departed_counters: crate::metrics::Counters::default(),
            interrupted_recordings,
            #[cfg(feature = "danger-test-attacks")]
            attacks: Default::default(),
        }
    }

    /// Number of meetings with someone in them.
    pub fn meeting_count(&self) -> usize {
        self.meetings.meeting_count()
    }

    /// Number of participants on this server.
    pub fn participant_count(&self) -> usize {
        self.meetings.participant_count()
    }

    /// The participants of a meeting, in order of entry.
    pub fn members(&self, meeting: &MeetingName) -> Vec<ParticipantId> {
        self.meetings
            .meeting(meeting)
            .map(|m| m.members().to_vec())
            .unwrap_or_default()
    }

    /// Remote addresses the media port currently routes (one per ICE-validated connection).
    pub fn route_count(&self) -> usize {
        self.endpoint.route_count()
    }

    /// Datagrams dropped before reaching any connection: unparseable, or from an address that
    /// no connection's ICE has validated.
    pub fn dropped(&self) -> u64 {
        self.endpoint.dropped()
    }

    /// Takes the decisions recorded since the last call (only with `record_decisions`).
    pub fn take_decisions(&mut self) -> Vec<Decision> {
        self.router.take_decisions()
    }

    /// Handles one signaling message from an admitted participant. `wall_ms` is the wall-clock
    /// time (Unix milliseconds) the runtime received it, used to stamp chat.
    pub fn handle_message(
        &mut self,
        now: Instant,
        id: ParticipantId,
        msg: MeetingMessage,
        wall_ms: u64,
    ) -> Result<(), SfuError> {
        self.now = now;
        let waiting = !self
            .meetings
            .heard_from(id, now)
            .ok_or(SfuError::UnknownParticipant)?;
        match msg {
            MeetingMessage::Ping {} => {
                self.signal(id, ServerMessage::Pong {});
                Ok(())
            }
            MeetingMessage::Display { tiles } => self.handle_display(now, id, &tiles),
            MeetingMessage::IceRestart {} => {
                // A subscribing connection with no m-line yet has no path to restart (an
                // offer would be empty, which a WebRTC stack may refuse): its first offer
                // starts ICE afresh anyway.
                let initial = self.config.initial_bandwidth;
                if !self.router.restart_ice(&mut self.endpoint, id, initial) {
                    return Ok(());
                }
                self.offer_if_needed(id);
                self.reallocate(id, now);
                Ok(())
            }
            MeetingMessage::Leave {} => {
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
            MeetingMessage::Admit { participant } => self.admit(id, participant),
            MeetingMessage::Deny { participant } => self.deny(id, participant),
            MeetingMessage::AllowAgain { invitation } => self.allow_again(id, invitation),
            MeetingMessage::MuteParticipant { participant } => {
                self.mute_participant(id, participant)
            }
            MeetingMessage::Remove { participant } => self.remove_participant(id, participant),
            MeetingMessage::Lock { locked } => self.lock(id, locked),
            MeetingMessage::EndMeeting {} => self.end_meeting(id),
            MeetingMessage::Publish { sdp, tracks } => self.handle_publish(id, &sdp, &tracks),
            MeetingMessage::View { tiles, slots } => self.handle_view(now, id, &tiles, slots),
            MeetingMessage::SubscribeAnswer { sdp } => self.handle_subscribe_answer(now, id, &sdp),
            MeetingMessage::Mute { source, muted } => {
                self.meetings.set_muted(id, source, muted)?;
                if source == TrackSource::Microphone && !muted {
                    self.hold_microphone(id, false);
                }
                self.broadcast_update(id);
                Ok(())
            }
            MeetingMessage::Chat { text, sealed } => {
                let keep = self.config.chat_history;
                let (msg, members) = self.meetings.chat(now, id, text, sealed, wall_ms, keep)?;
                let said = crate::meetings::said::to_each(
                    members.iter().copied(),
                    &ServerMessage::Chat(msg.clone()),
                );
                self.carry_out(said);
                #[cfg(feature = "danger-test-attacks")]
                self.attack_chat(&msg, &members);
                Ok(())
            }
            MeetingMessage::E2ee { to, data, keys } => {
                let said = self.meetings.relay_e2ee(now, id, to, data, keys)?;
                self.carry_out(said);
                Ok(())
            }
            MeetingMessage::Listen { channel } => {
                self.interpretation_request(id, Request::Listen(channel))
            }
            MeetingMessage::TakeMic {} => self.interpretation_request(id, Request::TakeMic),
            MeetingMessage::HandOver { to } => {
                self.interpretation_request(id, Request::HandOver(to))
            }
            MeetingMessage::ReleaseMic {} => self.interpretation_request(id, Request::ReleaseMic),
            MeetingMessage::SetDirection { into } => {
                self.interpretation_request(id, Request::SetDirection(into))
            }
            MeetingMessage::StartRecording {} => self.set_recording(id, true),
            MeetingMessage::StopRecording {} => self.set_recording(id, false),
            MeetingMessage::RecordingKey { data } => self.recording_key_from(now, id, data),
            MeetingMessage::AddLanguage { language } => {
                self.interpretation_request(id, Request::AddLanguage(language))
            }
        }
    }

    /// The participant `id`, or the error for a request from someone who already left.
    pub(crate) fn participant(&self, id: ParticipantId) -> Result<&Participant, SfuError> {
        self.meetings
            .participant(id)
            .ok_or(SfuError::UnknownParticipant)
    }

    /// The participant's page closed its signaling connection (it left, or the tab closed):
    /// they leave at once.
    pub fn handle_closed(&mut self, now: Instant, id: ParticipantId) {
        self.now = now;
        if let Some(p) = self.meetings.remove(id) {
            self.cleanup(p, "left the meeting", true);
        }
    }

    /// The participant's signaling connection was lost without a close from the page (a
    /// network that dropped): in the meeting they stay, reconnecting, for the resume window.
    pub fn handle_lost(&mut self, now: Instant, id: ParticipantId) {
        self.now = now;
        self.connection_lost(id, now);
    }

    /// A datagram arrived on the media port (`Protocol::Udp`), or a packet on a media TCP
    /// connection (`Protocol::Tcp`, unframed: RFC 4571 framing is the runtime's).
    pub fn handle_receive(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.now = now;
        let Ok(input) = Receive::new(proto, source, destination, data) else {
            self.endpoint.drop_unparsed();
            return;
        };
        let input = Input::Receive(now, input);
        // STUN has the top two bits of its first byte clear (RFC 7983).
        let is_stun = data.first().is_some_and(|b| *b < 4);
        let Some(key) = self.endpoint.route(proto, source, &input, is_stun) else {
            return;
        };
        let Some(peer) = self.endpoint.peer_mut(key) else {
            return;
        };
        if let Err(e) = peer.rtc.handle_input(input) {
            tracing::debug!(participant = %key.participant, "input refused: {e}");
        }
        self.drain(key, now);
    }

    /// Time has passed: drive the connections that are due, check heartbeats.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.endpoint.due(now);
        for timer in Timer::ALL {
            if self.endpoint.fire(timer, now) {
                match timer {
                    Timer::Housekeeping => self.housekeeping(now),
                    // Layer rates change as publishers' encoders adapt: choose again.
                    Timer::Reallocate => self.reallocate_all(now),
                }
            }
        }
    }

    /// The next thing for the runtime to do.
    pub fn poll_output(&mut self) -> Output {
        loop {
            if let Some(o) = self.outputs.pop_front() {
                return o;
            }
            if let Some(key) = self.endpoint.next_dirty() {
                self.drive(key);
                continue;
            }
            return Output::Timeout(self.endpoint.next_timeout().max(self.now));
        }
    }

    fn housekeeping(&mut self, now: Instant) {
        let timeout = self.config.heartbeat_timeout;
        let silent: Vec<ParticipantId> = self
            .meetings
            .participants()
            .filter(|p| p.reconnecting().is_none())
            .filter(|p| now.saturating_duration_since(p.last_seen()) > timeout)
            .map(|p| p.id)
            .collect();
        for id in silent {
            self.heartbeat_lost(id, now);
        }
        self.expire_reconnecting(now);
        self.renew_ice_servers(now);
        for (id, poor, uplink) in self.meetings.judge_uplinks(now) {
            self.broadcast_update(id);
            self.signal(id, ServerMessage::YourUplink { poor, uplink });
        }
        self.router
            .send_deferred_keyframe_requests(&mut self.endpoint, now);
        self.expire_departed(now);
        #[cfg(feature = "danger-test-attacks")]
        self.attack_misroute(now);
    }

    fn drive(&mut self, key: PeerKey) {
        let now = self.now;
        let Some(peer) = self.endpoint.peer_mut(key) else {
            return;
        };
        peer.dirty = false;
        if let Err(e) = peer.rtc.handle_input(Input::Timeout(now)) {
            tracing::debug!(participant = %key.participant, "timeout refused: {e}");
        }
        self.drain(key, now);
    }

    /// Polls one connection until it asks for a timeout, acting on its events.
    pub(crate) fn drain(&mut self, key: PeerKey, now: Instant) {
        loop {
            let Some(peer) = self.endpoint.peer_mut(key) else {
                return;
            };
            match peer.rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => {
                    if peer.deadline != t || t <= now {
                        peer.deadline = t;
                        self.endpoint.schedule(t, key);
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

    /// Carries out what the meetings decided, in order.
    pub(crate) fn carry_out(&mut self, said: impl IntoIterator<Item = Said>) {
        for s in said {
            match s {
                Said::To(to, msg) => self.signal(to, msg),
                Said::Record(meeting, event) => self.record(&meeting, event),
                Said::Event(e) => self.outputs.push_back(Output::Event(e)),
            }
        }
    }

    pub(crate) fn signal(&mut self, to: ParticipantId, msg: ServerMessage) {
        // Held while the participant is reconnecting, sent when they are back.
        if let Some(msg) = self.meetings.hold(to, msg) {
            self.outputs.push_back(Output::Signal(to, msg));
        }
    }

    /// What others are told of a participant: who they are and what they publish.
    pub(crate) fn info(&self, id: ParticipantId) -> Option<ParticipantInfo> {
        let p = self.meetings.participant(id)?;
        Some(p.info(self.router.media(id)))
    }

    /// Tells everyone else in the meeting about a participant's new state.
    pub(crate) fn broadcast_update(&mut self, id: ParticipantId) {
        let (Some(p), Some(info)) = (self.meetings.participant(id), self.info(id)) else {
            return;
        };
        let members = self
            .meetings
            .meeting(&p.meeting)
            .map(|m| m.members().to_vec())
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
}
