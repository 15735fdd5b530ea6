//! Recording as the core sees it: hosts start and stop it, every page is told, and while it
//! runs each packet a publisher sends is also handed to the runtime, which writes the files.

use summit_proto::{ParticipantId, ServerMessage, TrackSource};
use summit_record::RecordEvent;

use crate::track::TrackRef;
use crate::{Sfu, SfuError};

impl Sfu {
    /// A host starts or stops recording their meeting.
    pub(crate) fn set_recording(&mut self, host: ParticipantId, on: bool) -> Result<(), SfuError> {
        let h = self.host(host)?;
        let (meeting, by) = (h.meeting.clone(), h.name.clone());
        let Some(m) = self.meetings.get_mut(&meeting) else {
            return Ok(());
        };
        if m.recording == on {
            return Ok(());
        }
        if on && m.e2ee {
            return Err(SfuError::NotAllowed(
                "this server cannot record an end-to-end encrypted meeting yet (it needs a recording key)",
            ));
        }
        m.recording = on;
        let members = m.members.clone();
        let event = if on {
            RecordEvent::RecordingStarted { by: by.clone() }
        } else {
            RecordEvent::RecordingStopped { by: by.clone() }
        };
        self.record(&meeting, event);
        let mut video = Vec::new();
        for id in &members {
            if let Some(p) = self.participants.get_mut(id) {
                p.recording = on;
                video.extend(
                    p.tracks
                        .iter()
                        .filter(|t| !t.source.is_audio())
                        .map(|t| TrackRef {
                            publisher: *id,
                            source: t.source,
                        }),
                );
            }
            self.signal(*id, ServerMessage::Recording { on, by: by.clone() });
        }
        // Each video file starts on a keyframe: ask for one now rather than wait.
        if on {
            let now = self.now;
            for t in video {
                self.request_keyframe(t, now);
            }
        }
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
    /// The RTP payload (shared with the forwarded copies, not copied).
    pub payload: std::sync::Arc<[u8]>,
}
