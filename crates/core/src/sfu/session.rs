//! Sessions: a participant's life in a meeting. Entry (checks, lobby or straight in), resumption
//! after a lost connection by the page's resume token, the welcome, and leaving.

use std::time::Instant;

use str0m::bwe::Bitrate;
use summit_proto::RecordEvent;
use summit_proto::{
    Capabilities, Capability, CloseCode, DeniedInvitation, InvitationId, Language, LanguagePair,
    MeetingName, ParticipantId, RecordingKeyMac, RecordingPublicKey, ResumeHash, ResumeToken, Role,
    ServerMessage, TrackSource, PROTOCOL_VERSION,
};

use crate::endpoint::peer::Peer;
use crate::meetings::budget::TokenBucket;
use crate::meetings::meeting::Meeting;
use crate::meetings::meeting::Opening;
use crate::meetings::participant::{Admission, Participant};
use crate::output::{Disconnect, Output, SfuEvent};
use crate::{Sfu, SfuError};

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
    /// For an interpreter: the pair their invitation names.
    pub interprets: Option<LanguagePair>,
}

/// What the registry holds of the meeting a join names; the core merges it into the running
/// meeting (or starts the meeting with it).
#[derive(Debug, Clone, Default)]
pub struct MeetingSettings {
    /// The language channels as registered.
    pub languages: Vec<Language>,
    /// The recording key as registered, if any (encrypted meetings need one to be recorded).
    pub recording_key: Option<RecordingKey>,
    /// Invitations a host of this meeting denied.
    pub denied: Vec<DeniedInvitation>,
    /// A host had locked the meeting when the server last ran it (a restart keeps the lock).
    pub locked: bool,
}

/// The organizer's recording key of an encrypted meeting, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingKey {
    /// The public key.
    pub key: RecordingPublicKey,
    /// The organizer's MAC over it under a key derived from the meeting secret; pages seal
    /// nothing to a key without a MAC they can check.
    pub mac: Option<RecordingKeyMac>,
}

/// A request to enter a meeting, after the edge verified the invitation.
#[derive(Debug, Clone)]
pub struct JoinRequest {
    /// The meeting named by the page's link (and its invitation).
    pub meeting: MeetingName,
    /// Who.
    pub identity: Identity,
    /// The meeting as registered.
    pub settings: MeetingSettings,
    /// The hash of the resume token the page presented, to take back its session.
    pub resume: Option<ResumeHash>,
    /// With `resume`: the page still has its media connections, so a session still here keeps
    /// its own and goes on as it was (otherwise it starts again with fresh ones).
    pub keep_media: bool,
    /// The page receives cameras through video slots its `view` points, not an m-line per
    /// camera.
    pub video_slots: bool,
    /// The token this session gets (the page learns it; only `token_hash` is kept).
    pub token: ResumeToken,
    /// Its SHA-256.
    pub token_hash: ResumeHash,
    /// The invitation has a use left, so it may enter as someone new if it cannot resume.
    pub allow_new: bool,
    /// The registry knew the presented token from before a restart (this process never saw
    /// it): the page returns without a use, past the lock, and admitted if it was.
    pub restored: Option<Restored>,
}

/// A session the registry kept across a restart of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// It had been let in (not waiting in the lobby).
    pub admitted: bool,
    /// Its participant id, which it keeps (ids are counted past every id given before, so it
    /// is free).
    pub participant: ParticipantId,
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

/// A session that lost its connection, kept so that its resume token can take it back.
#[derive(Debug)]
pub(crate) struct Departed {
    id: ParticipantId,
    meeting: MeetingName,
    invitation: InvitationId,
    admitted: bool,
    at: Instant,
}

impl Sfu {
    /// Lets in a participant whose invitation the edge has verified. Hosts and invitations that
    /// skip the lobby enter at once; everyone else waits in the lobby. A request carrying the
    /// resume token of a session of the same invitation takes it back (within the grace
    /// period, or replacing a connection still open): same id, lobby skipped if it had been
    /// let in. Without a token nothing is replaced or inherited. Without `allow_new` (no use
    /// left) only a resume may enter.
    pub fn join(&mut self, now: Instant, req: JoinRequest) -> Result<Joined, SfuError> {
        self.now = now;
        let JoinRequest {
            meeting,
            identity,
            settings,
            resume,
            keep_media,
            video_slots,
            token,
            token_hash,
            allow_new,
            restored,
        } = req;
        if keep_media {
            let back = resume.and_then(|r| self.reattachable(r, &meeting, &identity.invitation));
            if let Some(id) = back {
                self.rotate_token(id, token, token_hash);
                self.reattach(id, now);
                return Ok(Joined {
                    id,
                    resumed: true,
                    admitted: true,
                });
            }
        }
        let resumed = resume.and_then(|r| self.resumable(r, &meeting, &identity.invitation, now));
        if resumed.is_none() && restored.is_none() && !allow_new {
            return Err(SfuError::NotResumable);
        }
        let moderator = identity.capabilities.has(Capability::Moderate);
        let admitted = resumed.is_some_and(|r| r.1)
            || restored.is_some_and(|r| r.admitted)
            || moderator
            || identity.skip_lobby;
        if resumed.is_none() {
            match self.meetings.meeting(&meeting) {
                Some(m) => self.may_enter(m, &identity, admitted, restored.is_some())?,
                // Locked before a restart: only those who were in come back.
                None if settings.locked && restored.is_none() => return Err(SfuError::Locked),
                None => {}
            }
        }
        let restored_id = restored
            .map(|r| r.participant)
            .filter(|p| p.0 > 0 && self.meetings.participant(*p).is_none())
            .filter(|p| !self.departed.values().any(|d| d.id == *p));
        let id = match (resumed, restored_id) {
            (Some((id, _)), _) => id,
            (None, Some(id)) => id,
            (None, None) => {
                let id = ParticipantId(self.next_id);
                self.next_id += 1;
                id
            }
        };
        let (e2ee, was_locked) = (identity.e2ee, settings.locked);
        let MeetingSettings {
            languages,
            recording_key,
            denied,
            ..
        } = settings;
        let relay = TokenBucket::new(
            self.config.relay_bytes_per_second as f64,
            self.config.relay_burst_bytes as f64,
            now,
        );
        let admission = Admission::from_admitted(admitted);
        let session = (token, token_hash);
        let p = Participant::new(
            id,
            meeting.clone(),
            identity,
            admission,
            now,
            session,
            relay,
        );
        let pair = p.interprets.clone();
        let invitation = p.invitation.clone();
        self.meetings.insert(p);
        self.router.add(id);
        if video_slots {
            self.router.use_video_slots(id);
        }
        self.connect(id, now);
        self.resumable_session(id);
        // A recording the restart cut is news for the first meeting after it only.
        let interrupted_recording = self.meetings.meeting(&meeting).is_none()
            && self.interrupted_recordings.remove(&meeting);
        if self.meetings.meeting(&meeting).is_none() {
            self.record(&meeting, RecordEvent::MeetingStarted {});
        }
        // Back after a restart: still locked if it was.
        let opening = Opening {
            e2ee,
            locked: was_locked,
            recording_interrupted: interrupted_recording,
            audio_redundancy: self.config.audio_redundancy,
        };
        let m = self.meetings.open(&meeting, || Meeting::new(opening));
        // Channels registered (or a pair invited) since the meeting began join it now.
        let added = m.update(recording_key, denied, languages, pair.as_ref());
        if added {
            self.interpretation_changed(&meeting);
        }
        if admitted {
            self.enter(id);
        } else {
            self.meetings.wait(id);
            tracing::debug!(participant = %id, %invitation, "waiting in the lobby");
            self.lobby_changed(&meeting);
        }
        Ok(Joined {
            id,
            resumed: resumed.is_some() || restored.is_some(),
            admitted,
        })
    }

    /// Whether someone new (not resuming) may enter `m`: same encryption, not locked, room
    /// for them, and, if they will wait in the lobby, an invitation that was not denied and
    /// does not already hold its share of the lobby.
    fn may_enter(
        &self,
        m: &Meeting,
        identity: &Identity,
        admitted: bool,
        restored: bool,
    ) -> Result<(), SfuError> {
        if m.e2ee() != identity.e2ee {
            return Err(SfuError::EncryptionMismatch);
        }
        if m.locked() && !restored {
            return Err(SfuError::Locked);
        }
        let moderator = identity.capabilities.has(Capability::Moderate);
        let present = m.members().len() + m.lobby().len();
        let room = if moderator {
            self.config.max_participants + self.config.host_seats
        } else {
            self.config.max_participants
        };
        if present >= room {
            return Err(SfuError::MeetingFull);
        }
        if !admitted {
            if m.is_denied(&identity.invitation) {
                return Err(SfuError::Denied);
            }
            let waiting = m
                .lobby()
                .iter()
                .filter_map(|w| self.meetings.participant(*w))
                .filter(|w| w.invitation == identity.invitation)
                .count();
            if waiting >= self.config.max_lobby_per_invitation {
                return Err(SfuError::LobbyFull);
            }
        }
        Ok(())
    }

    /// The session whose token hashes to `hash` may be taken back by this invitation: it left
    /// within the grace period, or its old connection is still here (then it is replaced, at
    /// once: that is how a page comes back after a network change). Returns its id and
    /// whether it had been let in.
    fn resumable(
        &mut self,
        hash: ResumeHash,
        meeting: &MeetingName,
        invitation: &InvitationId,
        now: Instant,
    ) -> Option<(ParticipantId, bool)> {
        let live = self
            .meetings
            .participants()
            .find(|p| p.resume() == hash)
            .map(|p| (p.id, &p.meeting == meeting && &p.invitation == invitation));
        if let Some((id, matches)) = live {
            if !matches {
                return None;
            }
            let p = self.meetings.remove(id)?;
            let admitted = p.admitted();
            // Not resumable again: the token rotates, the old one is spent.
            self.cleanup(p, "reconnected", false);
            return Some((id, admitted));
        }
        let d = self.departed.get(&hash)?;
        if &d.meeting != meeting
            || &d.invitation != invitation
            || now > d.at + self.config.resume_window
        {
            return None;
        }
        let (id, admitted) = (d.id, d.admitted);
        self.departed.remove(&hash);
        self.outputs
            .push_back(Output::Event(SfuEvent::ResumeEnded(hash)));
        Some((id, admitted))
    }

    /// The session still here (reconnecting, or with its old connection still open) that the
    /// token `hash` of this invitation may take back as it is.
    fn reattachable(
        &self,
        hash: ResumeHash,
        meeting: &MeetingName,
        invitation: &InvitationId,
    ) -> Option<ParticipantId> {
        let p = self.meetings.participants().find(|p| p.resume() == hash)?;
        let ours = &p.meeting == meeting && &p.invitation == invitation;
        (ours && self.may_reattach(p.id)).then_some(p.id)
    }

    /// A session taken back gets a new token; the old one is spent.
    fn rotate_token(&mut self, id: ParticipantId, token: ResumeToken, hash: ResumeHash) {
        let Some(old) = self.meetings.rotate_token(id, token, hash) else {
            return;
        };
        self.outputs
            .push_back(Output::Event(SfuEvent::ResumeEnded(old)));
        self.resumable_session(id);
    }

    /// Tells the runtime to keep this session's token hash (in the registry: it outlives a
    /// restart), with whether the session has been let in.
    fn resumable_session(&mut self, id: ParticipantId) {
        if let Some(p) = self.meetings.participant(id) {
            let e = SfuEvent::Resumable {
                hash: p.resume(),
                meeting: p.meeting.clone(),
                invitation: p.invitation.clone(),
                participant: id,
                name: p.name.clone(),
                admitted: p.admitted(),
            };
            self.outputs.push_back(Output::Event(e));
        }
    }

    /// Sessions that lost their connection longer ago than the grace period are gone for good.
    pub(crate) fn expire_departed(&mut self, now: Instant) {
        let expired: Vec<ResumeHash> = self
            .departed
            .iter()
            .filter(|(_, d)| now > d.at + self.config.resume_window)
            .map(|(h, _)| *h)
            .collect();
        for h in expired {
            self.departed.remove(&h);
            self.outputs
                .push_back(Output::Event(SfuEvent::ResumeEnded(h)));
        }
    }

    /// Gives a participant two fresh connections, in place of any they had (only the
    /// subscribing one estimates bandwidth).
    fn connect(&mut self, id: ParticipantId, now: Instant) {
        let c = &self.config;
        let peer = |bwe| Peer::new(now, c.public_addr, c.tcp_addr, bwe, c.audio_redundancy);
        let publisher = peer(None);
        let subscriber = peer(c.initial_bandwidth.map(Bitrate::bps));
        self.endpoint.connect(id, publisher, subscriber);
    }

    /// An admitted participant enters the meeting: welcome, tell the others, subscribe.
    pub(crate) fn enter(&mut self, id: ParticipantId) {
        let Some(was_admitted) = self.meetings.participant(id).map(|p| p.admitted()) else {
            return;
        };
        if !was_admitted {
            // Connections made when they came would time out before a long wait in the lobby
            // ends (DTLS gives up 40 s after it starts): the page connects from now on.
            self.connect(id, self.now);
        }
        let media = self.router.media(id);
        let Some(p) = self.meetings.participant(id) else {
            return;
        };
        let interpreter = p.interprets.is_some();
        let info = p.info(media);
        let joined = RecordEvent::Joined {
            participant: id.0,
            name: p.name.clone(),
            role: p.role.to_string(),
            invitation: p.invitation.0.clone(),
        };
        let meeting = p.meeting.clone();
        let others = self.meetings.enter(id);
        if !was_admitted {
            self.resumable_session(id);
        }
        self.record(&meeting, joined);
        self.meetings.seat_interpreter(id);
        let recording = self
            .meetings
            .meeting(&meeting)
            .is_some_and(|m| m.recording());
        let now = self.now;
        self.router
            .set_recording(&mut self.endpoint, id, recording, now);
        if let Some(welcome) = self.welcome(id, false) {
            self.signal(id, welcome);
        }
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
        // Their speaker slots (after the welcome, which pages expect first).
        self.enter_room(id);
        // Subscribe the newcomer to every track already published.
        for o in others {
            let sources: Vec<TrackSource> = self
                .router
                .media(o)
                .map(|p| p.sources().collect())
                .unwrap_or_default();
            for s in sources {
                self.subscribe_if_policy(id, o, s);
            }
        }
        self.offer_if_needed(id);
        self.lobby_changed(&meeting);
    }

    /// The welcome for `id` as the meeting is now, handing over its resume token; `resumed`
    /// when its session went on while the page was away.
    pub(crate) fn welcome(&mut self, id: ParticipantId, resumed: bool) -> Option<ServerMessage> {
        let resume_token = self.meetings.take_resume_token(id)?;
        let now = self.now;
        let ice_servers = self.mint_ice_servers(id, now);
        let p = self.meetings.participant(id)?;
        let (info, caps, meeting) = (self.info(id)?, p.capabilities, p.meeting.clone());
        let m = self.meetings.meeting(&meeting)?;
        let e2ee = m.e2ee();
        let (recording_key, recording_key_mac) = match m.recording_key() {
            Some(k) if e2ee => (Some(k.key.clone()), k.mac.clone()),
            _ => (None, None),
        };
        #[cfg(feature = "danger-test-attacks")]
        let e2ee = self.attack_claimed_e2ee(e2ee);
        let participants = m
            .members()
            .iter()
            .filter(|o| **o != id)
            .filter_map(|o| self.info(*o))
            .collect();
        Some(ServerMessage::Welcome {
            version: PROTOCOL_VERSION,
            participant_id: id,
            meeting,
            name: info.name,
            role: info.role,
            can_publish: caps.has(Capability::Publish) || caps.has(Capability::PublishAudio),
            can_publish_video: caps.has(Capability::Publish),
            can_chat: caps.has(Capability::Chat),
            can_moderate: caps.has(Capability::Moderate),
            locked: m.locked(),
            e2ee,
            recording: m.recording(),
            recording_by: m.recording_by().map(str::to_owned),
            recording_interrupted: m.recording_interrupted() && caps.has(Capability::Moderate),
            audio_redundancy: m.audio_redundancy(),
            recording_key,
            recording_key_mac,
            participants,
            chat: m.chat().cloned().collect(),
            heartbeat_ms: self.config.heartbeat_interval.as_millis() as u64,
            resume_token,
            resumed,
            ice_servers,
        })
    }

    /// Removes a participant and tells the runtime to close their connection.
    pub(crate) fn remove(&mut self, id: ParticipantId, why: Disconnect) {
        if let Some(p) = self.meetings.remove(id) {
            let reason = why.reason.clone();
            let resumable = why.code == CloseCode::HeartbeatTimeout;
            self.outputs.push_back(Output::Disconnect(id, why));
            self.cleanup(p, &reason, resumable);
        }
    }

    /// Undoes everything a departed participant took part in. A `resumable` departure (a lost
    /// connection) can be taken back by its resume token within the grace period.
    pub(crate) fn cleanup(&mut self, p: Participant, reason: &str, resumable: bool) {
        let id = p.id;
        if resumable {
            self.departed.insert(
                p.resume(),
                Departed {
                    id,
                    meeting: p.meeting.clone(),
                    invitation: p.invitation.clone(),
                    admitted: p.admitted(),
                    at: self.now,
                },
            );
        } else {
            self.outputs
                .push_back(Output::Event(SfuEvent::ResumeEnded(p.resume())));
        }
        let counted = self.counters(id);
        self.endpoint.disconnect(id);
        // Others stop receiving this participant's tracks, and theirs stop feeding them.
        let room = self.leave_room(id);
        let showing = self.router.tiles_showing(id);
        self.router.remove(id);
        if let Some((room, heard)) = room {
            self.speakers_changed(room, heard);
        }
        for sub in showing {
            self.point_video_slots(sub, self.now, true);
        }
        self.departed_counters += counted;
        let members = match self.meetings.meeting_mut(&p.meeting) {
            Some(m) => {
                m.count_departed(counted);
                m.members().to_vec()
            }
            None => Vec::new(),
        };
        if p.admitted() {
            let left = RecordEvent::Left {
                participant: id.0,
                name: p.name.clone(),
                reason: reason.to_owned(),
            };
            self.record(&p.meeting, left);
        }
        self.leave_interpretation(&p.meeting, id);
        // A page without RED leaving may let the others send it again.
        self.update_redundancy(&p.meeting);
        if let Some(m) = self.meetings.close_if_empty(&p.meeting) {
            if m.locked() {
                // The next time it meets, it starts unlocked.
                self.outputs.push_back(Output::Event(SfuEvent::LockChanged(
                    p.meeting.clone(),
                    false,
                )));
            }
            let reason = m.ending().unwrap_or("everyone left").to_owned();
            if m.recording() {
                let by = "the meeting ended".to_owned();
                self.record(&p.meeting, RecordEvent::RecordingStopped { by });
            }
            self.record(&p.meeting, RecordEvent::MeetingEnded { reason });
        }
        if !p.admitted() {
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
