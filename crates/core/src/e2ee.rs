//! End-to-end encryption as the server sees it: key exchange messages it relays without
//! reading. The keys themselves never reach the server (docs/e2ee.md).

use summit_proto::{ParticipantId, ServerMessage, MAX_SEALED_BYTES};

use crate::{Sfu, SfuError};

impl Sfu {
    /// Relays an end-to-end key exchange message, unread, to one member or all the others.
    /// Only between admitted members of one encrypted meeting: the lobby learns no keys.
    pub(crate) fn relay_e2ee(
        &mut self,
        id: ParticipantId,
        to: Option<ParticipantId>,
        data: String,
    ) -> Result<(), SfuError> {
        let p = self.participant(id)?;
        let m = self
            .meetings
            .get(&p.meeting)
            .ok_or(SfuError::UnknownParticipant)?;
        if !m.e2ee {
            return Err(SfuError::Unexpected(
                "this meeting is not end-to-end encrypted",
            ));
        }
        if data.is_empty() || data.len() > MAX_SEALED_BYTES {
            return Err(SfuError::Invalid(format!(
                "e2ee data has 1 to {MAX_SEALED_BYTES} bytes"
            )));
        }
        let recipients: Vec<ParticipantId> = match to {
            Some(t) if t != id && m.members.contains(&t) => vec![t],
            Some(_) => return Err(SfuError::Invalid("no such member to send keys to".into())),
            None => m.members.iter().copied().filter(|x| *x != id).collect(),
        };
        for r in recipients {
            self.signal(
                r,
                ServerMessage::E2ee {
                    from: id,
                    data: data.clone(),
                },
            );
        }
        Ok(())
    }
}
