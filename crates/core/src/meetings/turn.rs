//! TURN credentials for the pages: minted (by the runtime's function) into each welcome, and
//! renewed with an `ice_servers` message after three quarters of their life, so that a page
//! relaying its media never holds expired ones when its TURN allocation is refreshed.

use std::time::Instant;

use summit_proto::{IceServer, ParticipantId, ServerMessage};

use crate::Sfu;

impl Sfu {
    /// Fresh TURN servers and credentials for `id` (none without TURN), and when to renew them.
    pub(crate) fn mint_ice_servers(&mut self, id: ParticipantId, now: Instant) -> Vec<IceServer> {
        let Some(turn) = self.config.turn.clone() else {
            return Vec::new();
        };
        if let Some(p) = self.meetings.participant_mut(id) {
            p.ice_servers_renew = Some(now + turn.ttl * 3 / 4);
        }
        (turn.mint)(id)
    }

    /// Sends new credentials to everyone whose current ones are three quarters through their
    /// life (those reconnecting get them in their welcome when back).
    pub(crate) fn renew_ice_servers(&mut self, now: Instant) {
        let due: Vec<ParticipantId> = self
            .meetings
            .participants()
            .filter(|p| p.reconnecting.is_none())
            .filter(|p| p.ice_servers_renew.is_some_and(|t| t <= now))
            .map(|p| p.id)
            .collect();
        for id in due {
            let ice_servers = self.mint_ice_servers(id, now);
            self.signal(id, ServerMessage::IceServers { ice_servers });
        }
    }
}
