//! Settings of the SFU core, with defaults suited to a meeting server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use summit_proto::{IceServer, ParticipantId};

/// Speakers a page hears at once unless configured: the loudest three, as in a room where
/// people talk over each other rarely more than that.
pub const DEFAULT_AUDIO_SLOTS: usize = 3;

/// Settings of the SFU core.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The address announced to browsers as the server's ICE host candidate (UDP).
    pub public_addr: SocketAddr,
    /// The address announced as a passive TCP candidate (ICE over TCP), if the runtime listens
    /// for media over TCP: pages whose network drops UDP connect there.
    pub tcp_addr: Option<SocketAddr>,
    /// At most one keyframe request per published video track within this window.
    pub keyframe_throttle: Duration,
    /// How often pages are asked to send a heartbeat.
    pub heartbeat_interval: Duration,
    /// A participant silent for this long is removed.
    pub heartbeat_timeout: Duration,
    /// How long a session whose connection was lost can be taken back by its resume token
    /// (after a restart of the server too).
    pub resume_window: Duration,
    /// TURN servers offered to the pages, if any.
    pub turn: Option<TurnServers>,
    /// Chat messages kept per meeting for those who join later.
    pub chat_history: usize,
    /// Most participants (admitted and waiting) in one meeting, hosts aside.
    pub max_participants: usize,
    /// Places kept for hosts beyond `max_participants`, so that a full meeting (or a lobby
    /// flooded with one leaked link) never locks its hosts out; a leaked host link stays
    /// bounded by them too.
    pub host_seats: usize,
    /// Most participants waiting in one meeting's lobby with the same invitation.
    pub max_lobby_per_invitation: usize,
    /// Bytes per second one participant may have the server relay (key exchange, chat).
    pub relay_bytes_per_second: u64,
    /// Bytes one participant may have relayed in a burst above that rate.
    pub relay_burst_bytes: u64,
    /// Record a [`crate::Decision`] for every forwarding and keyframe decision (tests).
    pub record_decisions: bool,
    /// The first participant id to give: past every id an earlier run of the server gave, so
    /// that ids (and the SFrame key ids made from them) never repeat.
    pub first_participant_id: u64,
    /// Estimate each subscriber's bandwidth (TWCC), starting from this many bits per second,
    /// and choose simulcast layers by it; `None` chooses by shown size alone (less CPU).
    pub initial_bandwidth: Option<u64>,
    /// Meetings whose recording the last run of the server left running (cut by a crash or a
    /// restart): their hosts are told when the meeting meets again.
    pub interrupted_recordings: std::collections::HashSet<summit_proto::MeetingName>,
    /// Offer RED (RFC 2198) for Opus, which pages use while every page in a meeting can
    /// receive it; off, pages send Opus alone.
    pub audio_redundancy: bool,
    /// Speakers each page hears at once (its speaker slots): the loudest, switched by the
    /// server as people speak. At least 1.
    pub audio_slots: usize,
    /// Attacks a compromised server would make, for tests of what pages withstand. Only in
    /// test builds (`danger-test-attacks`), never in a release.
    #[cfg(feature = "danger-test-attacks")]
    pub attacks: Vec<crate::Attack>,
}

impl SfuConfig {
    /// Defaults, announcing `public_addr`.
    pub fn new(public_addr: SocketAddr) -> Self {
        Self {
            public_addr,
            tcp_addr: None,
            keyframe_throttle: Duration::from_millis(500),
            heartbeat_interval: Duration::from_secs(2),
            heartbeat_timeout: Duration::from_secs(7),
            resume_window: Duration::from_secs(120),
            chat_history: 100,
            max_participants: 100,
            host_seats: 5,
            max_lobby_per_invitation: 3,
            relay_bytes_per_second: 64 * 1024,
            relay_burst_bytes: 256 * 1024,
            record_decisions: false,
            first_participant_id: 1,
            initial_bandwidth: Some(3_000_000),
            interrupted_recordings: Default::default(),
            audio_redundancy: true,
            audio_slots: DEFAULT_AUDIO_SLOTS,
            turn: None,
            #[cfg(feature = "danger-test-attacks")]
            attacks: Vec::new(),
        }
    }
}

/// The TURN servers pages may relay their media through, and how their credentials are made:
/// by the runtime, which holds the shared secret and reads the wall clock.
#[derive(Clone)]
pub struct TurnServers {
    /// A participant's servers with fresh credentials.
    pub mint: Arc<dyn Fn(ParticipantId) -> Vec<IceServer> + Send + Sync>,
    /// How long credentials stay valid; pages get new ones after three quarters of it.
    pub ttl: Duration,
}

impl std::fmt::Debug for TurnServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnServers")
            .field("ttl", &self.ttl)
            .finish()
    }
}
