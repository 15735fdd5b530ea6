//! The facade's side of interpretation: carries out what the meetings decide, and points each
//! listener's channel slot (the router's) at its channel's current source. The forwarder keeps
//! the outgoing stream continuous across a handover.

use summit_proto::{MeetingName, ParticipantId, TrackSource};

use crate::meetings::channels::{Interpreted, Request};
use crate::output::{Output, SfuEvent};
use crate::router::track::TrackRef;
use crate::{Sfu, SfuError};

impl Sfu {
    /// Serves one interpretation request and tells everyone what changed.
    pub(crate) fn interpretation_request(
        &mut self,
        id: ParticipantId,
        req: Request,
    ) -> Result<(), SfuError> {
        match self.meetings.interpret(id, req)? {
            Interpreted::Heard(meeting, channel) => {
                if channel && self.router.add_channel_slot(id) {
                    self.offer_if_needed(id);
                }
                // Only this listener's slot and view change.
                self.feed_channels(&meeting);
                self.send_interpretation_state(id);
            }
            Interpreted::Changed(meeting, added) => {
                if let Some(l) = added {
                    let e = SfuEvent::LanguageAdded(meeting.clone(), l);
                    self.outputs.push_back(Output::Event(e));
                }
                self.interpretation_changed(&meeting);
            }
            Interpreted::Unchanged => {}
        }
        Ok(())
    }

    /// Acts on the policy's changes: records handovers, re-points channel slots, tells every
    /// member the state.
    pub(crate) fn interpretation_changed(&mut self, meeting: &MeetingName) {
        let (said, active) = self.meetings.interpretation_news(meeting);
        if active {
            self.feed_channels(meeting);
        }
        self.carry_out(said);
    }

    /// Tells one participant the interpretation state (on entry).
    pub(crate) fn send_interpretation_state(&mut self, id: ParticipantId) {
        let said = self.meetings.interpretation_state(id);
        self.carry_out(said);
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
        let mut moves = Vec::new();
        for (id, want) in self.meetings.channel_sources(meeting) {
            let Some((at, have)) = self.router.channel(id) else {
                continue;
            };
            let want = want
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
        if self.meetings.leave_interpretation(meeting, id) {
            self.interpretation_changed(meeting);
        }
    }

    /// Someone's connection was lost: a booth microphone they held returns at once.
    pub(crate) fn drop_interpretation_lease(&mut self, meeting: &MeetingName, id: ParticipantId) {
        if self.meetings.drop_interpretation_lease(meeting, id) {
            self.interpretation_changed(meeting);
        }
    }
}
