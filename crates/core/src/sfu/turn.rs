//! TURN credentials for the pages: minted (by the runtime's function) into each welcome, and
//! renewed with an `ice_servers` message when the meetings say they are due.

use std::time::Instant;

use summit_proto::{IceServer, ParticipantId, ServerMessage};

use crate::Sfu;

impl Sfu {
    /// Fresh TURN servers and credentials for `id` (none without TURN), renewed after three
    /// quarters of their life.
    pub(crate) fn mint_ice_servers(&mut self, id: ParticipantId, now: Instant) -> Vec<IceServer> {
        let Some(turn) = self.config.turn.clone() else {
            return Vec::new();
        };
        self.meetings.ice_servers_minted(id, now + turn.ttl * 3 / 4);
        (turn.mint)(id)
    }

    /// Sends new credentials to everyone whose current ones are due.
    pub(crate) fn renew_ice_servers(&mut self, now: Instant) {
        for id in self.meetings.ice_servers_due(now) {
            let ice_servers = self.mint_ice_servers(id, now);
            self.signal(id, ServerMessage::IceServers { ice_servers });
        }
    }
}
