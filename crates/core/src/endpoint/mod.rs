//! The endpoint: every connection (`Peer`, one str0m `Rtc` each, named by `PeerKey`), which
//! one a datagram from an address is for, when each must be driven next, and which were
//! written to since they were last driven. It owns this state alone; meeting state (who is in
//! which meeting, their tracks and slots) lives in `Participant` and `Meeting`, without str0m.

pub(crate) mod peer;
pub(crate) mod timers;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Instant;

use str0m::net::Protocol;
use str0m::{Input, Rtc};
use summit_proto::ParticipantId;

use crate::endpoint::peer::{Peer, PeerKey, Side};
use crate::endpoint::timers::{Timer, Timers};
use crate::metrics::Counters;

/// Connections, their routing and deadlines, and the connections to drive.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// Every connection. Ordered, so that a search for the connection a STUN request names
    /// walks them in a deterministic order.
    peers: BTreeMap<PeerKey, Peer>,
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
            peers: BTreeMap::new(),
            routes: HashMap::new(),
            timers: Timers::new(now),
            dirty: Vec::new(),
            dropped: 0,
        }
    }

    /// Gives participant `id` these two connections, in place of any they had (whose routes
    /// and pending drives go with them).
    pub(crate) fn connect(&mut self, id: ParticipantId, publisher: Peer, subscriber: Peer) {
        self.forget(id);
        self.peers.insert(key(id, Side::Publisher), publisher);
        self.peers.insert(key(id, Side::Subscriber), subscriber);
    }

    /// Closes a participant's connections: no route or drive leads to them any more.
    pub(crate) fn disconnect(&mut self, id: ParticipantId) {
        for side in [Side::Publisher, Side::Subscriber] {
            if let Some(mut peer) = self.peers.remove(&key(id, side)) {
                peer.rtc.disconnect();
            }
        }
        self.forget(id);
    }

    fn forget(&mut self, id: ParticipantId) {
        self.routes.retain(|_, k| k.participant != id);
        self.dirty.retain(|k| k.participant != id);
    }

    /// One connection, to write to.
    pub(crate) fn peer_mut(&mut self, key: PeerKey) -> Option<&mut Peer> {
        self.peers.get_mut(&key)
    }

    /// The `Rtc` of one side of a participant's connections.
    pub(crate) fn rtc(&self, id: ParticipantId, side: Side) -> Option<&Rtc> {
        self.peers.get(&key(id, side)).map(|p| &p.rtc)
    }

    /// The `Rtc` of one side of a participant's connections, to write to.
    pub(crate) fn rtc_mut(&mut self, id: ParticipantId, side: Side) -> Option<&mut Rtc> {
        self.peers.get_mut(&key(id, side)).map(|p| &mut p.rtc)
    }

    /// What a participant's connections counted: NACKs they sent (publishing) and received
    /// (subscribing), and packets lost towards them.
    pub(crate) fn counters(&self, id: ParticipantId) -> Counters {
        let mut c = Counters::default();
        if let Some(p) = self.peers.get(&key(id, Side::Publisher)) {
            for (_, f) in &p.figures {
                c.nacks_sent += f.nacks;
            }
        }
        if let Some(p) = self.peers.get(&key(id, Side::Subscriber)) {
            for (_, f) in &p.figures {
                c.nacks_received += f.nacks;
                c.packets_lost += f.lost;
            }
        }
        c
    }

    /// The connection `input` (from `source` over `proto`) is for: the one routed from that
    /// address while it accepts it, else for STUN the one its ICE username names, which the
    /// address then routes to. `None` (counted as dropped) when no connection takes it.
    pub(crate) fn route(
        &mut self,
        proto: Protocol,
        source: SocketAddr,
        input: &Input,
        is_stun: bool,
    ) -> Option<PeerKey> {
        let routed = self
            .routes
            .get(&(proto, source))
            .copied()
            .filter(|k| self.peers.get(k).is_some_and(|p| p.rtc.accepts(input)));
        let key = match routed {
            Some(k) => Some(k),
            // The ICE username names the connection.
            None if is_stun => self
                .peers
                .iter()
                .find(|(_, p)| p.rtc.accepts(input))
                .map(|(k, _)| *k),
            None => None,
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
    pub(crate) fn due(&mut self, now: Instant) {
        while let Some((at, key)) = self.timers.pop_due(now) {
            // An entry is stale once its connection's deadline moved.
            if self.peers.get(&key).is_some_and(|p| p.deadline == at) {
                self.mark_dirty(key);
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
    pub(crate) fn mark_dirty(&mut self, key: PeerKey) {
        if let Some(peer) = self.peers.get_mut(&key) {
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

fn key(participant: ParticipantId, side: Side) -> PeerKey {
    PeerKey { participant, side }
}
