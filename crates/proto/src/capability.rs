//! Capabilities: what a participant may do; roles become capabilities once, here, at the edge.

use crate::Role;

/// One thing a participant may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Capability {
    /// Send audio and video.
    Publish = 1 << 0,
    /// Receive others' media.
    Subscribe = 1 << 1,
    /// Send chat messages.
    Chat = 1 << 2,
    /// Send audio only (interpreters).
    PublishAudio = 1 << 3,
    /// Moderate: admit, remove, mute others, lock, end.
    Moderate = 1 << 4,
}

/// A set of [`Capability`] values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities(u8);

impl Capabilities {
    /// The empty set.
    pub const NONE: Capabilities = Capabilities(0);

    /// The capabilities a role grants.
    pub fn for_role(role: Role) -> Self {
        use Capability::*;
        match role {
            Role::Host => Self::of(&[Publish, PublishAudio, Subscribe, Chat, Moderate]),
            Role::Delegate => Self::of(&[Publish, PublishAudio, Subscribe, Chat]),
            Role::Interpreter => Self::of(&[PublishAudio, Subscribe]),
            Role::Observer => Self::of(&[Subscribe]),
        }
    }

    /// A set holding exactly `caps`.
    pub fn of(caps: &[Capability]) -> Self {
        Capabilities(caps.iter().fold(0, |acc, c| acc | *c as u8))
    }

    /// Whether the set holds `cap`.
    pub fn has(self, cap: Capability) -> bool {
        self.0 & cap as u8 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observers_only_subscribe() {
        let o = Capabilities::for_role(Role::Observer);
        assert!(o.has(Capability::Subscribe));
        assert!(!o.has(Capability::Publish) && !o.has(Capability::Chat));
        assert!(!o.has(Capability::PublishAudio));
        let h = Capabilities::for_role(Role::Host);
        assert!(h.has(Capability::Moderate) && h.has(Capability::Publish));
        let i = Capabilities::for_role(Role::Interpreter);
        assert!(i.has(Capability::PublishAudio) && !i.has(Capability::Publish));
    }
}
