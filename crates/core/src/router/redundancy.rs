//! Audio redundancy per meeting: pages send their microphone as RED (RFC 2198, each packet
//! also carrying the one before, so one lost packet is still heard) while every page in the
//! meeting can receive RED. In an end-to-end encrypted meeting the RED blocks are encrypted
//! with the frame, so the server cannot unwrap them for a page without RED (Firefox ESR):
//! it tells the publishers to stop instead (they offer again with Opus alone), and to start
//! again once the last such page left.

use str0m::format::Codec;
use summit_proto::{MeetingName, ParticipantId, ServerMessage};

use crate::endpoint::peer::Side;
use crate::endpoint::Endpoint;
use crate::router::Media;
use crate::Sfu;

/// Whether a participant's receiving connection took RED for Opus; `None` until it answered.
pub(crate) fn receives_red(id: ParticipantId, p: &Media, endpoint: &Endpoint) -> Option<bool> {
    if !p.subscriber_answered {
        return None;
    }
    let opus = endpoint
        .rtc(id, Side::Subscriber)?
        .codec_config()
        .find(|c| c.spec().codec == Codec::Opus)?;
    Some(opus.red().is_some())
}

impl Sfu {
    /// Works out again whether `meeting`'s pages may send RED; tells them all when it changes.
    pub(crate) fn update_redundancy(&mut self, meeting: &MeetingName) {
        let Some(m) = self.meetings.get(meeting) else {
            return;
        };
        // Pages that have not answered yet receive nothing yet: they count once they have.
        let on = self.config.audio_redundancy
            && m.members
                .iter()
                .filter_map(|id| Some((*id, self.router.media.get(id)?)))
                .all(|(id, p)| receives_red(id, p, &self.endpoint) != Some(false));
        if on == m.audio_redundancy {
            return;
        }
        let members = m.members.clone();
        if let Some(m) = self.meetings.get_mut(meeting) {
            m.audio_redundancy = on;
        }
        tracing::debug!(%meeting, on, "audio redundancy");
        for id in members {
            self.signal(id, ServerMessage::AudioRedundancy { on });
        }
    }
}
