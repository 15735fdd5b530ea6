//! Errors the core reports to the runtime for one participant's request.

use summit_proto::ErrorCode;

use crate::InterpretationError;

/// Why a request to the core was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SfuError {
    /// No such participant (already left).
    #[error("unknown participant")]
    UnknownParticipant,
    /// The SDP could not be parsed or applied.
    #[error("the SDP could not be used: {0}")]
    Sdp(String),
    /// The request needs a capability the participant lacks.
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// The request is malformed in a way the wire types cannot express.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The request does not fit the current state.
    #[error("unexpected: {0}")]
    Unexpected(&'static str),
    /// The meeting is full.
    #[error("the meeting is full")]
    MeetingFull,
    /// A host denied this invitation: it may not wait in the lobby until allowed again.
    #[error("a host did not let this invitation in; ask a host to allow it again")]
    Denied,
    /// As many people wait in the lobby with this invitation as one invitation may have.
    #[error("too many people are waiting in the lobby with this invitation")]
    LobbyFull,
    /// More bytes to relay than the sender's budget allows now.
    #[error("{0}")]
    RelayBudget(String),
    /// Only a resumed session could enter, and there was none to resume.
    #[error("no session to resume")]
    NotResumable,
    /// The meeting is locked: no one new enters.
    #[error("the meeting is locked; ask a host to unlock it")]
    Locked,
    /// The invitation says the meeting is (or is not) end-to-end encrypted, and the meeting
    /// in progress says otherwise.
    #[error(
        "this invitation does not match the meeting's encryption; ask the organizer for a new one"
    )]
    EncryptionMismatch,
    /// An interpretation request was refused (no such channel, a partner holds the
    /// microphone, a language outside the interpreter's pair).
    #[error("{0}")]
    Interpretation(#[from] InterpretationError),
}

impl SfuError {
    /// The wire error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            SfuError::UnknownParticipant | SfuError::Unexpected(_) | SfuError::NotResumable => {
                ErrorCode::UnexpectedMessage
            }
            SfuError::Sdp(_) => ErrorCode::InvalidSdp,
            SfuError::RelayBudget(_) => ErrorCode::RateLimited,
            SfuError::NotAllowed(_)
            | SfuError::MeetingFull
            | SfuError::Denied
            | SfuError::LobbyFull
            | SfuError::Locked
            | SfuError::EncryptionMismatch
            | SfuError::Interpretation(_) => ErrorCode::NotAllowed,
            SfuError::Invalid(_) => ErrorCode::InvalidMessage,
        }
    }
}
