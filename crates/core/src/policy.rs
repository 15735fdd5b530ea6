//! Subscription policy: who receives which published track. Mechanism (slots, forwarding) stays
//! in the core. The lobby (no connections before admission), language channels (their own
//! slots) and simulcast (the allocator's layer per slot) are not policies.

use summit_proto::{Capabilities, Capability, ParticipantId, TrackSource};

/// What a policy may look at about a would-be subscriber.
#[derive(Debug, Clone, Copy)]
pub struct SubscriberView {
    /// Their id.
    pub id: ParticipantId,
    /// Their capabilities.
    pub capabilities: Capabilities,
}

/// What a policy may look at about a published track.
#[derive(Debug, Clone, Copy)]
pub struct TrackView {
    /// Its publisher.
    pub publisher: ParticipantId,
    /// What it carries.
    pub source: TrackSource,
}

/// Decides whether a participant receives a track.
pub trait SubscriptionPolicy: std::fmt::Debug + Send {
    /// Whether `subscriber` receives `track`.
    fn subscribes(&self, subscriber: SubscriberView, track: TrackView) -> bool;
}

/// Today's policy: everyone who may subscribe receives every track of everyone else.
#[derive(Debug, Default, Clone, Copy)]
pub struct EveryoneSeesEveryone;

impl SubscriptionPolicy for EveryoneSeesEveryone {
    fn subscribes(&self, subscriber: SubscriberView, track: TrackView) -> bool {
        subscriber.id != track.publisher && subscriber.capabilities.has(Capability::Subscribe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use summit_proto::Role;

    #[test]
    fn not_back_to_the_publisher() {
        let p = EveryoneSeesEveryone;
        let caps = Capabilities::for_role(Role::Delegate);
        let t = TrackView {
            publisher: ParticipantId(1),
            source: TrackSource::Camera,
        };
        assert!(!p.subscribes(
            SubscriberView {
                id: ParticipantId(1),
                capabilities: caps
            },
            t
        ));
        assert!(p.subscribes(
            SubscriberView {
                id: ParticipantId(2),
                capabilities: caps
            },
            t
        ));
        let none = Capabilities::NONE;
        assert!(!p.subscribes(
            SubscriberView {
                id: ParticipantId(2),
                capabilities: none
            },
            t
        ));
    }
}
