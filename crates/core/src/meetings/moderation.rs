//! Moderation by hosts, as the meeting decides it: who may moderate whom, muting others,
//! removing them, locking and ending the meeting, and invitations made from the page. What
//! follows for connections and media (closing a page, holding a microphone) is the facade's.

use summit_proto::{
    Capability, InvitationId, MeetingName, ParticipantId, RecordEvent, Role, ServerMessage,
};

use crate::meetings::participant::Participant;
use crate::meetings::said::{to_each, Said};
use crate::meetings::Meetings;
use crate::output::SfuEvent;
use crate::SfuError;

impl Meetings {
    /// The participant `id` if they may moderate.
    pub(crate) fn host(&self, id: ParticipantId) -> Result<&Participant, SfuError> {
        let h = self.participant(id).ok_or(SfuError::UnknownParticipant)?;
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
        match self.participant(target) {
            Some(t) if t.meeting == h.meeting => Ok(h.name.clone()),
            _ => Err(SfuError::Invalid(format!(
                "no participant {target} in this meeting"
            ))),
        }
    }

    /// An entry about participant `id` (named in it) for their meeting's record, built by `f`
    /// from their id and name.
    pub(crate) fn record_about(
        &self,
        id: ParticipantId,
        f: impl FnOnce(u64, String) -> RecordEvent,
    ) -> Option<Said> {
        let p = self.participant(id)?;
        Some(Said::Record(p.meeting.clone(), f(id.0, p.name.clone())))
    }

    /// A host mutes `target`'s microphone (they may unmute themselves); the facade holds the
    /// microphone's forwarding.
    pub(crate) fn mute(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<Vec<Said>, SfuError> {
        let by = self.moderation_target(host, target)?;
        let b = by.clone();
        let said = self.record_about(target, |participant, name| RecordEvent::MutedByHost {
            participant,
            name,
            by: b,
        });
        if let Some(p) = self.participant_mut(target) {
            p.microphone_muted = true;
        }
        let told = Said::To(target, ServerMessage::MutedByHost { by });
        Ok(said.into_iter().chain([told]).collect())
    }

    /// A host removes `target`: recorded, and their invitation revoked. Returns the host's name
    /// (the facade then closes `target`'s page), or `None` if `target` is already gone.
    pub(crate) fn removal(
        &self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<Option<(String, Vec<Said>)>, SfuError> {
        let by = self.moderation_target(host, target)?;
        if host == target {
            return Err(SfuError::Invalid(
                "leave instead of removing yourself".into(),
            ));
        }
        let Some(invitation) = self.participant(target).map(|p| p.invitation.clone()) else {
            return Ok(None);
        };
        let b = by.clone();
        let said = self.record_about(target, |participant, name| RecordEvent::Removed {
            participant,
            name,
            by: b,
        });
        let revoked = Said::Event(SfuEvent::InvitationRevoked(invitation));
        Ok(Some((by, said.into_iter().chain([revoked]).collect())))
    }

    /// A host locks or unlocks their meeting: no one new enters while it is locked.
    pub(crate) fn lock(
        &mut self,
        host: ParticipantId,
        locked: bool,
    ) -> Result<Vec<Said>, SfuError> {
        let h = self.host(host)?;
        let (meeting, by) = (h.meeting.clone(), h.name.clone());
        let Some(m) = self.meeting_mut(&meeting) else {
            return Ok(Vec::new());
        };
        m.locked = locked;
        let record = RecordEvent::Locked {
            locked,
            by: by.clone(),
        };
        let told = ServerMessage::MeetingLocked { locked, by };
        let mut said = vec![
            Said::Record(meeting.clone(), record),
            // Kept in the registry: a restart does not unlock the meeting.
            Said::Event(SfuEvent::LockChanged(meeting, locked)),
        ];
        said.extend(to_each(m.members.clone(), &told));
        Ok(said)
    }

    /// A host ends their meeting. Returns why (for everyone's close and the record's last
    /// entry), who is to leave (members and the lobby), and the event for the runtime.
    pub(crate) fn end(
        &mut self,
        host: ParticipantId,
    ) -> Result<(String, Vec<ParticipantId>, Said), SfuError> {
        let h = self.host(host)?;
        let (meeting, by) = (h.meeting.clone(), h.name.clone());
        let why = format!("{by} ended the meeting");
        let mut everyone = Vec::new();
        if let Some(m) = self.meeting_mut(&meeting) {
            m.ending = Some(why.clone());
            everyone = m.members.iter().chain(&m.lobby).copied().collect();
        }
        Ok((why, everyone, Said::Event(SfuEvent::MeetingEnded(meeting))))
    }

    /// A host made an invitation from the meeting page (the edge signed it, holding the key):
    /// it goes into the meeting's record, naming the host, before the host gets the link, and
    /// the runtime remembers whose it is, so that removing the host revokes it too.
    pub(crate) fn invited(
        &self,
        host: ParticipantId,
        made: PageInvitation,
    ) -> Result<Vec<Said>, SfuError> {
        let h = self.host(host)?;
        if !h.admitted() {
            return Err(SfuError::Unexpected("waiting in the lobby"));
        }
        let (meeting, by, by_invitation) =
            (h.meeting.clone(), h.name.clone(), h.invitation.clone());
        let record = RecordEvent::Invited {
            invitation: made.invitation.0.clone(),
            name: made.name,
            role: made.role.to_string(),
            uses: made.uses,
            expires: made.expires.clone(),
            by,
        };
        let link = ServerMessage::Invitation {
            token: made.token,
            invitation_id: made.invitation.clone(),
            expires: made.expires,
        };
        Ok(vec![
            Said::Record(meeting.clone(), record),
            Said::Event(SfuEvent::InvitationMade {
                meeting,
                invitation: made.invitation,
                by: by_invitation,
            }),
            Said::To(host, link),
        ])
    }

    /// Everyone who entered with `invitation`, waiting or admitted.
    pub(crate) fn holders(&self, invitation: &InvitationId) -> Vec<ParticipantId> {
        self.participants()
            .filter(|p| &p.invitation == invitation)
            .map(|p| p.id)
            .collect()
    }

    /// Whether an admitted host is in `meeting`.
    pub(crate) fn host_present(&self, meeting: &MeetingName) -> bool {
        self.meeting(meeting).is_some_and(|m| {
            m.members.iter().any(|id| {
                self.participant(*id)
                    .is_some_and(|p| p.capabilities.has(Capability::Moderate))
            })
        })
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
