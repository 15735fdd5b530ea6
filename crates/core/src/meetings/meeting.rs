//! Meeting: who is in it, and its recent chat.

use std::collections::VecDeque;

use summit_proto::{ChatMessage, DeniedInvitation, InvitationId, ParticipantId};

use crate::meetings::interpretation::Interpretation;
use crate::session::RecordingKey;

/// Most denied invitations a meeting remembers (the oldest are forgotten first; the registry
/// still refuses them at entry).
const MAX_DENIED: usize = 1000;

/// A meeting with at least one participant.
#[derive(Debug)]
pub(crate) struct Meeting {
    /// Admitted members in order of entry (kept by `Meetings`).
    pub(super) members: Vec<ParticipantId>,
    /// Participants waiting in the lobby, in order of arrival (kept by `Meetings`).
    pub(super) lobby: Vec<ParticipantId>,
    /// No one new enters while locked.
    pub(crate) locked: bool,
    /// Media and chat are end-to-end encrypted: set by the first invitation, fixed after.
    pub(crate) e2ee: bool,
    pub(crate) chat: VecDeque<ChatMessage>,
    /// Language channels, booths and who hears what.
    pub(crate) interpretation: Interpretation,
    /// Why the meeting is ending, once a host ended it (for the record's last entry).
    pub(crate) ending: Option<String>,
    /// Being recorded now.
    pub(crate) recording: bool,
    /// The host who started the recording running now.
    pub(crate) recording_by: Option<String>,
    /// The recording running when the server last stopped was cut there, and no host has
    /// started one since: hosts are told, and offered to start it again.
    pub(crate) recording_interrupted: bool,
    /// Pages send their microphone as RED: every page in it can receive RED (redundancy.rs).
    pub(crate) audio_redundancy: bool,
    /// The organizer's recording key (encrypted meetings are recorded sealed to it).
    pub(crate) recording_key: Option<RecordingKey>,
    /// Invitations hosts turned away: none of their holders may wait in the lobby.
    pub(crate) denied: Vec<DeniedInvitation>,
    /// What participants who left had counted.
    pub(crate) departed_counters: crate::metrics::Counters,
}

impl Meeting {
    pub(crate) fn new(e2ee: bool) -> Self {
        Self {
            members: Vec::new(),
            lobby: Vec::new(),
            locked: false,
            e2ee,
            chat: VecDeque::new(),
            interpretation: Interpretation::default(),
            ending: None,
            recording: false,
            recording_by: None,
            recording_interrupted: false,
            audio_redundancy: true,
            recording_key: None,
            denied: Vec::new(),
            departed_counters: crate::metrics::Counters::default(),
        }
    }

    /// Admitted members, in order of entry.
    pub(crate) fn members(&self) -> &[ParticipantId] {
        &self.members
    }

    /// Who waits in the lobby, in order of arrival.
    pub(crate) fn lobby(&self) -> &[ParticipantId] {
        &self.lobby
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty() && self.lobby.is_empty()
    }

    pub(crate) fn is_denied(&self, invitation: &InvitationId) -> bool {
        self.denied.iter().any(|d| &d.invitation == invitation)
    }

    /// Remembers a denied invitation (once).
    pub(crate) fn deny(&mut self, d: DeniedInvitation) {
        if self.is_denied(&d.invitation) {
            return;
        }
        if self.denied.len() >= MAX_DENIED {
            self.denied.remove(0);
        }
        self.denied.push(d);
    }

    /// Forgets a denial; false if the invitation was not denied.
    pub(crate) fn allow_again(&mut self, invitation: &InvitationId) -> bool {
        let before = self.denied.len();
        self.denied.retain(|d| &d.invitation != invitation);
        self.denied.len() != before
    }

    pub(crate) fn add_chat(&mut self, msg: ChatMessage, keep: usize) {
        self.chat.push_back(msg);
        while self.chat.len() > keep {
            self.chat.pop_front();
        }
    }
}
