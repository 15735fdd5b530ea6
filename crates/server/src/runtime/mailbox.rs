//! The SFU task's mailbox: what signaling, the registry poller and the metrics listener send
//! the task, and what it sends each signaling connection back.

use summit_core::{JoinRequest, Joined, PageInvitation, SfuError};
use summit_proto::{CloseCode, InvitationId, MeetingMessage, ParticipantId, ServerMessage};
use tokio::sync::{mpsc, oneshot};

use crate::registry::KeptSession;

/// Messages queued to one signaling connection before it counts as stuck.
pub(crate) const CLIENT_QUEUE: usize = 512;

/// One signaling connection; a resumed session keeps its participant id but not its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnId(pub(crate) u64);

/// A request from a signaling connection.
pub(crate) enum Command {
    Join {
        conn: ConnId,
        request: Box<JoinRequest>,
        to_client: mpsc::Sender<ToClient>,
        reply: oneshot::Sender<Result<Joined, SfuError>>,
    },
    Message(ConnId, ParticipantId, MeetingMessage),
    /// A host made an invitation from the page (signed at the edge).
    Invited(ConnId, ParticipantId, Box<PageInvitation>),
    /// The signaling connection ended, and how.
    Closed(ConnId, ParticipantId, Departure),
    /// An invitation was revoked from outside the meeting.
    Revoked(InvitationId),
    /// Sessions the last run of the server held that did not come back after the restart.
    LostInRestart(Vec<KeptSession>),
    /// A snapshot for the metrics listener.
    Metrics(oneshot::Sender<MediaMetrics>),
}

/// What the metrics listener shows: the core's counters and the socket's.
pub(crate) struct MediaMetrics {
    pub(crate) core: summit_core::Metrics,
    /// Datagrams a full socket send buffer refused.
    pub(crate) send_drops: u64,
    /// The SFU task's stalls.
    pub(crate) load: super::task_load::TaskLoad,
}

/// What the SFU task sends a signaling connection.
#[derive(Debug)]
pub(crate) enum ToClient {
    /// Boxed: a `welcome` is large, a close small, and most are small messages.
    Message(Box<ServerMessage>),
    Close(CloseCode, String),
}

/// How a signaling connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Departure {
    /// Closed on purpose: by the page (leaving, or its tab closing) or by the server.
    Closed,
    /// Lost without a close: a network that dropped. The participant stays, reconnecting.
    Lost,
}
