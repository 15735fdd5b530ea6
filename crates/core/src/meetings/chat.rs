//! Chat: messages to every member of a meeting, and the recent ones kept for later joiners.

use std::time::Instant;

use summit_proto::{Capability, ChatMessage, ParticipantId, ServerMessage, MAX_SEALED_BYTES};

use crate::{Sfu, SfuError};

/// Longest plain chat message, in characters.
const MAX_CHAT_CHARS: usize = 4000;

impl Sfu {
    /// Delivers a chat message to every member and keeps it for later joiners. In an
    /// encrypted meeting only sealed text is accepted, so a faulty page cannot leak plaintext.
    pub(crate) fn chat(
        &mut self,
        now: Instant,
        id: ParticipantId,
        text: String,
        sealed: bool,
        wall_ms: u64,
    ) -> Result<(), SfuError> {
        let p = self.participant(id)?;
        if !p.capabilities.has(Capability::Chat) {
            return Err(SfuError::NotAllowed("this role may not chat"));
        }
        let e2ee = self.meetings.meeting(&p.meeting).is_some_and(|m| m.e2ee);
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
        let name = p.name.clone();
        self.charge_relay(now, id, text.len())?;
        let msg = ChatMessage {
            from: id,
            name,
            text,
            sealed,
            at_ms: wall_ms,
        };
        let Some(meeting) = self.meetings.participant(id).map(|p| p.meeting.clone()) else {
            return Ok(());
        };
        let keep = self.config.chat_history;
        if let Some(m) = self.meetings.meeting_mut(&meeting) {
            m.add_chat(msg.clone(), keep);
            let members = m.members.clone();
            for to in &members {
                self.signal(*to, ServerMessage::Chat(msg.clone()));
            }
            #[cfg(feature = "danger-test-attacks")]
            self.attack_chat(&msg, &members);
        }
        Ok(())
    }
}
