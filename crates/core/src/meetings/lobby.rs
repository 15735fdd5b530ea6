//! The lobby: who waits, whether a host is there to admit them, and the host's admit, deny and
//! allow-again. A denial is of the invitation: nobody holding it may wait again until allowed.

use summit_proto::RecordEvent;
use summit_proto::{
    Capability, CloseCode, DeniedInvitation, InvitationId, MeetingName, ParticipantId,
    ServerMessage,
};

use crate::output::{Disconnect, Output, SfuEvent};
use crate::{Sfu, SfuError};

impl Sfu {
    /// Whether an admitted host is in the meeting.
    pub(crate) fn host_present(&self, meeting: &MeetingName) -> bool {
        self.meetings.meeting(meeting).is_some_and(|m| {
            m.members.iter().any(|id| {
                self.meetings
                    .participant(*id)
                    .is_some_and(|p| p.capabilities.has(Capability::Moderate))
            })
        })
    }

    /// Tells the waiting whether a host is there, and the hosts who waits.
    pub(crate) fn lobby_changed(&mut self, meeting: &MeetingName) {
        let Some(m) = self.meetings.meeting(meeting) else {
            return;
        };
        let lobby = m.lobby.clone();
        let members = m.members.clone();
        let denied = m.denied.clone();
        let host_present = self.host_present(meeting);
        let heartbeat_ms = self.config.heartbeat_interval.as_millis() as u64;
        for id in &lobby {
            let Some(p) = self.meetings.participant(*id) else {
                continue;
            };
            // Waiting pages get their token too: a lost connection keeps their place.
            let Some(resume_token) = p.resume_token.clone() else {
                continue;
            };
            let msg = ServerMessage::Lobby {
                meeting: meeting.clone(),
                name: p.name.clone(),
                host_present,
                heartbeat_ms,
                resume_token,
            };
            self.signal(*id, msg);
        }
        let waiting: Vec<_> = lobby.iter().filter_map(|id| self.info(*id)).collect();
        let hosts: Vec<ParticipantId> = members
            .into_iter()
            .filter(|id| {
                self.meetings
                    .participant(*id)
                    .is_some_and(|p| p.capabilities.has(Capability::Moderate))
            })
            .collect();
        for h in hosts {
            self.signal(
                h,
                ServerMessage::LobbyChanged {
                    waiting: waiting.clone(),
                    denied: denied.clone(),
                },
            );
        }
    }

    /// The participant `id` if they may moderate.
    pub(crate) fn host(
        &self,
        id: ParticipantId,
    ) -> Result<&crate::meetings::participant::Participant, SfuError> {
        let h = self
            .meetings
            .participant(id)
            .ok_or(SfuError::UnknownParticipant)?;
        if !h.capabilities.has(Capability::Moderate) {
            return Err(SfuError::NotAllowed("only a host may do this"));
        }
        Ok(h)
    }

    /// Checks that `host` may moderate and that `target` is in the same meeting; returns the
    /// host's name.
    pub(crate) fn moderation_target(
        &self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<String, SfuError> {
        let h = self.host(host)?;
        match self.meetings.participant(target) {
            Some(t) if t.meeting == h.meeting => Ok(h.name.clone()),
            _ => Err(SfuError::Invalid(format!(
                "no participant {target} in this meeting"
            ))),
        }
    }

    /// Checks that `host` may moderate and that `target` waits in the lobby of their meeting.
    fn waiting_target(&self, host: ParticipantId, target: ParticipantId) -> Result<(), SfuError> {
        self.moderation_target(host, target)?;
        if self
            .meetings
            .participant(target)
            .is_some_and(|p| p.admitted())
        {
            return Err(SfuError::Unexpected("already admitted"));
        }
        Ok(())
    }

    pub(crate) fn admit(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        self.waiting_target(host, target)?;
        let by = self.host(host)?.name.clone();
        self.record_about(target, |participant, name| RecordEvent::Admitted {
            participant,
            name,
            by,
        });
        self.enter(target);
        Ok(())
    }

    /// Turns a waiting participant away, and with them their invitation: whoever else waits
    /// with it leaves too, and it may not wait in this meeting's lobby until a host allows it.
    pub(crate) fn deny(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        self.waiting_target(host, target)?;
        let h = self.host(host)?;
        let (by, meeting) = (h.name.clone(), h.meeting.clone());
        let Some((invitation, name)) = self
            .meetings
            .participant(target)
            .map(|p| (p.invitation.clone(), p.name.clone()))
        else {
            return Ok(());
        };
        let b = by.clone();
        let inv = invitation.0.clone();
        self.record_about(target, |participant, name| RecordEvent::Denied {
            participant,
            name,
            by: b,
            invitation: Some(inv),
        });
        let denied = DeniedInvitation {
            invitation: invitation.clone(),
            name,
            by,
        };
        if let Some(m) = self.meetings.meeting_mut(&meeting) {
            m.deny(denied.clone());
        }
        self.outputs
            .push_back(Output::Event(SfuEvent::InvitationDenied(
                meeting.clone(),
                denied,
            )));
        let holders: Vec<ParticipantId> = self
            .meetings
            .meeting(&meeting)
            .map(|m| m.lobby.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|w| {
                self.meetings
                    .participant(*w)
                    .is_some_and(|p| p.invitation == invitation)
            })
            .collect();
        for w in holders {
            self.remove(
                w,
                Disconnect {
                    code: CloseCode::Denied,
                    reason: "the host did not let you in".into(),
                },
            );
        }
        self.lobby_changed(&meeting);
        Ok(())
    }

    /// Lets a denied invitation wait in the lobby again.
    pub(crate) fn allow_again(
        &mut self,
        host: ParticipantId,
        invitation: InvitationId,
    ) -> Result<(), SfuError> {
        let h = self.host(host)?;
        let (by, meeting) = (h.name.clone(), h.meeting.clone());
        let allowed = self
            .meetings
            .meeting_mut(&meeting)
            .is_some_and(|m| m.allow_again(&invitation));
        if !allowed {
            return Err(SfuError::Invalid(
                "that invitation is not denied in this meeting".into(),
            ));
        }
        let event = RecordEvent::AllowedAgain {
            invitation: invitation.0.clone(),
            by,
        };
        self.record(&meeting, event);
        self.outputs
            .push_back(Output::Event(SfuEvent::InvitationAllowed(
                meeting.clone(),
                invitation,
            )));
        self.lobby_changed(&meeting);
        Ok(())
    }
}
