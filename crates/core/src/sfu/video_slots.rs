//! The facade's side of video slots: takes a page's `view` (whose cameras it shows), keeps its
//! slots pointed as cameras come and go, and tells the page (`video_slots`).

use std::time::Instant;

use summit_proto::{Capability, ParticipantId, MAX_VIEW_TILES};

use crate::{Sfu, SfuError};

impl Sfu {
    /// `id`'s page shows the cameras of `tiles` now, in that order, and wants `slots` video
    /// slots (as many as `tiles` if not given).
    pub(crate) fn handle_view(
        &mut self,
        now: Instant,
        id: ParticipantId,
        tiles: &[ParticipantId],
        slots: Option<u32>,
    ) -> Result<(), SfuError> {
        let slots = slots.map_or(tiles.len(), |n| n as usize);
        if tiles.len() > MAX_VIEW_TILES || slots > MAX_VIEW_TILES {
            return Err(SfuError::Invalid(format!("at most {MAX_VIEW_TILES} tiles")));
        }
        let p = self
            .meetings
            .participant(id)
            .ok_or(SfuError::UnknownParticipant)?;
        if !p.capabilities.has(Capability::Subscribe) {
            return Err(SfuError::NotAllowed("this role receives no media"));
        }
        if !self.router.uses_video_slots(id) {
            return Err(SfuError::Unexpected("joined without video_slots"));
        }
        // Only the page's own meeting: an id from elsewhere (or gone) is left out, and its tile
        // stays without a picture.
        let members = self.meetings.members_of(id);
        let shown: Vec<ParticipantId> = tiles
            .iter()
            .copied()
            .filter(|t| *t != id && members.contains(t))
            .collect();
        self.router.set_view(id, &shown, slots);
        self.offer_if_needed(id);
        self.point_video_slots(id, now, false);
        Ok(())
    }

    /// Points `id`'s video slots at the cameras its page shows; tells the page if anything
    /// moved (or `always`: a camera it carried went away) and chooses its layers anew.
    pub(crate) fn point_video_slots(&mut self, id: ParticipantId, now: Instant, always: bool) {
        if let Some(msg) = self.router.point_video_slots(id, always) {
            self.signal_now(id, msg);
            self.reallocate(id, now);
        }
    }

    /// A camera in `id`'s meeting came or went: every member's video slots follow.
    pub(crate) fn cameras_changed(&mut self, id: ParticipantId, now: Instant) {
        for m in self.meetings.members_of(id) {
            if m != id {
                self.point_video_slots(m, now, false);
            }
        }
    }
}
