//! What is held for a participant whose connection was lost: the messages meant for them, in
//! order, within a budget. Past the budget nothing more is held, and the page comes back to a
//! fresh session instead (its view would be too stale to patch up).

use summit_proto::{Opaque, ServerMessage};

/// Most messages held for one participant.
const MAX_MESSAGES: usize = 512;
/// Most bytes held for one participant, roughly (the variable parts of the messages).
const MAX_BYTES: usize = 1 << 20;

/// The messages held for one participant while they reconnect.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    messages: Vec<ServerMessage>,
    /// About how many bytes `messages` are.
    bytes: usize,
    /// More was meant for them than is held.
    overflowed: bool,
}

impl Outbox {
    /// Holds `msg`, unless the budget is spent (then nothing is held any more).
    pub(crate) fn hold(&mut self, msg: ServerMessage) {
        if self.overflowed {
            return;
        }
        let bytes = held_bytes(&msg);
        if self.messages.len() < MAX_MESSAGES && self.bytes + bytes <= MAX_BYTES {
            self.bytes += bytes;
            self.messages.push(msg);
        } else {
            self.overflowed = true;
            self.messages.clear();
            self.bytes = 0;
        }
    }

    /// Whether more was meant for them than is held: they come back to a fresh session.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// What was held, in order; the outbox is empty after.
    pub(crate) fn take(&mut self) -> Vec<ServerMessage> {
        self.bytes = 0;
        std::mem::take(&mut self.messages)
    }
}

/// About how many bytes a held message takes: its variable-length parts, and a little for the
/// rest. Only the budget of what is held while someone is away needs it.
fn held_bytes(msg: &ServerMessage) -> usize {
    const FIXED: usize = 64;
    FIXED
        + match msg {
            ServerMessage::Chat(c) => c.text.len() + c.name.len(),
            ServerMessage::E2ee { data, key, .. } => {
                data.len() + key.as_ref().map_or(0, Opaque::len)
            }
            ServerMessage::SubscribeOffer { sdp, tracks, .. } => sdp.len() + tracks.len() * 48,
            ServerMessage::PublishAnswer { sdp } => sdp.len(),
            ServerMessage::ParticipantJoined { participant }
            | ServerMessage::ParticipantUpdated { participant } => participant.name.len(),
            _ => 0,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_in_order_and_gives_back_once() {
        let mut o = Outbox::default();
        o.hold(ServerMessage::Pong {});
        o.hold(ServerMessage::PublishAnswer { sdp: "v=0".into() });
        let held = o.take();
        assert_eq!(held.len(), 2);
        assert!(matches!(held[0], ServerMessage::Pong {}));
        assert!(matches!(held[1], ServerMessage::PublishAnswer { .. }));
        assert!(o.take().is_empty());
        assert!(!o.overflowed());
    }

    #[test]
    fn past_the_count_nothing_more_is_held() {
        let mut o = Outbox::default();
        for _ in 0..MAX_MESSAGES {
            o.hold(ServerMessage::Pong {});
        }
        assert!(!o.overflowed());
        o.hold(ServerMessage::Pong {});
        assert!(o.overflowed());
        o.hold(ServerMessage::Pong {});
        assert!(o.take().is_empty());
    }

    #[test]
    fn past_the_bytes_nothing_more_is_held() {
        let mut o = Outbox::default();
        let sdp = "a".repeat(MAX_BYTES / 2);
        o.hold(ServerMessage::PublishAnswer { sdp: sdp.clone() });
        assert!(!o.overflowed());
        o.hold(ServerMessage::PublishAnswer { sdp });
        assert!(o.overflowed());
        assert!(o.take().is_empty());
    }
}
