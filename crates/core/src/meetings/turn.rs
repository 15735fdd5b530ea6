//! TURN credentials, as the meetings keep track of them: when each participant's are due for
//! renewal (after three quarters of their life, so that a page relaying its media never holds
//! expired ones when its TURN allocation is refreshed). Minting them is the runtime's function.

use std::time::Instant;

use summit_proto::ParticipantId;

use crate::meetings::Meetings;

impl Meetings {
    /// `id` got fresh credentials, to renew at `renew`.
    pub(crate) fn ice_servers_minted(&mut self, id: ParticipantId, renew: Instant) {
        if let Some(p) = self.participant_mut(id) {
            p.ice_servers_renew = Some(renew);
        }
    }

    /// Who is due for new credentials at `now` (those reconnecting get them in their welcome
    /// when back).
    pub(crate) fn ice_servers_due(&self, now: Instant) -> Vec<ParticipantId> {
        self.participants()
            .filter(|p| p.reconnecting.is_none())
            .filter(|p| p.ice_servers_renew.is_some_and(|t| t <= now))
            .map(|p| p.id)
            .collect()
    }
}
