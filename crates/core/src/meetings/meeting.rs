//! Meeting: who is in it, and its recent chat.

use std::collections::VecDeque;

use summit_proto::{
    ChatMessage, DeniedInvitation, InvitationId, Language, LanguagePair, ParticipantId,
};

use crate::meetings::channels::add_pair;
use crate::meetings::interpretation::Interpretation;
use crate::sfu::session::RecordingKey;

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
    pub(super) locked: bool,
    /// Media and chat are end-to-end encrypted: set by the first invitation, fixed after.
    pub(super) e2ee: bool,
    pub(super) chat: VecDeque<ChatMessage>,
    /// Language channels, booths and who hears what.
    pub(super) interpretation: Interpretation,
    /// Why the meeting is ending, once a host ended it (for the record's last entry).
    pub(super) ending: Option<String>,
    /// Being recorded now.
    pub(super) recording: bool,
    /// The host who started the recording running now.
    pub(super) recording_by: Option<String>,
    /// The recording running when the server last stopped was cut there, and no host has
    /// started one since: hosts are told, and offered to start it again.
    pub(super) recording_interrupted: bool,
    /// Pages send their microphone as RED: every page in it can receive RED (redundancy.rs).
    pub(super) audio_redundancy: bool,
    /// The organizer's recording key (encrypted meetings are recorded sealed to it).
    pub(super) recording_key: Option<RecordingKey>,
    /// Invitations hosts turned away: none of their holders may wait in the lobby.
    pub(super) denied: Vec<DeniedInvitation>,
    /// What participants who left had counted.
    pub(super) departed_counters: crate::metrics::Counters,
}

/// How a meeting opens: as its first participant finds it (after a restart, as it was left).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opening {
    /// End-to-end encrypted (fixed for its life).
    pub(crate) e2ee: bool,
    /// Locked before a restart.
    pub(crate) locked: bool,
    /// A recording was running when the server last stopped.
    pub(crate) recording_interrupted: bool,
    /// Pages may send RED (the server's setting).
    pub(crate) audio_redundancy: bool,
}

impl Meeting {
    pub(crate) fn new(o: Opening) -> Self {
        Self {
            members: Vec::new(),
            lobby: Vec::new(),
            locked: o.locked,
            e2ee: o.e2ee,
            chat: VecDeque::new(),
            interpretation: Interpretation::default(),
            ending: None,
            recording: false,
            recording_by: None,
            recording_interrupted: o.recording_interrupted,
            audio_redundancy: o.audio_redundancy,
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

    /// Media and chat are end-to-end encrypted.
    pub(crate) fn e2ee(&self) -> bool {
        self.e2ee
    }

    /// No one new enters.
    pub(crate) fn locked(&self) -> bool {
        self.locked
    }

    /// Being recorded now.
    pub(crate) fn recording(&self) -> bool {
        self.recording
    }

    /// The host who started the recording running now.
    pub(crate) fn recording_by(&self) -> Option<&str> {
        self.recording_by.as_deref().filter(|_| self.recording)
    }

    /// The last run's recording was cut by a restart, and none was started since.
    pub(crate) fn recording_interrupted(&self) -> bool {
        self.recording_interrupted
    }

    /// Pages send their microphone as RED.
    pub(crate) fn audio_redundancy(&self) -> bool {
        self.audio_redundancy
    }

    /// Whether pages may send RED now; true if that changed.
    pub(crate) fn set_audio_redundancy(&mut self, on: bool) -> bool {
        let changed = self.audio_redundancy != on;
        self.audio_redundancy = on;
        changed
    }

    /// The organizer's recording key.
    pub(crate) fn recording_key(&self) -> Option<&RecordingKey> {
        self.recording_key.as_ref()
    }

    /// The recent chat, oldest first.
    pub(crate) fn chat(&self) -> impl Iterator<Item = &ChatMessage> {
        self.chat.iter()
    }

    /// Why a host ended the meeting, once one did.
    pub(crate) fn ending(&self) -> Option<&str> {
        self.ending.as_deref()
    }

    /// What participants who left had counted.
    pub(crate) fn departed_counters(&self) -> crate::metrics::Counters {
        self.departed_counters
    }

    /// Adds what a participant who left had counted.
    pub(crate) fn count_departed(&mut self, counted: crate::metrics::Counters) {
        self.departed_counters += counted;
    }

    /// What the registry says of the meeting on each join (it may have changed since the
    /// meeting began): the recording key, denied invitations, language channels, and the pair
    /// an interpreter joining now interprets. True if a language channel was added.
    pub(crate) fn update(
        &mut self,
        recording_key: Option<RecordingKey>,
        denied: Vec<DeniedInvitation>,
        languages: Vec<Language>,
        pair: Option<&LanguagePair>,
    ) -> bool {
        if recording_key.is_some() {
            self.recording_key = recording_key;
        }
        for d in denied {
            self.deny(d);
        }
        let before = self.interpretation.languages().count();
        for l in languages {
            self.interpretation.add_language(l);
        }
        if let Some(pair) = pair {
            add_pair(&mut self.interpretation, pair);
        }
        self.interpretation.languages().count() != before
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
