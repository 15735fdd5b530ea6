//! Language channels as mechanism: each listener of a channel has one audio slot whose source
//! the SFU re-points to the current interpreter at a handover (the forwarder keeps the
//! outgoing stream continuous), and the interpretation requests pages make. The policy (who
//! holds which microphone, who hears what) is [`crate::Interpretation`].

use summit_proto::{
    Capability, Language, LanguagePair, MeetingName, ParticipantId, ServerMessage, TrackSource,
};

use summit_proto::RecordEvent;

use crate::meetings::interpretation::{AudioRoute, Hearing, Interpretation, InterpretationEvent};
use crate::output::{Output, SfuEvent};
use crate::router::track::TrackRef;
use crate::{Sfu, SfuError};

/// A request a page makes about interpretation.
#[derive(Debug)]
pub(crate) enum Request {
    Listen(Option<Language>),
    TakeMic,
    HandOver(ParticipantId),
    ReleaseMic,
    SetDirection(Language),
    AddLanguage(Language),
}

impl Sfu {
    /// Serves one interpretation request and tells everyone what changed.
    pub(crate) fn interpretation_request(
        &mut self,
        id: ParticipantId,
        req: Request,
    ) -> Result<(), SfuError> {
        let p = self.participant(id)?;
        let meeting = p.meeting.clone();
        let moderator = p.capabilities.has(Capability::Moderate);
        let m = self
            .meetings
            .meeting_mut(&meeting)
            .ok_or(SfuError::UnknownParticipant)?;
        let i = &mut m.interpretation;
        match req {
            Request::Listen(channel) => {
                let wants_channel = channel.is_some();
                i.listen(id, channel.map_or(Hearing::Floor, Hearing::Channel))?;
                if wants_channel && self.router.add_channel_slot(id) {
                    self.offer_if_needed(id);
                }
                // Only this listener's slot and view change.
                self.feed_channels(&meeting);
                self.send_interpretation_state(id);
                return Ok(());
            }
            Request::TakeMic => i.take(id)?,
            Request::HandOver(to) => i.hand_over(id, to)?,
            Request::ReleaseMic => i.release(id)?,
            Request::SetDirection(into) => i.set_direction(id, into)?,
            Request::AddLanguage(l) => {
                if !moderator {
                    return Err(SfuError::NotAllowed("only a host adds language channels"));
                }
                if !i.add_language(l.clone()) {
                    return Ok(());
                }
                self.outputs
                    .push_back(Output::Event(SfuEvent::LanguageAdded(meeting.clone(), l)));
            }
        }
        self.interpretation_changed(&meeting);
        Ok(())
    }

    /// A participant enters: an interpreter takes their place in their booth (the pair's
    /// languages become channels if they were not).
    pub(crate) fn enter_interpretation(&mut self, id: ParticipantId) {
        let Some(p) = self.meetings.participant(id) else {
            return;
        };
        let Some(pair) = p.interprets.clone() else {
            return;
        };
        let meeting = p.meeting.clone();
        if let Some(m) = self.meetings.meeting_mut(&meeting) {
            add_pair(&mut m.interpretation, &pair);
            // Both languages are channels now, so this cannot fail.
            if let Err(e) = m.interpretation.join_interpreter(id, pair) {
                tracing::warn!(participant = %id, "interpreter not seated: {e}");
            }
        }
    }

    /// Whether `publisher`'s microphone goes to `listener` as a track of its own: the floor,
    /// or a booth partner. An interpreter reaches everyone else only through channels.
    pub(crate) fn direct_audio(&self, publisher: ParticipantId, listener: ParticipantId) -> bool {
        let Some(m) = self
            .meetings
            .participant(publisher)
            .and_then(|p| self.meetings.meeting(&p.meeting))
        else {
            return false;
        };
        matches!(
            m.interpretation.route(publisher, listener),
            Some(AudioRoute::Floor | AudioRoute::BoothLine)
        )
    }

    /// Acts on the policy's changes: re-points channel slots, tells every member the state.
    pub(crate) fn interpretation_changed(&mut self, meeting: &MeetingName) {
        let Some(m) = self.meetings.meeting_mut(meeting) else {
            return;
        };
        let mut handovers = Vec::new();
        while let Some(e) = m.interpretation.poll_event() {
            tracing::debug!(%meeting, ?e, "interpretation");
            if let InterpretationEvent::LeaseChanged { booth, holder } = e {
                handovers.push((booth, holder));
            }
        }
        for (booth, holder) in handovers {
            let name = holder.and_then(|h| self.meetings.participant(h).map(|p| p.name.clone()));
            let event = RecordEvent::Handover {
                booth: booth.to_string(),
                holder: holder.map(|h| h.0),
                name,
            };
            self.record(meeting, event);
        }
        let Some(m) = self.meetings.meeting_mut(meeting) else {
            return;
        };
        if !m.interpretation.is_active() {
            return;
        }
        let states: Vec<(ParticipantId, ServerMessage)> = m
            .members
            .iter()
            .map(|id| {
                let state = m.interpretation.state(*id);
                (*id, ServerMessage::Interpretation(state))
            })
            .collect();
        self.feed_channels(meeting);
        for (to, msg) in states {
            self.signal(to, msg);
        }
    }

    /// Tells one participant the interpretation state (on entry).
    pub(crate) fn send_interpretation_state(&mut self, id: ParticipantId) {
        let Some(m) = self
            .meetings
            .participant(id)
            .and_then(|p| self.meetings.meeting(&p.meeting))
        else {
            return;
        };
        if m.interpretation.is_active() {
            let msg = ServerMessage::Interpretation(m.interpretation.state(id));
            self.signal(id, msg);
        }
    }

    /// Re-points the channel slots of `id`'s meeting after `id`'s tracks changed.
    pub(crate) fn feed_channels_of(&mut self, id: ParticipantId) {
        if let Some(meeting) = self.meetings.participant(id).map(|p| p.meeting.clone()) {
            self.feed_channels(&meeting);
        }
    }

    /// Points every channel slot of a meeting at its channel's current source (the lease
    /// holder's microphone), or at nothing. Work per member, only when something changed.
    fn feed_channels(&mut self, meeting: &MeetingName) {
        let Some(m) = self.meetings.meeting(meeting) else {
            return;
        };
        let mut moves = Vec::new();
        for &id in &m.members {
            let Some((at, have)) = self.router.channel(id) else {
                continue;
            };
            let want = match m.interpretation.hearing(id) {
                Hearing::Channel(l) => m.interpretation.channel_source(&l),
                Hearing::Floor => None,
            }
            .filter(|s| *s != id)
            .filter(|s| self.router.publishes(*s, TrackSource::Microphone));
            if want != have {
                moves.push((at, want));
            }
        }
        for (at, want) in moves {
            let track = want.map(|publisher| TrackRef {
                publisher,
                source: TrackSource::Microphone,
            });
            self.router.hand_over(at, track);
        }
    }

    /// Someone left: out of their booth and channel; a microphone they held is free again.
    pub(crate) fn leave_interpretation(&mut self, meeting: &MeetingName, id: ParticipantId) {
        let Some(m) = self.meetings.meeting_mut(meeting) else {
            return;
        };
        let interpreter = m.interpretation.is_interpreter(id);
        m.interpretation.leave(id);
        if interpreter {
            self.interpretation_changed(meeting);
        }
    }

    /// Someone's connection was lost: a booth microphone they held returns at once, so their
    /// partner can take it; they stay in the booth in case they come back.
    pub(crate) fn drop_interpretation_lease(&mut self, meeting: &MeetingName, id: ParticipantId) {
        let Some(m) = self.meetings.meeting_mut(meeting) else {
            return;
        };
        if m.interpretation.is_interpreter(id) {
            m.interpretation.dropped(id);
            self.interpretation_changed(meeting);
        }
    }
}

/// Makes both languages of a pair channels of the meeting.
pub(crate) fn add_pair(i: &mut Interpretation, pair: &LanguagePair) {
    i.add_language(pair.a.clone());
    i.add_language(pair.b.clone());
}
