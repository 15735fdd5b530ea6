//! Peer: one str0m `Rtc` (a participant's publishing or subscribing connection) and its deadline.

use std::net::SocketAddr;
use std::time::Instant;

use str0m::bwe::Bitrate;
use str0m::net::TcpType;
use str0m::{Candidate, IceConnectionState, Rtc};
use summit_proto::ParticipantId;

/// How often str0m reports each connection's stream figures: every 5 s for monitoring, every
/// second where they also judge the bandwidth estimate (congestion.rs).
const STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
const STATS_INTERVAL_BWE: std::time::Duration = std::time::Duration::from_secs(1);

/// Which of a participant's two connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Side {
    /// The page offers, and sends its media here.
    Publisher,
    /// The server offers, and forwards others' media here.
    Subscriber,
}

/// Names one `Rtc` in the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PeerKey {
    pub(crate) participant: ParticipantId,
    pub(crate) side: Side,
}

/// One `Rtc` and when it next wants to be driven.
pub(crate) struct Peer {
    pub(crate) rtc: Rtc,
    /// The deadline last scheduled in the timer queue.
    pub(crate) deadline: Instant,
    /// Written to since it was last driven.
    pub(crate) dirty: bool,
    /// The latest cumulative RTCP figures per stream (from str0m's periodic stats).
    pub(crate) figures: Vec<(str0m::media::Mid, crate::metrics::StreamFigures)>,
    /// Whether its ICE path was up, and lost since.
    pub(crate) path: PathWatch,
}

/// Follows a connection's ICE states, to tell when its path comes back after an outage.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PathWatch {
    up_once: bool,
    interrupted: bool,
}

impl PathWatch {
    /// A new ICE state; true when it means the path is back after it was lost (or restarted).
    pub(crate) fn change(&mut self, s: IceConnectionState) -> bool {
        match s {
            IceConnectionState::Connected | IceConnectionState::Completed => {
                let back = self.up_once && self.interrupted;
                self.up_once = true;
                self.interrupted = false;
                back
            }
            _ => {
                self.interrupted |= self.up_once;
                false
            }
        }
    }
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl Peer {
    /// A server-side connection: ICE lite, RTP mode, Opus, VP8 and H264; with `bwe`, it
    /// estimates the bandwidth towards the page (TWCC), starting from that rate, and reports
    /// its stream figures every second.
    /// `tcp_addr`, when given, is also offered as a passive TCP candidate (ICE over TCP, RFC
    /// 6544), for pages whose network drops UDP. With `red`, Opus may come and go as RED (RFC
    /// 2198), forwarded as it is (redundancy.rs).
    pub(crate) fn new(
        now: Instant,
        public_addr: SocketAddr,
        tcp_addr: Option<SocketAddr>,
        bwe: Option<Bitrate>,
        red: bool,
    ) -> Self {
        let mut rtc = Rtc::builder()
            .enable_bwe(bwe)
            .set_rtp_mode(true)
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, red)
            .enable_vp8(true)
            .enable_h264(true)
            // Loss and NACK figures for monitoring and for judging the estimate; a few events
            // per connection per interval.
            .set_stats_interval(Some(match bwe {
                Some(_) => STATS_INTERVAL_BWE,
                None => STATS_INTERVAL,
            }))
            .build(now);
        if let Ok(c) = Candidate::host(public_addr, "udp") {
            rtc.add_local_candidate(c);
        }
        let tcp = tcp_addr.and_then(|a| {
            Candidate::builder()
                .tcp()
                .host(a)
                .tcptype(TcpType::Passive)
                .build()
                .ok()
        });
        if let Some(c) = tcp {
            rtc.add_local_candidate(c);
        }
        Self {
            rtc,
            deadline: now,
            dirty: false,
            figures: Vec::new(),
            path: PathWatch::default(),
        }
    }
}
