//! Chat: messages to every member of a meeting, and the recent ones kept for later joiners.

use std::time::Instant;

use summit_proto::{Capability, ChatMessage, ParticipantId, MAX_SEALED_BYTES};

use crate::meetings::Meetings;
use crate::SfuError;

/// Longest plain chat message, in characters.
const MAX_CHAT_CHARS: usize = 4000;

impl Meetings {
    /// A chat message from `id`: checked, charged to their relay budget and kept (the newest
    /// `keep`) for later joiners. Returns it with the members it goes to. In an encrypted
    /// meeting only sealed text is accepted, so a faulty page cannot leak plaintext.
    pub(crate) fn chat(
        &mut self,
        now: Instant,
        id: ParticipantId,
        text: String,
        sealed: bool,
        wall_ms: u64,
        keep: usize,
    ) -> Result<(ChatMessage, Vec<ParticipantId>), SfuError> {
        let p = self.participant(id).ok_or(SfuError::UnknownParticipant)?;
        if !p.capabilities.has(Capability::Chat) {
            return Err(SfuError::NotAllowed("this role may not chat"));
        }
        let meeting = p.meeting.clone();
        let name = p.name.clone();
        let e2ee = self.meeting(&meeting).is_some_and(|m| m.e2ee);
        if sealed != e2ee {
            return Err(SfuError::Invalid(if e2ee {
                "this meeting is end-to-end encrypted: chat must be sealed".into()
            } else {
                "this meeting is not end-to-end encrypted: chat is not sealed".into()
            }));
        }
        if sealed {
            if text.is_empty() || text.len() > MAX_SEALED_BYTES {
                return Err(SfuError::Invalid(format!(
                    "sealed chat has 1 to {MAX_SEALED_BYTES} bytes"
                )));
            }
        } else {
            let n = text.chars().count();
            if text.trim().is_empty() || n > MAX_CHAT_CHARS {
                return Err(SfuError::Invalid(format!(
                    "a chat message has 1 to {MAX_CHAT_CHARS} characters"
                )));
            }
        }
        self.charge_relay(now, id, text.len())?;
        let msg = ChatMessage {
            from: id,
            name,
            text,
            sealed,
            at_ms: wall_ms,
        };
        let Some(m) = self.meeting_mut(&meeting) else {
            return Err(SfuError::UnknownParticipant);
        };
        m.add_chat(msg.clone(), keep);
        Ok((msg, m.members.clone()))
    }
}
