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
pub(crate) mod record;
pub(crate) mod recording;
pub(crate) mod turn;
pub(crate) mod uplink;

use std::collections::{BTreeMap, HashMap};

use summit_proto::{MeetingName, ParticipantId, ServerMessage};

use crate::meetings::meeting::Meeting;
use crate::meetings::participant::{Admission, Participant};

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

    /// Participant `id`, to change (not their meeting: see [`Meetings::enter`]).
    pub(crate) fn participant_mut(&mut self, id: ParticipantId) -> Option<&mut Participant> {
        self.participants.get_mut(&id)
    }

    /// Everyone, waiting or admitted, in id order.
    pub(crate) fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.participants.values()
    }

    /// Everyone, to change (not their meeting), in id order.
    pub(crate) fn participants_mut(&mut self) -> impl Iterator<Item = &mut Participant> {
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

    /// Closes `name` if nobody is in it any more, returning what it was.
    pub(crate) fn close_if_empty(&mut self, name: &MeetingName) -> Option<Meeting> {
        if self.by_name.get(name).is_some_and(Meeting::is_empty) {
            self.by_name.remove(name)
        } else {
            None
        }
    }
}
