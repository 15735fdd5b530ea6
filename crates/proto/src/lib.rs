//! Summit's wire types and identifiers: what crosses the WebSocket, and the events of the meeting
//! record (a file format verifiers read; `summit-record` chains and signs them). No logic.
#![deny(missing_docs)]

mod capability;
mod ids;
mod keys;
mod language;
mod message;
mod record_event;

pub use capability::{Capabilities, Capability};
pub use ids::{
    InvitationId, MeetingName, MeetingNameError, ParticipantId, ResumeHash, ResumeToken, Role,
    TrackSource,
};
pub use keys::{Opaque, RecordPublicKey, RecordSignature, RecordingKeyMac, RecordingPublicKey};
pub use language::{Language, LanguageError, LanguagePair};
pub use message::{
    BoothInfo, ChannelInfo, ChatMessage, ClientMessage, CloseCode, ConnectionState,
    DeniedInvitation, EdgeMessage, ErrorCode, IceServer, InterpretationState, LayerInfo,
    MeetingMessage, ParticipantInfo, PublishedTrackInfo, RecordHead, ServerMessage,
    SubscribedTrack, SwitchedSlot, TileDisplay, Uplink, CLOSE_PAGE_RECONNECTING,
    MAX_E2EE_DATA_BYTES, MAX_E2EE_KEY_BYTES, MAX_LAYERS, MAX_MESSAGE_BYTES, MAX_SDP_BYTES,
    MAX_SEALED_BYTES, MAX_VIEW_TILES, PROTOCOL_VERSION,
};
pub use record_event::RecordEvent;
