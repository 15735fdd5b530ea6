//! Recording as the meeting decides it: hosts start and stop it, and every member is told. The
//! recording tap on each publisher's media is the router's; the files are the runtime's.

use summit_proto::{ParticipantId, RecordEvent, ServerMessage};

use crate::meetings::said::{to_each, Said};
use crate::meetings::Meetings;
use crate::SfuError;

/// A recording started or stopped: the members whose media the facade taps (or stops tapping),
/// and what is said of it.
#[derive(Debug)]
pub(crate) struct RecordingChanged {
    pub(crate) members: Vec<ParticipantId>,
    pub(crate) said: Vec<Said>,
}

impl Meetings {
    /// A host starts or stops recording their meeting; `None` if it already was so.
    pub(crate) fn set_recording(
        &mut self,
        host: ParticipantId,
        on: bool,
    ) -> Result<Option<RecordingChanged>, SfuError> {
        let h = self.host(host)?;
        let (meeting, by) = (h.meeting.clone(), h.name.clone());
        let Some(m) = self.meeting_mut(&meeting) else {
            return Ok(None);
        };
        if m.recording == on {
            return Ok(None);
        }
        if on && m.e2ee && m.recording_key.is_none() {
            return Err(SfuError::NotAllowed(
                "this encrypted meeting has no recording key: the organizer makes one with `summit keygen --recording` and `summit meeting create --recording-key`",
            ));
        }
        m.recording = on;
        m.recording_by = on.then(|| by.clone());
        m.recording_interrupted &= !on;
        let record = if on {
            RecordEvent::RecordingStarted {
                by: by.clone(),
                sealed: m.e2ee,
            }
        } else {
            RecordEvent::RecordingStopped { by: by.clone() }
        };
        let members = m.members.clone();
        let mut said = vec![Said::Record(meeting, record)];
        said.extend(to_each(
            members.iter().copied(),
            &ServerMessage::Recording { on, by },
        ));
        Ok(Some(RecordingChanged { members, said }))
    }
}
