//! The lobby: who waits, whether a host is there to admit them, and the host's admit and deny.

use summit_proto::{Capability, CloseCode, MeetingName, ParticipantId, ServerMessage};
use summit_record::RecordEvent;

use crate::output::Disconnect;
use crate::{Sfu, SfuError};

impl Sfu {
    /// Whether an admitted host is in the meeting.
    pub(crate) fn host_present(&self, meeting: &MeetingName) -> bool {
        self.meetings.get(meeting).is_some_and(|m| {
            m.members.iter().any(|id| {
                self.participants
                    .get(id)
                    .is_some_and(|p| p.capabilities.has(Capability::Moderate))
            })
        })
    }

    /// Tells the waiting whether a host is there, and the hosts who waits.
    pub(crate) fn lobby_changed(&mut self, meeting: &MeetingName) {
        let Some(m) = self.meetings.get(meeting) else {
            return;
        };
        let lobby = m.lobby.clone();
        let members = m.members.clone();
        let host_present = self.host_present(meeting);
        for id in &lobby {
            if let Some(p) = self.participants.get(id) {
                let msg = ServerMessage::Lobby {
                    meeting: meeting.clone(),
                    name: p.name.clone(),
                    host_present,
                };
                self.signal(*id, msg);
            }
        }
        let waiting: Vec<_> = lobby
            .iter()
            .filter_map(|id| self.participants.get(id).map(|p| p.info()))
            .collect();
        let hosts: Vec<ParticipantId> = members
            .into_iter()
            .filter(|id| {
                self.participants
                    .get(id)
                    .is_some_and(|p| p.capabilities.has(Capability::Moderate))
            })
            .collect();
        for h in hosts {
            self.signal(
                h,
                ServerMessage::LobbyChanged {
                    waiting: waiting.clone(),
                },
            );
        }
    }

    /// The participant `id` if they may moderate.
    pub(crate) fn host(
        &self,
        id: ParticipantId,
    ) -> Result<&crate::participant::Participant, SfuError> {
        let h = self
            .participants
            .get(&id)
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
        match self.participants.get(&target) {
            Some(t) if t.meeting == h.meeting => Ok(h.name.clone()),
            _ => Err(SfuError::Invalid(format!(
                "no participant {target} in this meeting"
            ))),
        }
    }

    /// Checks that `host` may moderate and that `target` waits in the lobby of their meeting.
    fn waiting_target(&self, host: ParticipantId, target: ParticipantId) -> Result<(), SfuError> {
        self.moderation_target(host, target)?;
        if self.participants.get(&target).is_some_and(|p| p.admitted) {
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

    pub(crate) fn deny(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        self.waiting_target(host, target)?;
        let by = self.host(host)?.name.clone();
        self.record_about(target, |participant, name| RecordEvent::Denied {
            participant,
            name,
            by,
        });
        self.remove(
            target,
            Disconnect {
                code: CloseCode::Denied,
                reason: "the host did not let you in".into(),
            },
        );
        Ok(())
    }
}
