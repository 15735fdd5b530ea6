//! What the meetings decide, for the facade to carry out in order: messages to participants,
//! entries in a meeting's record, and events for the runtime. The meetings never send or write
//! themselves, so each decision can be read, and tested, as what it says.

use summit_proto::{MeetingName, ParticipantId, RecordEvent, ServerMessage};

use crate::output::SfuEvent;

/// One thing a meeting decided to say. Order matters: a record entry comes before the messages
/// that tell of it, so the runtime can make it durable before anyone is told.
#[derive(Debug)]
pub(crate) enum Said {
    /// A message to one participant.
    To(ParticipantId, ServerMessage),
    /// An entry in a meeting's record.
    Record(MeetingName, RecordEvent),
    /// Something the runtime acts on (the registry, the recording's writer).
    Event(SfuEvent),
}

/// `msg` to each of `to`.
pub(crate) fn to_each(
    to: impl IntoIterator<Item = ParticipantId>,
    msg: &ServerMessage,
) -> Vec<Said> {
    to.into_iter().map(|id| Said::To(id, msg.clone())).collect()
}
