//! What the core counts for monitoring: plain counters bumped on the media path (no lookups,
//! no locks), and a snapshot the runtime asks for when metrics are scraped.

use summit_proto::MeetingName;

/// Counters that only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// RTP packets written to subscribers.
    pub forwarded_packets: u64,
    /// Their payload bytes.
    pub forwarded_bytes: u64,
    /// Keyframe requests (PLI) sent to publishers.
    pub keyframe_requests: u64,
    /// NACKs the server sent to publishers (losses on the way in).
    pub nacks_sent: u64,
    /// NACKs subscribers sent the server (losses on the way out).
    pub nacks_received: u64,
    /// Packets subscribers reported lost (RTCP receiver reports).
    pub packets_lost: u64,
}

impl std::ops::AddAssign for Counters {
    fn add_assign(&mut self, o: Self) {
        self.forwarded_packets += o.forwarded_packets;
        self.forwarded_bytes += o.forwarded_bytes;
        self.keyframe_requests += o.keyframe_requests;
        self.nacks_sent += o.nacks_sent;
        self.nacks_received += o.nacks_received;
        self.packets_lost += o.packets_lost;
    }
}

/// One meeting in a snapshot.
#[derive(Debug, Clone)]
pub struct MeetingMetrics {
    /// The meeting.
    pub name: MeetingName,
    /// Admitted participants.
    pub participants: usize,
    /// Waiting in the lobby.
    pub waiting: usize,
    /// Published tracks.
    pub tracks: usize,
    /// What was forwarded from its publishers since it began (on this server).
    pub counters: Counters,
}

/// A snapshot of the whole server.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Every meeting with someone in it.
    pub meetings: Vec<MeetingMetrics>,
    /// Since the server started, all meetings together.
    pub totals: Counters,
    /// Datagrams dropped before reaching any connection.
    pub dropped_datagrams: u64,
}

/// The cumulative RTCP figures str0m last reported for one stream of a connection.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StreamFigures {
    pub(crate) nacks: u64,
    pub(crate) lost: u64,
}
