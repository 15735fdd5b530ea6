//! The endpoint: which connection a datagram from an address is for, when each connection must
//! be driven next, and which were written to since they were last driven. It owns this state
//! alone; the `Rtc`s themselves live with their participants (`Participant::publisher` and
//! `subscriber`), named here by `PeerKey`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Instant;

use str0m::net::Protocol;
use str0m::Input;
use summit_proto::ParticipantId;

use crate::participant::Participant;
use crate::peer::{PeerKey, Side};
use crate::timers::{Timer, Timers};

/// Connection routing, deadlines and the connections to drive.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// Remote address (and transport) to the connection that ICE accepted from it.
    routes: HashMap<(Protocol, SocketAddr), PeerKey>,
    timers: Timers,
    /// Connections written to since last driven.
    dirty: Vec<PeerKey>,
    /// Datagrams no connection took.
    dropped: u64,
}

impl Endpoint {
    /// An endpoint with no connections; its named timers first fire a period after `now`.
    pub(crate) fn new(now: Instant) -> Self {
        Self {
            routes: HashMap::new(),
            timers: Timers::new(now),
            dirty: Vec::new(),
            dropped: 0,
        }
    }

    /// The connection `input` (from `source` over `proto`) is for: the one routed from that
    /// address while it accepts it, else for STUN the one its ICE username names, which the
    /// address then routes to. `None` (counted as dropped) when no connection takes it.
    pub(crate) fn route(
        &mut self,
        participants: &BTreeMap<ParticipantId, Participant>,
        proto: Protocol,
        source: SocketAddr,
        input: &Input,
        is_stun: bool,
    ) -> Option<PeerKey> {
        let key = match self.routes.get(&(proto, source)) {
            Some(k) if accepts(participants, *k, input) => Some(*k),
            _ if is_stun => find_acceptor(participants, input),
            _ => None,
        };
        let Some(key) = key else {
            self.dropped += 1;
            return None;
        };
        self.routes.insert((proto, source), key);
        Some(key)
    }

    /// Counts a datagram that could not even be parsed.
    pub(crate) fn drop_unparsed(&mut self) {
        self.dropped += 1;
    }

    /// A participant's connections are gone: no route or drive leads to them.
    pub(crate) fn forget(&mut self, id: ParticipantId) {
        self.routes.retain(|_, k| k.participant != id);
        self.dirty.retain(|k| k.participant != id);
    }

    /// Remote addresses routed (one per ICE-validated path).
    pub(crate) fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// Datagrams no connection took.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Drive connection `key` at `at`.
    pub(crate) fn schedule(&mut self, at: Instant, key: PeerKey) {
        self.timers.schedule(at, key);
    }

    /// Marks to drive every connection whose current deadline has come.
    pub(crate) fn due(
        &mut self,
        participants: &mut BTreeMap<ParticipantId, Participant>,
        now: Instant,
    ) {
        while let Some((at, key)) = self.timers.pop_due(now) {
            // An entry is stale once its connection's deadline moved.
            let current = participants
                .get(&key.participant)
                .is_some_and(|p| match key.side {
                    Side::Publisher => p.publisher.deadline == at,
                    Side::Subscriber => p.subscriber.deadline == at,
                });
            if current {
                self.mark_dirty(participants, key);
            }
        }
    }

    /// Whether the named `timer` is due at `now` (it is then set a period later).
    pub(crate) fn fire(&mut self, timer: Timer, now: Instant) -> bool {
        self.timers.fire(timer, now)
    }

    /// When something is next due.
    pub(crate) fn next_timeout(&self) -> Instant {
        self.timers.next()
    }

    /// Notes that `key`'s connection was written to, to drive it once before the turn ends.
    pub(crate) fn mark_dirty(
        &mut self,
        participants: &mut BTreeMap<ParticipantId, Participant>,
        key: PeerKey,
    ) {
        if let Some(p) = participants.get_mut(&key.participant) {
            let peer = p.peer_mut(key.side);
            if !peer.dirty {
                peer.dirty = true;
                self.dirty.push(key);
            }
        }
    }

    /// A connection to drive now, if any is marked.
    pub(crate) fn next_dirty(&mut self) -> Option<PeerKey> {
        self.dirty.pop()
    }
}

fn accepts(
    participants: &BTreeMap<ParticipantId, Participant>,
    key: PeerKey,
    input: &Input,
) -> bool {
    participants
        .get(&key.participant)
        .is_some_and(|p| match key.side {
            Side::Publisher => p.publisher.rtc.accepts(input),
            Side::Subscriber => p.subscriber.rtc.accepts(input),
        })
}

/// The connection a datagram from an unknown address belongs to (STUN only: the ICE username
/// names the connection).
fn find_acceptor(
    participants: &BTreeMap<ParticipantId, Participant>,
    input: &Input,
) -> Option<PeerKey> {
    participants.values().find_map(|p| {
        let side = if p.publisher.rtc.accepts(input) {
            Side::Publisher
        } else if p.subscriber.rtc.accepts(input) {
            Side::Subscriber
        } else {
            return None;
        };
        Some(PeerKey {
            participant: p.id,
            side,
        })
    })
}
