//! The meetings: who is in which meeting and may do what, and everything the meeting itself
//! decides (the lobby, moderation, chat, the key exchange relay, interpretation, recording and
//! the record). No str0m type lives here: what people publish and receive is the router's,
//! their connections the endpoint's.

pub(crate) mod budget;
pub(crate) mod channels;
pub(crate) mod chat;
pub(crate) mod e2ee;
pub(crate) mod interpretation;
pub(crate) mod lobby;
pub(crate) mod meeting;
pub(crate) mod moderation;
pub(crate) mod participant;
pub(crate) mod record;
pub(crate) mod recording;
pub(crate) mod turn;
pub(crate) mod uplink;
