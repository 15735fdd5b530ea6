//! The facade's side of recording: a host's start or stop (the meetings decide it; the router
//! taps each member's media, or stops), and the sealed media keys pages send for it.

use std::time::Instant;

use summit_proto::{Opaque, ParticipantId, MAX_SEALED_BYTES};

use crate::meetings::recording::RecordingChanged;
use crate::output::Output;
use crate::{Sfu, SfuError};

impl Sfu {
    /// A host starts or stops recording their meeting.
    pub(crate) fn set_recording(&mut self, host: ParticipantId, on: bool) -> Result<(), SfuError> {
        let Some(RecordingChanged { members, said }) = self.meetings.set_recording(host, on)?
        else {
            return Ok(());
        };
        self.carry_out(said);
        let now = self.now;
        for id in members {
            self.router.set_recording(&mut self.endpoint, id, on, now);
        }
        Ok(())
    }

    /// A page's media key sealed to the recording key: kept beside the recording, unread (and
    /// within the page's relay budget: it costs the disk what relaying costs the network).
    pub(crate) fn recording_key_from(
        &mut self,
        now: Instant,
        id: ParticipantId,
        data: Opaque,
    ) -> Result<(), SfuError> {
        let p = self.participant(id)?;
        let recorded = self.router.media(id).is_some_and(|m| m.recording());
        if !recorded || !self.meetings.meeting(&p.meeting).is_some_and(|m| m.e2ee()) {
            return Err(SfuError::Unexpected("no sealed recording is running"));
        }
        if data.is_empty() || data.len() > MAX_SEALED_BYTES {
            return Err(SfuError::Invalid(format!(
                "a sealed key has 1 to {MAX_SEALED_BYTES} bytes"
            )));
        }
        self.meetings.charge_relay(now, id, data.len())?;
        self.outputs.push_back(Output::RecordingKey(id, data));
        Ok(())
    }
}
