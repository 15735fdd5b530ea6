//! Audio redundancy per meeting: pages send their microphone as RED (RFC 2198, each packet
//! also carrying the one before, so one lost packet is still heard) while every page in the
//! meeting can receive RED. In an end-to-end encrypted meeting the RED blocks are encrypted
//! with the frame, so the server cannot unwrap them for a page without RED (Firefox ESR):
//! it tells the publishers to stop instead (they offer again with Opus alone), and to start
//! again once the last such page left.

use str0m::format::Codec;
use summit_proto::ParticipantId;

use crate::endpoint::peer::Side;
use crate::endpoint::Endpoint;
use crate::router::Router;

impl Router {
    /// Whether `id`'s receiving connection took RED for Opus; `None` until it answered.
    pub(crate) fn receives_red(&self, endpoint: &Endpoint, id: ParticipantId) -> Option<bool> {
        if !self.media.get(&id)?.subscriber_answered {
            return None;
        }
        let opus = endpoint
            .rtc(id, Side::Subscriber)?
            .codec_config()
            .find(|c| c.spec().codec == Codec::Opus)?;
        Some(opus.red().is_some())
    }
}
