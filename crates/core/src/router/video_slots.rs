//! Video slots: the camera m-lines of a page that joined with `video_slots`, as many as the
//! tiles its `view` shows, each pointed at one of the cameras it shows. When who is shown, or
//! who publishes a camera, changes, the slots are handed over to the new cameras under their
//! running streams, as speaker slots are: a join, a leave or a new camera costs no offer, and a
//! page receives at most as many pictures as it shows, whatever the size of the meeting.
//!
//! Such a page also has one *screen slot*, negotiated with its first video slots: it carries
//! the meeting's shared screen (the first member's, in the order they joined, when several
//! share), so a share that starts or stops costs no offer either.

use summit_proto::{ParticipantId, ServerMessage, TrackSource, MAX_VIEW_TILES};

use crate::router::subscription::{repoint, Slot, SlotRef};
use crate::router::track::TrackRef;
use crate::router::Router;

impl Router {
    /// `id`'s page receives cameras through video slots from now on (it joined so).
    pub(crate) fn use_video_slots(&mut self, id: ParticipantId) {
        if let Some(m) = self.media.get_mut(&id) {
            m.uses_video_slots = true;
        }
    }

    /// Whether `id`'s page receives cameras through video slots.
    pub(crate) fn uses_video_slots(&self, id: ParticipantId) -> bool {
        self.media.get(&id).is_some_and(|m| m.uses_video_slots)
    }

    /// `id`'s page shows the cameras of `tiles` now, in that order (members of its meeting
    /// other than itself, checked by the caller), and wants `slots` video slots (at least one
    /// per tile): more slots than it has need an offer (returns `true`); fewer keep the ones
    /// negotiated, idle, so that paging back costs none.
    pub(crate) fn set_view(
        &mut self,
        id: ParticipantId,
        tiles: &[ParticipantId],
        slots: usize,
    ) -> bool {
        let Some(m) = self.media.get_mut(&id) else {
            return false;
        };
        m.view.clear();
        m.view.extend(
            tiles
                .iter()
                .copied()
                .take(MAX_VIEW_TILES)
                .filter(|p| *p != id),
        );
        let mut grew = false;
        if m.screen_slot.is_none() {
            m.slots.push(Slot::tile());
            m.screen_slot = Some(m.slots.len() - 1);
            grew = true;
        }
        let wanted = slots.max(m.view.len()).min(MAX_VIEW_TILES);
        while m.video_slots.len() < wanted {
            m.slots.push(Slot::tile());
            m.video_slots.push(m.slots.len() - 1);
            grew = true;
        }
        m.needs_offer |= grew;
        grew
    }

    /// Points `id`'s video slots at the cameras its view shows (those published): a camera
    /// already carried stays on its slot, the others take free ones. Returns the page's
    /// `video_slots` message if anything moved (or `always`), once it knows its slots.
    pub(crate) fn point_video_slots(
        &mut self,
        id: ParticipantId,
        always: bool,
    ) -> Option<ServerMessage> {
        let m = self.media.get(&id)?;
        if m.video_slots.is_empty() && m.screen_slot.is_none() {
            return None;
        }
        let camera = |publisher| TrackRef {
            publisher,
            source: TrackSource::Camera,
        };
        let publishes = |p: &ParticipantId| {
            self.media
                .get(p)
                .is_some_and(|pm| pm.track(TrackSource::Camera).is_some())
        };
        let carried = |s: usize| m.slots.get(s).and_then(Slot::track).map(|t| t.publisher);
        let moves = repoint(
            &m.video_slots,
            carried,
            m.view.iter().copied().filter(publishes),
        );
        // The screen slot: the first other member sharing a screen.
        let screen_moves = match (m.screen_slot, m.room.and_then(|r| self.rooms.get(r))) {
            (Some(slot), Some(room)) => {
                let sharing = room.members().iter().copied().filter(|p| {
                    *p != id
                        && self
                            .media
                            .get(p)
                            .is_some_and(|pm| pm.track(TrackSource::Screen).is_some())
                });
                repoint(&[slot], carried, sharing)
            }
            _ => Vec::new(),
        };
        let moved = !moves.is_empty() || !screen_moves.is_empty();
        let screen = |publisher| TrackRef {
            publisher,
            source: TrackSource::Screen,
        };
        let moves = moves
            .into_iter()
            .map(|(slot, p)| (slot, p.map(camera)))
            .chain(
                screen_moves
                    .into_iter()
                    .map(|(slot, p)| (slot, p.map(screen))),
            );
        let moves: Vec<(usize, Option<TrackRef>)> = moves.collect();
        for (slot, track) in moves {
            let at = SlotRef {
                participant: id,
                slot,
            };
            self.hand_over(at, track);
            // The slot shows its new camera at the size the page gave that tile.
            if let Some(m) = self.media.get_mut(&id) {
                let display = track
                    .and_then(|t| m.tile_sizes.get(&t).copied())
                    .unwrap_or_default();
                if let Some(s) = m.slots.get_mut(slot) {
                    s.display = display;
                    s.starved = false;
                }
            }
        }
        (moved || always).then(|| self.video_slots_message(id))?
    }

    /// What `id`'s video slots (and its screen slot) carry now, for their page; `None` before
    /// they were offered.
    pub(crate) fn video_slots_message(&self, id: ParticipantId) -> Option<ServerMessage> {
        let m = self.media.get(&id)?;
        let mut indices = m.video_slots.clone();
        indices.extend(m.screen_slot);
        let slots = m.switched_slots(&indices);
        (!slots.is_empty()).then_some(ServerMessage::VideoSlots { slots })
    }

    /// Whose video or screen slots carry `publisher`'s camera or screen now.
    pub(crate) fn tiles_showing(&self, publisher: ParticipantId) -> Vec<ParticipantId> {
        let mut showing: Vec<ParticipantId> = [TrackSource::Camera, TrackSource::Screen]
            .into_iter()
            .flat_map(|source| self.subscriptions.slots_of(TrackRef { publisher, source }))
            .filter(|s| self.slot(**s).is_some_and(|slot| slot.tile))
            .map(|s| s.participant)
            .collect();
        showing.sort_unstable();
        showing.dedup();
        showing
    }
}
