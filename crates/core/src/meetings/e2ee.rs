//! End-to-end encryption as the server sees it: key exchange messages it relays without
//! reading, and the relay budget they (and chat, and sealed recording keys) are charged to. The
//! keys themselves never reach the server (docs/e2ee.md).

use std::collections::BTreeMap;
use std::time::Instant;

use summit_proto::{Opaque, ParticipantId, ServerMessage, MAX_E2EE_DATA_BYTES, MAX_E2EE_KEY_BYTES};

use crate::meetings::said::Said;
use crate::meetings::Meetings;
use crate::SfuError;

impl Meetings {
    /// An end-to-end key exchange message from `id`, to relay unread. With `keys`, each member
    /// listed gets `data` and its own entry alone, so a rekey costs the relay bytes in
    /// proportion to the meeting, not its square; otherwise `data` goes to `to`, or to every
    /// other member. Only between admitted members of one encrypted meeting: the lobby learns
    /// no keys.
    pub(crate) fn relay_e2ee(
        &mut self,
        now: Instant,
        id: ParticipantId,
        to: Option<ParticipantId>,
        data: Opaque,
        keys: BTreeMap<ParticipantId, Opaque>,
    ) -> Result<Vec<Said>, SfuError> {
        let p = self.participant(id).ok_or(SfuError::UnknownParticipant)?;
        let m = self
            .meeting(&p.meeting)
            .ok_or(SfuError::UnknownParticipant)?;
        if !m.e2ee {
            return Err(SfuError::Unexpected(
                "this meeting is not end-to-end encrypted",
            ));
        }
        if data.is_empty() || data.len() > MAX_E2EE_DATA_BYTES {
            return Err(SfuError::Invalid(format!(
                "e2ee data has 1 to {MAX_E2EE_DATA_BYTES} bytes"
            )));
        }
        if keys
            .values()
            .any(|k| k.is_empty() || k.len() > MAX_E2EE_KEY_BYTES)
        {
            return Err(SfuError::Invalid(format!(
                "an e2ee key entry has 1 to {MAX_E2EE_KEY_BYTES} bytes"
            )));
        }
        let member = |t: &ParticipantId| *t != id && m.members.contains(t);
        let recipients: Vec<(ParticipantId, Option<Opaque>)> = if !keys.is_empty() {
            if !keys.keys().all(member) {
                return Err(SfuError::Invalid("no such member to send keys to".into()));
            }
            keys.into_iter().map(|(t, k)| (t, Some(k))).collect()
        } else {
            match to {
                Some(t) if member(&t) => vec![(t, None)],
                Some(_) => return Err(SfuError::Invalid("no such member to send keys to".into())),
                None => m
                    .members
                    .iter()
                    .copied()
                    .filter(|x| *x != id)
                    .map(|x| (x, None))
                    .collect(),
            }
        };
        let bytes = data.len()
            + recipients
                .iter()
                .filter_map(|(_, k)| k.as_ref())
                .map(Opaque::len)
                .sum::<usize>();
        self.charge_relay(now, id, bytes)?;
        Ok(recipients
            .into_iter()
            .map(|(r, key)| {
                let msg = ServerMessage::E2ee {
                    from: id,
                    data: data.clone(),
                    key,
                };
                Said::To(r, msg)
            })
            .collect())
    }

    /// Takes `bytes` from what `id` may have relayed; refuses, relaying nothing, when the
    /// budget (bytes per second, with a burst) is spent.
    pub(crate) fn charge_relay(
        &mut self,
        now: Instant,
        id: ParticipantId,
        bytes: usize,
    ) -> Result<(), SfuError> {
        let p = self
            .participant_mut(id)
            .ok_or(SfuError::UnknownParticipant)?;
        if p.relay.take(now, bytes as f64) {
            return Ok(());
        }
        let (rate, burst) = (p.relay.rate(), p.relay.burst());
        Err(SfuError::RelayBudget(format!(
            "not relayed: you are sending more than the server relays for one participant \
             ({rate} bytes per second, {burst} at once); wait a moment"
        )))
    }
}
