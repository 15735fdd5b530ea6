//! What the meeting record says: the core names each recordable event as it decides it, before
//! it tells anyone, so that the runtime can make it durable before it is acknowledged.

use summit_proto::RecordEvent;
use summit_proto::{MeetingName, ParticipantId};

use crate::output::{Output, RecordingControl, SfuEvent};
use crate::Sfu;

impl Sfu {
    /// Queues an event for `meeting`'s record, after what it tells the recording's writer.
    pub(crate) fn record(&mut self, meeting: &MeetingName, event: RecordEvent) {
        let control = match &event {
            RecordEvent::Joined {
                participant, name, ..
            } => Some(RecordingControl::Name {
                participant: ParticipantId(*participant),
                meeting: meeting.clone(),
                name: name.clone(),
            }),
            RecordEvent::RecordingStarted { sealed, .. } => Some(RecordingControl::Start {
                meeting: meeting.clone(),
                sealed: *sealed,
            }),
            RecordEvent::RecordingStopped { .. } => Some(RecordingControl::Stop(meeting.clone())),
            RecordEvent::Left { participant, .. } => {
                Some(RecordingControl::Forget(ParticipantId(*participant)))
            }
            _ => None,
        };
        if let Some(c) = control {
            self.outputs.push_back(Output::Recording(c));
        }
        self.outputs
            .push_back(Output::Event(SfuEvent::Record(meeting.clone(), event)));
    }
}
