//! Summit's sans-IO SFU core.
//!
//! [`Sfu`] owns every meeting, participant and str0m `Rtc`, in three parts: `endpoint` (the
//! connections), `meetings` (what each meeting decides) and `router` (the media), composed by
//! the thin facade in `sfu`. It never
//! reads a clock or touches a socket: the runtime feeds it datagrams, signaling and timeouts with the current time
//! (`handle_*`) and drains what it decides (`poll_output`): datagrams to send, messages to
//! participants, disconnects and the next timeout. Tests drive it in virtual time.
#![deny(missing_docs)]

mod config;
mod decision;
mod endpoint;
mod error;
mod meetings;
mod metrics;
mod output;
mod policy;
mod router;
mod sfu;

pub use config::{SfuConfig, TurnServers, DEFAULT_AUDIO_SLOTS};
pub use decision::Decision;
pub use error::SfuError;
pub use meetings::budget::TokenBucket;
pub use meetings::interpretation::{
    AudioRoute, Hearing, Interpretation, InterpretationError, InterpretationEvent,
};
pub use meetings::moderation::PageInvitation;
pub use metrics::{Counters, MeetingMetrics, Metrics};
pub use output::{Disconnect, Output, RecordingControl, SfuEvent};
pub use policy::{EveryoneSeesEveryone, SubscriberView, SubscriptionPolicy, TrackView};
pub use router::recorded::RecordedPacket;
#[cfg(feature = "danger-test-attacks")]
pub use sfu::attacks::Attack;
pub use sfu::session::{Identity, JoinRequest, Joined, MeetingSettings, RecordingKey, Restored};
pub use sfu::Sfu;
