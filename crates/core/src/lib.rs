//! Summit's sans-IO SFU core.
//!
//! [`Sfu`] owns every meeting, participant and str0m `Rtc`. It never reads a clock or touches a
//! socket: the runtime feeds it datagrams, signaling and timeouts with the current time
//! (`handle_*`) and drains what it decides (`poll_output`): datagrams to send, messages to
//! participants, disconnects and the next timeout. Tests drive it in virtual time.
#![deny(missing_docs)]

#[cfg(feature = "danger-test-attacks")]
mod attacks;
mod bandwidth;
mod budget;
mod channels;
mod chat;
mod codec;
mod config;
mod congestion;
mod decision;
mod e2ee;
mod endpoint;
mod error;
mod forward;
mod forwarder;
mod interpretation;
mod keyframe;
mod layer_selector;
mod layers;
mod lobby;
mod media;
mod meeting;
mod metrics;
mod moderation;
mod negotiation;
mod output;
mod participant;
mod peer;
mod policy;
mod reconnect;
mod record;
mod recording;
mod redundancy;
mod router;
mod session;
mod sfu;
mod subscription;
mod timers;
mod track;
mod turn;
mod uplink;

#[cfg(feature = "danger-test-attacks")]
pub use attacks::Attack;
pub use budget::TokenBucket;
pub use config::{SfuConfig, TurnServers};
pub use decision::Decision;
pub use error::SfuError;
pub use interpretation::{
    AudioRoute, Hearing, Interpretation, InterpretationError, InterpretationEvent,
};
pub use metrics::{Counters, MeetingMetrics, Metrics};
pub use moderation::PageInvitation;
pub use output::{Disconnect, Output, RecordingControl, SfuEvent};
pub use policy::{EveryoneSeesEveryone, SubscriberView, SubscriptionPolicy, TrackView};
pub use recording::RecordedPacket;
pub use session::{Identity, JoinRequest, Joined, MeetingSettings, RecordingKey, Restored};
pub use sfu::Sfu;
