//! The meetings: who is in which meeting and may do what, and everything the meeting itself
//! decides (the lobby, moderation, chat, the key exchange relay, interpretation, recording and
//! the record). No str0m type lives here: what people publish and receive is the router's,
//! their connections the endpoint's.

pub(crate) mod budget;
pub(crate) mod channels;
pub(crate) mod chat;
pub(crate) mod e2ee;
pub(crate) mod interpretation;
pub(crate) mod lobby;
pub(crate) mod meeting;
pub(crate) mod moderation;
pub(crate) mod outbox;
pub(crate) mod participant;
pub(crate) mod recording;
pub(crate) mod said;
pub(crate) mod turn;
pub(crate) mod uplink;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use summit_proto::{
    MeetingName, ParticipantId, ResumeHash, ResumeToken, ServerMessage, TrackSource, Uplink,
};

use crate::meetings::meeting::Meeting;
use crate::meetings::participant::{Admission, Participant};
use crate::SfuError;

/// Every meeting on this server and everyone in one. The only writer of membership: each
/// participant's `meeting` is open, and they are in its lobby while waiting and in its
/// members once admitted (from the moment [`Meetings::wait`] or [`Meetings::enter`] placed
/// them until [`Meetings::remove`]).
#[derive(Debug, Default)]
pub(crate) struct Meetings {
    by_name: HashMap<MeetingName, Meeting>,
    /// Ordered, so that every walk over participants is deterministic.
    participants: BTreeMap<ParticipantId, Participant>,
}

impl Meetings {
    /// Participant `id`.
    pub(crate) fn participant(&self, id: ParticipantId) -> Option<&Participant> {
        self.participants.get(&id)
    }

    /// Participant `id`, to change (not their meeting: see [`Meetings::enter`]). Only the
    /// meetings change a participant.
    pub(super) fn participant_mut(&mut self, id: ParticipantId) -> Option<&mut Participant> {
        self.participants.get_mut(&id)
    }

    /// Everyone, waiting or admitted, in id order.
    pub(crate) fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.participants.values()
    }

    /// Everyone, to change (not their meeting), in id order.
    pub(super) fn participants_mut(&mut self) -> impl Iterator<Item = &mut Participant> {
        self.participants.values_mut()
    }

    /// Number of participants, waiting or admitted.
    pub(crate) fn participant_count(&self) -> usize {
        self.participants.len()
    }

    /// The meeting called `name`, while someone is in it.
    pub(crate) fn meeting(&self, name: &MeetingName) -> Option<&Meeting> {
        self.by_name.get(name)
    }

    /// The meeting called `name`, to change.
    pub(crate) fn meeting_mut(&mut self, name: &MeetingName) -> Option<&mut Meeting> {
        self.by_name.get_mut(name)
    }

    /// Every meeting with someone in it.
    pub(crate) fn meetings(&self) -> impl Iterator<Item = (&MeetingName, &Meeting)> {
        self.by_name.iter()
    }

    /// Number of meetings with someone in them.
    pub(crate) fn meeting_count(&self) -> usize {
        self.by_name.len()
    }

    /// The admitted members of `id`'s meeting, in order of entry (none if `id` is gone).
    pub(crate) fn members_of(&self, id: ParticipantId) -> Vec<ParticipantId> {
        self.participants
            .get(&id)
            .and_then(|p| self.by_name.get(&p.meeting))
            .map(|m| m.members.clone())
            .unwrap_or_default()
    }

    /// The meeting `name`, opened with `open` if nobody is in it yet.
    pub(crate) fn open(
        &mut self,
        name: &MeetingName,
        open: impl FnOnce() -> Meeting,
    ) -> &mut Meeting {
        self.by_name.entry(name.clone()).or_insert_with(open)
    }

    /// A participant arrives. They are in neither the lobby nor the meeting until
    /// [`Meetings::wait`] or [`Meetings::enter`] puts them there.
    pub(crate) fn insert(&mut self, p: Participant) {
        self.participants.insert(p.id, p);
    }

    /// `id` waits in their meeting's lobby.
    pub(crate) fn wait(&mut self, id: ParticipantId) {
        let Some(p) = self.participants.get(&id) else {
            return;
        };
        if let Some(m) = self.by_name.get_mut(&p.meeting) {
            if !m.lobby.contains(&id) {
                m.lobby.push(id);
            }
        }
    }

    /// `id` is admitted into their meeting (from the lobby, or at once). Returns the members
    /// who were there before them.
    pub(crate) fn enter(&mut self, id: ParticipantId) -> Vec<ParticipantId> {
        let Some(p) = self.participants.get_mut(&id) else {
            return Vec::new();
        };
        p.admission = Admission::Admitted;
        let Some(m) = self.by_name.get_mut(&p.meeting) else {
            return Vec::new();
        };
        m.lobby.retain(|x| *x != id);
        let others = m.members.clone();
        if !m.members.contains(&id) {
            m.members.push(id);
        }
        others
    }

    /// `id` leaves: out of their meeting's members or lobby, and returned. Their meeting stays
    /// open, even if empty, until [`Meetings::close_if_empty`].
    pub(crate) fn remove(&mut self, id: ParticipantId) -> Option<Participant> {
        let p = self.participants.remove(&id)?;
        if let Some(m) = self.by_name.get_mut(&p.meeting) {
            m.members.retain(|x| *x != id);
            m.lobby.retain(|x| *x != id);
        }
        Some(p)
    }

    /// Holds a message for `to` while they reconnect; gives it back if they are connected (or
    /// gone), to be sent now.
    pub(crate) fn hold(&mut self, to: ParticipantId, msg: ServerMessage) -> Option<ServerMessage> {
        match self.participants.get_mut(&to) {
            Some(p) if p.reconnecting.is_some() => {
                p.outbox.hold(msg);
                None
            }
            _ => Some(msg),
        }
    }

    /// A message from `id` arrived at `now` (they are alive). Whether they are admitted.
    pub(crate) fn heard_from(&mut self, id: ParticipantId, now: Instant) -> Option<bool> {
        let p = self.participants.get_mut(&id)?;
        p.last_seen = now;
        Some(p.admitted())
    }

    /// `id` muted or unmuted their microphone, or turned their camera off or on.
    pub(crate) fn set_muted(
        &mut self,
        id: ParticipantId,
        source: TrackSource,
        muted: bool,
    ) -> Result<(), SfuError> {
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant)?;
        match source {
            TrackSource::Microphone => p.microphone_muted = muted,
            TrackSource::Camera => p.camera_off = muted,
            TrackSource::Screen => {
                return Err(SfuError::Invalid(
                    "a screen share is stopped, not muted".into(),
                ))
            }
        }
        Ok(())
    }

    /// `id`'s connection was lost at `now`: they are reconnecting. Their meeting, unless they
    /// already were.
    pub(crate) fn reconnecting(&mut self, id: ParticipantId, now: Instant) -> Option<MeetingName> {
        let p = self.participants.get_mut(&id)?;
        if p.reconnecting.is_some() {
            return None;
        }
        p.reconnecting = Some(now);
        Some(p.meeting.clone())
    }

    /// `id`'s page is back at `now`: they are connected again. Returns the messages held for
    /// them, in order, and the poor uplink they were last told of (the page draws its own tile
    /// again).
    pub(crate) fn back(
        &mut self,
        id: ParticipantId,
        now: Instant,
    ) -> Option<(Vec<ServerMessage>, Option<Uplink>)> {
        let p = self.participants.get_mut(&id)?;
        p.reconnecting = None;
        p.last_seen = now;
        let uplink = p.uplink.poor.then_some(p.uplink.told).flatten();
        Some((p.outbox.take(), uplink))
    }

    /// `id`'s session has a new resume token (the old one is spent): returns the old hash.
    pub(crate) fn rotate_token(
        &mut self,
        id: ParticipantId,
        token: ResumeToken,
        hash: ResumeHash,
    ) -> Option<ResumeHash> {
        let p = self.participants.get_mut(&id)?;
        p.resume_token = Some(token);
        Some(std::mem::replace(&mut p.resume, hash))
    }

    /// Hands over `id`'s resume token, once, for their welcome.
    pub(crate) fn take_resume_token(&mut self, id: ParticipantId) -> Option<ResumeToken> {
        self.participants.get_mut(&id)?.resume_token.take()
    }

    /// Closes `name` if nobody is in it any more, returning what it was.
    pub(crate) fn close_if_empty(&mut self, name: &MeetingName) -> Option<Meeting> {
        if self.by_name.get(name).is_some_and(Meeting::is_empty) {
            self.by_name.remove(name)
        } else {
            None
        }
    }
}
