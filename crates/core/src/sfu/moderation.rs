//! The facade's side of moderation and the lobby: carries out what the meetings decide (a
//! host's mute, removal, lock, end, admit, deny and allow-again, invitations made on the page
//! and revoked outside it), with what follows for connections and media.

use summit_proto::{CloseCode, InvitationId, MeetingName, ParticipantId};

use crate::meetings::moderation::PageInvitation;
use crate::output::Disconnect;
use crate::{Sfu, SfuError};

impl Sfu {
    pub(crate) fn mute_participant(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        let said = self.meetings.mute(host, target)?;
        // Forwarding stops with the next packet; the participant may unmute themselves.
        self.hold_microphone(target, true);
        self.carry_out(said);
        self.broadcast_update(target);
        Ok(())
    }

    pub(crate) fn remove_participant(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        let Some((by, said)) = self.meetings.removal(host, target)? else {
            return Ok(());
        };
        self.carry_out(said);
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
        let said = self.meetings.lock(host, locked)?;
        self.carry_out(said);
        Ok(())
    }

    pub(crate) fn end_meeting(&mut self, host: ParticipantId) -> Result<(), SfuError> {
        let (why, everyone, said) = self.meetings.end(host)?;
        self.carry_out([said]);
        for id in everyone {
            self.remove(
                id,
                Disconnect {
                    code: CloseCode::Ended,
                    reason: why.clone(),
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
        let said = self.meetings.invited(host, made)?;
        self.carry_out(said);
        Ok(())
    }

    /// An invitation was revoked outside the meeting (`summit revoke`): whoever entered with it
    /// leaves at once.
    pub fn handle_revoked(&mut self, now: std::time::Instant, invitation: &InvitationId) {
        self.now = now;
        for id in self.meetings.holders(invitation) {
            self.remove(
                id,
                Disconnect {
                    code: CloseCode::InvitationRefused,
                    reason: "your invitation was revoked".into(),
                },
            );
        }
    }

    pub(crate) fn admit(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        let said = self.meetings.admit(host, target)?;
        self.carry_out(said);
        self.enter(target);
        Ok(())
    }

    /// Turns a waiting participant away, and with them their invitation: whoever else waits
    /// with it leaves too.
    pub(crate) fn deny(
        &mut self,
        host: ParticipantId,
        target: ParticipantId,
    ) -> Result<(), SfuError> {
        let (meeting, holders, said) = self.meetings.deny(host, target)?;
        if said.is_empty() {
            return Ok(());
        }
        self.carry_out(said);
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
        let (meeting, said) = self.meetings.allow_again(host, invitation)?;
        self.carry_out(said);
        self.lobby_changed(&meeting);
        Ok(())
    }

    /// Tells the waiting whether a host is there, and the hosts who waits.
    pub(crate) fn lobby_changed(&mut self, meeting: &MeetingName) {
        let heartbeat_ms = self.config.heartbeat_interval.as_millis() as u64;
        let said = self.meetings.lobby_news(meeting, heartbeat_ms);
        self.carry_out(said);
    }
}
