//! The lobby, as the meeting decides it: who waits, whether a host is there to admit them, and
//! the host's admit, deny and allow-again. A denial is of the invitation: nobody holding it may
//! wait again until allowed. Letting someone in, or closing a denied page, is the facade's.

use summit_proto::{
    Capability, DeniedInvitation, InvitationId, MeetingName, ParticipantId, RecordEvent,
    ServerMessage,
};

use crate::meetings::said::Said;
use crate::meetings::Meetings;
use crate::output::SfuEvent;
use crate::SfuError;

impl Meetings {
    /// Checks that `host` may moderate and that `target` waits in the lobby of their meeting.
    fn waiting_target(&self, host: ParticipantId, target: ParticipantId) -> Result<(), SfuError> {
        self.moderation_target(host, target)?;
        if self.participant(target).is_some_and(|p| p.admitted()) {
            return Err(SfuError::Unexpected("already admitted"));
        }
        Ok(())
    }

    /// A host admits `target` from the lobby: the record's entry (the facade then lets them in).
    pub(crate) fn admit(
        &self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<Option<Said>, SfuError> {
        self.waiting_target(host, target)?;
        let by = self.host(host)?.name.clone();
        Ok(
            self.record_about(target, |participant, name| RecordEvent::Admitted {
                participant,
                name,
                by,
            }),
        )
    }

    /// A host turns `target` away, and with them their invitation: it may not wait in this
    /// meeting's lobby until a host allows it. Returns the meeting, everyone waiting with that
    /// invitation (the facade closes their pages), and what is said of it.
    pub(crate) fn deny(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(MeetingName, Vec<ParticipantId>, Vec<Said>), SfuError> {
        self.waiting_target(host, target)?;
        let h = self.host(host)?;
        let (by, meeting) = (h.name.clone(), h.meeting.clone());
        let Some((invitation, name)) = self
            .participant(target)
            .map(|p| (p.invitation.clone(), p.name.clone()))
        else {
            return Ok((meeting, Vec::new(), Vec::new()));
        };
        let b = by.clone();
        let inv = invitation.0.clone();
        let record = self.record_about(target, |participant, name| RecordEvent::Denied {
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
        let Some(m) = self.meeting_mut(&meeting) else {
            return Ok((meeting, Vec::new(), Vec::new()));
        };
        m.deny(denied.clone());
        let lobby = m.lobby.clone();
        let holders = lobby
            .into_iter()
            .filter(|w| {
                self.participant(*w)
                    .is_some_and(|p| p.invitation == invitation)
            })
            .collect();
        let event = Said::Event(SfuEvent::InvitationDenied(meeting.clone(), denied));
        let said = record.into_iter().chain([event]).collect();
        Ok((meeting, holders, said))
    }

    /// A host lets a denied invitation wait in the lobby again. Returns the meeting and what is
    /// said of it.
    pub(crate) fn allow_again(
        &mut self,
        host: ParticipantId,
        invitation: InvitationId,
    ) -> Result<(MeetingName, Vec<Said>), SfuError> {
        let h = self.host(host)?;
        let (by, meeting) = (h.name.clone(), h.meeting.clone());
        let allowed = self
            .meeting_mut(&meeting)
            .is_some_and(|m| m.allow_again(&invitation));
        if !allowed {
            return Err(SfuError::Invalid(
                "that invitation is not denied in this meeting".into(),
            ));
        }
        let record = RecordEvent::AllowedAgain {
            invitation: invitation.0.clone(),
            by,
        };
        let said = vec![
            Said::Record(meeting.clone(), record),
            Said::Event(SfuEvent::InvitationAllowed(meeting.clone(), invitation)),
        ];
        Ok((meeting, said))
    }

    /// What the lobby of `meeting` is told after a change: the waiting, whether a host is there
    /// (with their resume token: a lost connection keeps their place); the hosts, who waits and
    /// which invitations are denied.
    pub(crate) fn lobby_news(&self, meeting: &MeetingName, heartbeat_ms: u64) -> Vec<Said> {
        let Some(m) = self.meeting(meeting) else {
            return Vec::new();
        };
        let host_present = self.host_present(meeting);
        let mut said = Vec::new();
        for id in &m.lobby {
            let Some(p) = self.participant(*id) else {
                continue;
            };
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
            said.push(Said::To(*id, msg));
        }
        // Those waiting publish nothing (publishing needs admission), so no media is asked.
        let waiting: Vec<_> = m
            .lobby
            .iter()
            .filter_map(|id| self.participant(*id))
            .map(|p| p.info(None))
            .collect();
        let hosts = m.members.iter().filter(|id| {
            self.participant(**id)
                .is_some_and(|p| p.capabilities.has(Capability::Moderate))
        });
        for h in hosts {
            let msg = ServerMessage::LobbyChanged {
                waiting: waiting.clone(),
                denied: m.denied.clone(),
            };
            said.push(Said::To(*h, msg));
        }
        said
    }
}
