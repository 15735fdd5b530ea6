//! Moderation by hosts: muting others, removing them, locking and ending the meeting, and
//! invitations made from the page; and revocations that arrive from outside (`summit revoke`).

use summit_proto::RecordEvent;
use summit_proto::{CloseCode, InvitationId, ParticipantId, Role, ServerMessage};

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
        // Forwarding stops with the next packet; the participant may unmute themselves.
        self.router.hold_microphone(target, true);
        if let Some(p) = self.meetings.participant_mut(target) {
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
        let Some(invitation) = self
            .meetings
            .participant(target)
            .map(|p| p.invitation.clone())
        else {
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
        let Some(m) = self.meetings.meeting_mut(&meeting) else {
            return Ok(());
        };
        m.locked = locked;
        let members = m.members.clone();
        // Kept in the registry: a restart does not unlock the meeting.
        self.outputs
            .push_back(Output::Event(SfuEvent::LockChanged(meeting, locked)));
        for to in members {
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
        if let Some(m) = self.meetings.meeting_mut(&meeting) {
            m.ending = Some(format!("{by} ended the meeting"));
        }
        let everyone: Vec<ParticipantId> = self
            .meetings
            .meeting(&meeting)
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

    /// A host made an invitation from the meeting page (the edge signed it, holding the key):
    /// it goes into the meeting's record, naming the host, before the host gets the link, and
    /// the runtime remembers whose it is, so that removing the host revokes it too.
    pub fn handle_invited(
        &mut self,
        now: std::time::Instant,
        host: ParticipantId,
        made: PageInvitation,
    ) -> Result<(), SfuError> {
        self.now = now;
        let h = self.host(host)?;
        if !h.admitted() {
            return Err(SfuError::Unexpected("waiting in the lobby"));
        }
        let (meeting, by, by_invitation) =
            (h.meeting.clone(), h.name.clone(), h.invitation.clone());
        let event = RecordEvent::Invited {
            invitation: made.invitation.0.clone(),
            name: made.name,
            role: made.role.to_string(),
            uses: made.uses,
            expires: made.expires.clone(),
            by,
        };
        self.record(&meeting, event);
        self.outputs
            .push_back(Output::Event(SfuEvent::InvitationMade {
                meeting,
                invitation: made.invitation.clone(),
                by: by_invitation,
            }));
        self.signal(
            host,
            ServerMessage::Invitation {
                token: made.token,
                invitation_id: made.invitation,
                expires: made.expires,
            },
        );
        Ok(())
    }

    /// An invitation was revoked outside the meeting (`summit revoke`): whoever entered with it
    /// leaves at once.
    pub fn handle_revoked(&mut self, now: std::time::Instant, invitation: &InvitationId) {
        self.now = now;
        let holders: Vec<ParticipantId> = self
            .meetings
            .participants()
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

/// An invitation a host made from the meeting page, as the edge signed it.
#[derive(Debug, Clone)]
pub struct PageInvitation {
    /// Its id.
    pub invitation: InvitationId,
    /// The name it carries.
    pub name: String,
    /// The role it gives.
    pub role: Role,
    /// How many times it may enter.
    pub uses: Option<u32>,
    /// When it expires (RFC 3339).
    pub expires: String,
    /// The signed token, for the host's link.
    pub token: String,
}
