//! A participant whose connection was lost stays in the meeting, reconnecting, until their page
//! comes back or the resume window ends: their media connections are kept, the messages meant
//! for them are held, and the others see "reconnecting", not a leave (so nobody rekeys). A page
//! that comes back with its media connections takes the session back as it was.

use std::time::Instant;

use summit_proto::{CloseCode, ParticipantId, ServerMessage};

use crate::output::{Disconnect, Output};
use crate::Sfu;

impl Sfu {
    /// The participant's signaling connection is gone. Someone in the meeting stays,
    /// reconnecting; someone in the lobby leaves it (their token brings them back to it).
    pub(crate) fn connection_lost(&mut self, id: ParticipantId, now: Instant) {
        let admitted = self.meetings.participant(id).is_some_and(|p| p.admitted());
        if !admitted {
            if let Some(p) = self.meetings.remove(id) {
                self.cleanup(p, "left the meeting", true);
            }
            return;
        }
        let Some(meeting) = self.meetings.reconnecting(id, now) else {
            return;
        };
        tracing::debug!(participant = %id, "reconnecting");
        self.broadcast_update(id);
        self.drop_interpretation_lease(&meeting, id);
    }

    /// Whether `id` may take its session back with its media connections as they are.
    pub(crate) fn may_reattach(&self, id: ParticipantId) -> bool {
        self.meetings
            .participant(id)
            .is_some_and(|p| p.admitted() && !p.missed_too_much())
    }

    /// The page is back with its media connections: the session goes on, the page is welcomed
    /// as resumed, gets what it missed in order, and the offer it may never have seen.
    pub(crate) fn reattach(&mut self, id: ParticipantId, now: Instant) {
        // The page draws its own tile again on a welcome: a poor uplink told before the loss
        // is told again (others see it in the welcome's participants).
        let Some((missed, uplink)) = self.meetings.back(id, now) else {
            return;
        };
        let offer = self.router.outstanding_offer(id);
        let welcome = self.welcome(id, true);
        if let Some(w) = welcome {
            self.signal(id, w);
        }
        for m in missed {
            self.signal(id, m);
        }
        if let Some(uplink) = uplink {
            self.signal(id, ServerMessage::YourUplink { poor: true, uplink });
        }
        if let Some(o) = offer {
            self.signal(id, o);
        }
        self.broadcast_update(id);
        self.send_interpretation_state(id);
        self.send_speakers(id);
    }

    /// Those reconnecting for longer than the resume window have left for good.
    pub(crate) fn expire_reconnecting(&mut self, now: Instant) {
        let window = self.config.resume_window;
        let gone: Vec<ParticipantId> = self
            .meetings
            .participants()
            .filter(|p| p.reconnecting().is_some_and(|t| now > t + window))
            .map(|p| p.id)
            .collect();
        for id in gone {
            if let Some(p) = self.meetings.remove(id) {
                // Nothing to close: the connection is long gone.
                self.cleanup(p, "connection lost", false);
            }
        }
    }

    /// A participant silent beyond the heartbeat timeout: their connection is closed, and they
    /// are reconnecting (or, in the lobby, gone).
    pub(crate) fn heartbeat_lost(&mut self, id: ParticipantId, now: Instant) {
        self.outputs.push_back(Output::Disconnect(
            id,
            Disconnect {
                code: CloseCode::HeartbeatTimeout,
                reason: "no heartbeat: connection lost".into(),
            },
        ));
        self.connection_lost(id, now);
    }
}
