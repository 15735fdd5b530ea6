//! Moderation by hosts: muting others, removing them, locking and ending the meeting; and
//! revocations that arrive from outside (`summit revoke`).

use summit_proto::{CloseCode, InvitationId, ParticipantId, ServerMessage};
use summit_record::RecordEvent;

use crate::output::{Disconnect, Output, SfuEvent};
use crate::{Sfu, SfuError};

impl Sfu {
    pub(crate) fn mute_participant(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        let by = self.moderation_target(host, target)?;
        let b = by.clone();
        self.record_about(target, |participant, name| RecordEvent::MutedByHost {
            participant,
            name,
            by: b,
        });
        if let Some(p) = self.participants.get_mut(&target) {
            // Forwarding stops with the next packet; the participant may unmute themselves.
            p.muted_by_host = true;
            p.microphone_muted = true;
        }
        self.signal(target, ServerMessage::MutedByHost { by });
        self.broadcast_update(target);
        Ok(())
    }

    pub(crate) fn remove_participant(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        let by = self.moderation_target(host, target)?;
        if host == target {
            return Err(SfuError::Invalid(
                "leave instead of removing yourself".into(),
            ));
        }
        let Some(invitation) = self.participants.get(&target).map(|p| p.invitation.clone()) else {
            return Ok(());
        };
        let b = by.clone();
        self.record_about(target, |participant, name| RecordEvent::Removed {
            participant,
            name,
            by: b,
        });
        self.outputs
            .push_back(Output::Event(SfuEvent::InvitationRevoked(invitation)));
        self.remove(
            target,
            Disconnect {
                code: CloseCode::Removed,
                reason: format!("{by} removed you from the meeting"),
            },
        );
        Ok(())
    }

    pub(crate) fn lock(&mut self, host: ParticipantId, locked: bool) -> Result<(), SfuError> {
        let h = self.host(host)?;
        let (meeting, by) = (h.meeting.clone(), h.name.clone());
        let event = RecordEvent::Locked {
            locked,
            by: by.clone(),
        };
        self.record(&meeting, event);
        let Some(m) = self.meetings.get_mut(&meeting) else {
            return Ok(());
        };
        m.locked = locked;
        for to in m.members.clone() {
            self.signal(
                to,
                ServerMessage::MeetingLocked {
                    locked,
                    by: by.clone(),
                },
            );
        }
        Ok(())
    }

    pub(crate) fn end_meeting(&mut self, host: ParticipantId) -> Result<(), SfuError> {
        let h = self.host(host)?;
        let (meeting, by) = (h.meeting.clone(), h.name.clone());
        self.outputs
            .push_back(Output::Event(SfuEvent::MeetingEnded(meeting.clone())));
        if let Some(m) = self.meetings.get_mut(&meeting) {
            m.ending = Some(format!("{by} ended the meeting"));
        }
        let everyone: Vec<ParticipantId> = self
            .meetings
            .get(&meeting)
            .map(|m| m.members.iter().chain(&m.lobby).copied().collect())
            .unwrap_or_default();
        for id in everyone {
            self.remove(
                id,
                Disconnect {
                    code: CloseCode::Ended,
                    reason: format!("{by} ended the meeting"),
                },
            );
        }
        Ok(())
    }

    /// An invitation was revoked outside the meeting (`summit revoke`): whoever entered with it
    /// leaves at once.
    pub fn handle_revoked(&mut self, now: std::time::Instant, invitation: &InvitationId) {
        self.now = now;
        let holders: Vec<ParticipantId> = self
            .participants
            .values()
            .filter(|p| &p.invitation == invitation)
            .map(|p| p.id)
            .collect();
        for id in holders {
            self.remove(
                id,
                Disconnect {
                    code: CloseCode::InvitationRefused,
                    reason: "your invitation was revoked".into(),
                },
            );
        }
    }
}
