//! Recording as the core sees it: hosts start and stop it, every page is told, and while it
//! runs each packet a publisher sends is also handed to the runtime, which writes the files.

use summit_proto::{Opaque, ParticipantId, ServerMessage, TrackSource, MAX_SEALED_BYTES};

use crate::output::Output;
use summit_proto::RecordEvent;

use crate::{Sfu, SfuError};

impl Sfu {
    /// A host starts or stops recording their meeting.
    pub(crate) fn set_recording(&mut self, host: ParticipantId, on: bool) -> Result<(), SfuError> {
        let h = self.host(host)?;
        let (meeting, by) = (h.meeting.clone(), h.name.clone());
        let Some(m) = self.meetings.meeting_mut(&meeting) else {
            return Ok(());
        };
        if m.recording == on {
            return Ok(());
        }
        if on && m.e2ee && m.recording_key.is_none() {
            return Err(SfuError::NotAllowed(
                "this encrypted meeting has no recording key: the organizer makes one with `summit keygen --recording` and `summit meeting create --recording-key`",
            ));
        }
        m.recording = on;
        m.recording_by = on.then(|| by.clone());
        m.recording_interrupted &= !on;
        let members = m.members.clone();
        let event = if on {
            RecordEvent::RecordingStarted {
                by: by.clone(),
                sealed: m.e2ee,
            }
        } else {
            RecordEvent::RecordingStopped { by: by.clone() }
        };
        self.record(&meeting, event);
        let now = self.now;
        for id in members {
            self.router.set_recording(&mut self.endpoint, id, on, now);
            self.signal(id, ServerMessage::Recording { on, by: by.clone() });
        }
        Ok(())
    }
}

impl Sfu {
    /// A page's media key sealed to the recording key: kept beside the recording, unread (and
    /// within the page's relay budget: it costs the disk what relaying costs the network).
    pub(crate) fn recording_key_from(
        &mut self,
        now: std::time::Instant,
        id: ParticipantId,
        data: Opaque,
    ) -> Result<(), SfuError> {
        let p = self.participant(id)?;
        let recorded = self.router.media(id).is_some_and(|m| m.recording());
        if !recorded || !self.meetings.meeting(&p.meeting).is_some_and(|m| m.e2ee) {
            return Err(SfuError::Unexpected("no sealed recording is running"));
        }
        if data.is_empty() || data.len() > MAX_SEALED_BYTES {
            return Err(SfuError::Invalid(format!(
                "a sealed key has 1 to {MAX_SEALED_BYTES} bytes"
            )));
        }
        self.charge_relay(now, id, data.len())?;
        self.outputs.push_back(Output::RecordingKey(id, data));
        Ok(())
    }
}

/// One packet for the recording, as the publisher sent it.
#[derive(Debug, Clone)]
pub struct RecordedPacket {
    /// Whose.
    pub publisher: ParticipantId,
    /// Which of their tracks.
    pub source: TrackSource,
    /// Extended RTP sequence number.
    pub seq: u64,
    /// RTP timestamp.
    pub timestamp: u32,
    /// The RTP clock rate of the codec.
    pub clock_rate: u32,
    /// The RTP marker bit (end of a video frame).
    pub marker: bool,
    /// The payload is RED (RFC 2198): the codec's frame is its last block, after redundant
    /// copies of earlier ones (in an encrypted meeting, only once decrypted).
    pub red: bool,
    /// The RTP payload (shared with the forwarded copies, not copied).
    pub payload: std::sync::Arc<[u8]>,
}
