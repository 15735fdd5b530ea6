//! Interpretation as the meeting decides it: the requests pages make, who is seated in which
//! booth, what each member is told, and where each listener's channel should come from. The
//! policy itself (who holds which microphone, who hears what) is [`crate::Interpretation`];
//! pointing channel slots at a source is the router's, done by the facade.

use summit_proto::{
    Capability, Language, LanguagePair, MeetingName, ParticipantId, RecordEvent, ServerMessage,
};

use crate::meetings::interpretation::{AudioRoute, Hearing, Interpretation, InterpretationEvent};
use crate::meetings::said::Said;
use crate::meetings::Meetings;
use crate::SfuError;

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

/// What a request changed.
#[derive(Debug)]
pub(crate) enum Interpreted {
    /// Only the requester's hearing (`true`: they now listen to a channel).
    Heard(MeetingName, bool),
    /// The meeting's interpretation, with the language channel added, if one was (the
    /// registry keeps it).
    Changed(MeetingName, Option<Language>),
    /// Nothing.
    Unchanged,
}

impl Meetings {
    /// Serves one interpretation request from `id`.
    pub(crate) fn interpret(
        &mut self,
        id: ParticipantId,
        req: Request,
    ) -> Result<Interpreted, SfuError> {
        let p = self.participant(id).ok_or(SfuError::UnknownParticipant)?;
        let meeting = p.meeting.clone();
        let moderator = p.capabilities.has(Capability::Moderate);
        let m = self
            .meeting_mut(&meeting)
            .ok_or(SfuError::UnknownParticipant)?;
        let i = &mut m.interpretation;
        let mut added = None;
        match req {
            Request::Listen(channel) => {
                let wants_channel = channel.is_some();
                i.listen(id, channel.map_or(Hearing::Floor, Hearing::Channel))?;
                return Ok(Interpreted::Heard(meeting, wants_channel));
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
                    return Ok(Interpreted::Unchanged);
                }
                added = Some(l);
            }
        }
        Ok(Interpreted::Changed(meeting, added))
    }

    /// A participant enters: an interpreter takes their place in their booth (the pair's
    /// languages become channels if they were not).
    pub(crate) fn seat_interpreter(&mut self, id: ParticipantId) {
        let Some(p) = self.participant(id) else {
            return;
        };
        let Some(pair) = p.interprets.clone() else {
            return;
        };
        let meeting = p.meeting.clone();
        if let Some(m) = self.meeting_mut(&meeting) {
            add_pair(&mut m.interpretation, &pair);
            // Both languages are channels now, so this cannot fail.
            if let Err(e) = m.interpretation.join_interpreter(id, pair) {
                tracing::warn!(participant = %id, "interpreter not seated: {e}");
            }
        }
    }

    /// Whether `publisher`'s microphone goes to `listener` as a track of its own: only a
    /// booth partner's. The floor is heard through speaker slots, an interpreter everywhere
    /// else through channels.
    pub(crate) fn booth_line(&self, publisher: ParticipantId, listener: ParticipantId) -> bool {
        let Some(m) = self
            .participant(publisher)
            .and_then(|p| self.meeting(&p.meeting))
        else {
            return false;
        };
        matches!(
            m.interpretation.route(publisher, listener),
            Some(AudioRoute::BoothLine)
        )
    }

    /// What `meeting`'s interpretation changes are: the record's handovers, then, while any
    /// channel exists, every member's new state. `false` when no channel exists (nothing to
    /// feed).
    pub(crate) fn interpretation_news(&mut self, meeting: &MeetingName) -> (Vec<Said>, bool) {
        let Some(m) = self.meeting_mut(meeting) else {
            return (Vec::new(), false);
        };
        let mut handovers = Vec::new();
        while let Some(e) = m.interpretation.poll_event() {
            tracing::debug!(%meeting, ?e, "interpretation");
            if let InterpretationEvent::LeaseChanged { booth, holder } = e {
                handovers.push((booth, holder));
            }
        }
        let mut said: Vec<Said> = handovers
            .into_iter()
            .map(|(booth, holder)| {
                let name = holder.and_then(|h| self.participant(h).map(|p| p.name.clone()));
                let event = RecordEvent::Handover {
                    booth: booth.to_string(),
                    holder: holder.map(|h| h.0),
                    name,
                };
                Said::Record(meeting.clone(), event)
            })
            .collect();
        let Some(m) = self.meeting(meeting) else {
            return (said, false);
        };
        if !m.interpretation.is_active() {
            return (said, false);
        }
        said.extend(m.members.iter().map(|id| {
            let state = m.interpretation.state(*id);
            Said::To(*id, ServerMessage::Interpretation(state))
        }));
        (said, true)
    }

    /// The interpretation state for one participant (on entry), while any channel exists.
    pub(crate) fn interpretation_state(&self, id: ParticipantId) -> Option<Said> {
        let m = self
            .participant(id)
            .and_then(|p| self.meeting(&p.meeting))?;
        m.interpretation.is_active().then(|| {
            Said::To(
                id,
                ServerMessage::Interpretation(m.interpretation.state(id)),
            )
        })
    }

    /// Where each member of `meeting` should hear their channel from: its interpreter holding
    /// the microphone, or nobody (listening to the floor, or no one interpreting).
    pub(crate) fn channel_sources(
        &self,
        meeting: &MeetingName,
    ) -> Vec<(ParticipantId, Option<ParticipantId>)> {
        let Some(m) = self.meeting(meeting) else {
            return Vec::new();
        };
        m.members
            .iter()
            .map(|&id| {
                let want = match m.interpretation.hearing(id) {
                    Hearing::Channel(l) => m.interpretation.channel_source(&l),
                    Hearing::Floor => None,
                };
                (id, want)
            })
            .collect()
    }

    /// Someone left: out of their booth and channel; a microphone they held is free again.
    /// Whether they were an interpreter (the meeting's interpretation changed).
    pub(crate) fn leave_interpretation(
        &mut self,
        meeting: &MeetingName,
        id: ParticipantId,
    ) -> bool {
        let Some(m) = self.meeting_mut(meeting) else {
            return false;
        };
        let interpreter = m.interpretation.is_interpreter(id);
        m.interpretation.leave(id);
        interpreter
    }

    /// Someone's connection was lost: a booth microphone they held returns at once, so their
    /// partner can take it; they stay in the booth in case they come back. Whether they were
    /// an interpreter.
    pub(crate) fn drop_interpretation_lease(
        &mut self,
        meeting: &MeetingName,
        id: ParticipantId,
    ) -> bool {
        let Some(m) = self.meeting_mut(meeting) else {
            return false;
        };
        let interpreter = m.interpretation.is_interpreter(id);
        if interpreter {
            m.interpretation.dropped(id);
        }
        interpreter
    }
}

/// Makes both languages of a pair channels of the meeting.
pub(crate) fn add_pair(i: &mut Interpretation, pair: &LanguagePair) {
    i.add_language(pair.a.clone());
    i.add_language(pair.b.clone());
}
