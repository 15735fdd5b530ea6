//! Subscriptions: a subscriber's slots (the sending m-lines of its receiving connection) and
//! the one table that links them to the published tracks feeding them, in both directions.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;

use str0m::media::{MediaKind, Mid, Pt};
use summit_proto::ParticipantId;

use crate::router::codec::Vp8Numbering;
use crate::router::forwarder::Forwarder;
use crate::router::layer_selector::LayerSelector;
use crate::router::layers::Display;
use crate::router::track::TrackRef;

/// Which slots each published track feeds. The only writer of a slot's track: every change goes
/// through [`Subscriptions::assign`] or [`Subscriptions::hand_over`], so the two directions
/// cannot disagree.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    /// Looked up once per forwarded packet. Its keys are ids the server gave out, never
    /// chosen by the network, so a fast hash without flood resistance is safe here (unlike
    /// the endpoint's routes, keyed by source addresses).
    by_track: FxHashMap<TrackRef, Vec<SlotRef>>,
}

impl Subscriptions {
    /// The slots `track` feeds, in the order they subscribed.
    pub(crate) fn slots_of(&self, track: TrackRef) -> &[SlotRef] {
        self.by_track.get(&track).map_or(&[], Vec::as_slice)
    }

    /// Whether `track` feeds a slot of `subscriber`.
    pub(crate) fn feeds(&self, track: TrackRef, subscriber: ParticipantId) -> bool {
        self.slots_of(track)
            .iter()
            .any(|s| s.participant == subscriber)
    }

    /// Points the slot `at` at `track`, or frees it: a change the next offer tells the page.
    pub(crate) fn assign(&mut self, at: SlotRef, slot: &mut Slot, track: Option<TrackRef>) {
        self.relink(at, slot.track, track);
        slot.assign(track);
    }

    /// Gives the slot `at` a new source under its running stream (a language channel's
    /// handover), with no new negotiation.
    pub(crate) fn hand_over(&mut self, at: SlotRef, slot: &mut Slot, track: Option<TrackRef>) {
        self.relink(at, slot.track, track);
        slot.switch_source(track);
    }

    /// Number of (track, slot) links, for tests.
    #[cfg(test)]
    fn links(&self) -> usize {
        self.by_track.values().map(Vec::len).sum()
    }

    fn relink(&mut self, at: SlotRef, old: Option<TrackRef>, new: Option<TrackRef>) {
        if old == new {
            return;
        }
        if let Some(Entry::Occupied(mut e)) = old.map(|o| self.by_track.entry(o)) {
            e.get_mut().retain(|s| *s != at);
            if e.get().is_empty() {
                e.remove();
            }
        }
        if let Some(n) = new {
            self.by_track.entry(n).or_default().push(at);
        }
    }
}

/// How a subscriber's switched slots (`slots`, by index) follow the publishers `wanted` on
/// them, most wanted first: a publisher already carried stays on its slot (its stream goes on
/// undisturbed), the others take slots that carry no one wanted, and slots left over are
/// freed. Returns the moves: (slot, its new publisher or none).
pub(crate) fn repoint(
    slots: &[usize],
    carried: impl Fn(usize) -> Option<ParticipantId>,
    wanted: impl Iterator<Item = ParticipantId>,
) -> Vec<(usize, Option<ParticipantId>)> {
    let mut want: Vec<ParticipantId> = Vec::with_capacity(slots.len());
    for p in wanted {
        if want.len() == slots.len() {
            break;
        }
        if !want.contains(&p) {
            want.push(p);
        }
    }
    let stays = |s: usize| carried(s).is_some_and(|p| want.contains(&p));
    let mut free = slots.iter().copied().filter(|s| !stays(*s));
    let mut moves = Vec::new();
    for p in &want {
        if slots.iter().any(|s| carried(*s) == Some(*p)) {
            continue;
        }
        if let Some(s) = free.next() {
            moves.push((s, Some(*p)));
        }
    }
    for s in free {
        if carried(s).is_some() {
            moves.push((s, None));
        }
    }
    moves
}

/// Names one slot of one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotRef {
    pub(crate) participant: ParticipantId,
    pub(crate) slot: usize,
}

/// What the page agreed to for one m-line in the last completed negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agreed {
    /// Nothing yet, or the m-line inactive.
    Inactive,
    /// Sending the track the slot had at `generation`.
    Active { generation: u64 },
}

/// What an outstanding offer said of one m-line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offered {
    pub(crate) generation: u64,
    pub(crate) active: bool,
}

/// One sending m-line of a subscriber's connection, and the track it carries now (if any).
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) kind: MediaKind,
    /// Set once the m-line is in an offer.
    pub(crate) mid: Option<Mid>,
    /// The track it carries: written only by [`Subscriptions`], which keeps the other direction.
    track: Option<TrackRef>,
    /// A language channel slot: always active once negotiated; `track` is its current source
    /// and changes at handovers without renegotiation.
    pub(crate) channel: bool,
    /// A speaker slot: like a channel's, always active once negotiated, its source one of the
    /// meeting's loudest speakers.
    pub(crate) speaker: bool,
    /// A video slot: like a speaker slot, its source one of the cameras the page shows.
    pub(crate) tile: bool,
    /// Bumped whenever `track` changes, so an answer to an older offer does not start it.
    pub(crate) generation: u64,
    /// What the outstanding offer said of this m-line, if one is out.
    pub(crate) offered: Option<Offered>,
    /// What the page agreed to last.
    pub(crate) agreed: Agreed,
    pub(crate) forwarder: Forwarder,
    /// Last payload type mapping: (publisher's pt, subscriber's pt).
    pub(crate) pt_map: Option<(Pt, Pt)>,
    /// The layer of the track forwarded now, and the one the allocation chose (switched at its
    /// keyframe); no target sends nothing (video hidden or no bandwidth).
    pub(crate) selector: LayerSelector,
    /// How the page shows this video.
    pub(crate) display: Display,
    /// Not sent for want of bandwidth (and the page was told).
    pub(crate) starved: bool,
    /// VP8 picture numbering of the outgoing stream, continuous across layers and sources.
    pub(crate) vp8: Vp8Numbering,
    /// The outgoing stream's resend limits are set (forward.rs, once its m-line exists in str0m).
    pub(crate) resends_configured: bool,
}

impl Slot {
    pub(crate) fn new(kind: MediaKind) -> Self {
        Self {
            kind,
            mid: None,
            track: None,
            channel: false,
            speaker: false,
            tile: false,
            generation: 0,
            offered: None,
            agreed: Agreed::Inactive,
            forwarder: Forwarder::new(kind == MediaKind::Video),
            pt_map: None,
            // Audio has one layer and always flows; video waits for the first allocation.
            selector: LayerSelector::new((kind == MediaKind::Audio).then_some(0)),
            display: Display::Unreported,
            starved: false,
            vp8: Vp8Numbering::default(),
            resends_configured: false,
        }
    }

    /// A slot for a language channel (audio).
    pub(crate) fn channel() -> Self {
        Self {
            channel: true,
            ..Self::new(MediaKind::Audio)
        }
    }

    /// A slot for one of the meeting's loudest speakers (audio).
    pub(crate) fn speaker() -> Self {
        Self {
            speaker: true,
            ..Self::new(MediaKind::Audio)
        }
    }

    /// A slot for one of the cameras the page shows (video).
    pub(crate) fn tile() -> Self {
        Self {
            tile: true,
            ..Self::new(MediaKind::Video)
        }
    }

    /// Its source changes under its running stream, without negotiation: a channel's, a
    /// speaker or a video slot.
    pub(crate) fn switched(&self) -> bool {
        self.channel || self.speaker || self.tile
    }

    /// The track it carries now, if any.
    pub(crate) fn track(&self) -> Option<TrackRef> {
        self.track
    }

    /// Whether the m-line should be sending: it carries a track, or it is a switched slot.
    pub(crate) fn active(&self) -> bool {
        self.switched() || self.track.is_some()
    }

    /// Whether the m-line is active in the last completed negotiation.
    pub(crate) fn negotiated_active(&self) -> bool {
        matches!(self.agreed, Agreed::Active { .. })
    }

    /// The page knows what this slot carries now, and forwarding may run: it agreed to the
    /// current generation, active.
    pub(crate) fn ready(&self) -> bool {
        self.agreed
            == Agreed::Active {
                generation: self.generation,
            }
    }

    /// Notes what an offer says of this m-line now.
    pub(crate) fn offer(&mut self) {
        self.offered = Some(Offered {
            generation: self.generation,
            active: self.active(),
        });
    }

    /// The page answered the outstanding offer; returns whether the slot still carries what
    /// the offer said (else the next offer must say what it carries now), or `None` if the
    /// offer did not include this m-line.
    pub(crate) fn answered(&mut self) -> Option<bool> {
        let offered = self.offered.take()?;
        self.agreed = if offered.active {
            Agreed::Active {
                generation: offered.generation,
            }
        } else {
            Agreed::Inactive
        };
        Some(offered.generation == self.generation)
    }

    /// The source changes under a running stream (a channel's handover): the outgoing stream
    /// continues, no renegotiation.
    fn switch_source(&mut self, track: Option<TrackRef>) {
        self.track = track;
        self.pt_map = None;
        self.selector.restart();
        self.forwarder.switch_source(self.kind == MediaKind::Video);
        self.vp8.switch_source();
    }

    /// Points the slot at `track` (or frees it), for the next negotiation to say.
    fn assign(&mut self, track: Option<TrackRef>) {
        self.track = track;
        self.generation += 1;
        self.pt_map = None;
        self.selector = LayerSelector::new((self.kind == MediaKind::Audio).then_some(0));
        self.display = Display::Unreported;
        self.starved = false;
        self.forwarder.switch_source(self.kind == MediaKind::Video);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use summit_proto::TrackSource;

    fn track(n: u64) -> Option<TrackRef> {
        Some(TrackRef {
            publisher: ParticipantId(n),
            source: TrackSource::Camera,
        })
    }

    #[test]
    fn a_slot_is_ready_once_the_page_agreed_to_what_it_carries_now() {
        let mut s = Slot::new(MediaKind::Video);
        s.assign(track(1));
        assert!(!s.ready());
        s.offer();
        assert_eq!(s.answered(), Some(true));
        assert!(s.ready() && s.negotiated_active());
        // Nothing outstanding: an answer says nothing of this m-line.
        assert_eq!(s.answered(), None);
        // Re-pointed while an offer is out: the answer is to the old track.
        s.assign(track(2));
        s.offer();
        s.assign(track(3));
        assert_eq!(s.answered(), Some(false));
        assert!(!s.ready() && s.negotiated_active());
        s.offer();
        assert_eq!(s.answered(), Some(true));
        assert!(s.ready());
        // Freed and offered inactive: the m-line may be reused.
        s.assign(None);
        s.offer();
        assert_eq!(s.answered(), Some(true));
        assert!(!s.ready() && !s.negotiated_active());
    }

    #[test]
    fn a_channel_changes_source_without_a_new_negotiation() {
        let mut s = Slot::channel();
        s.offer();
        assert_eq!(s.answered(), Some(true));
        assert!(s.ready());
        s.switch_source(track(4));
        assert!(s.ready(), "a handover needs no offer");
    }

    #[test]
    fn repointing_keeps_who_stays_and_fills_free_slots_in_order() {
        let p = |n: u64| ParticipantId(n);
        // Slots 4, 5, 6 carry 1, 2, nobody; 2 and 3 are wanted now, then 7.
        let carried = |s: usize| match s {
            4 => Some(p(1)),
            5 => Some(p(2)),
            _ => None,
        };
        let moves = repoint(&[4, 5, 6], carried, [p(2), p(3), p(7)].into_iter());
        assert_eq!(moves, vec![(4, Some(p(3))), (6, Some(p(7)))]);
        // Fewer wanted than slots: the rest are freed; duplicates count once.
        let moves = repoint(&[4, 5, 6], carried, [p(2), p(2)].into_iter());
        assert_eq!(moves, vec![(4, None)]);
        // More wanted than slots: the first ones win, and nobody moves for the others.
        let moves = repoint(&[4, 5], carried, [p(1), p(2), p(3)].into_iter());
        assert!(moves.is_empty());
    }

    fn at(participant: u64, slot: usize) -> SlotRef {
        SlotRef {
            participant: ParticipantId(participant),
            slot,
        }
    }

    /// Every slot's track is linked back from that track, and nothing else is linked.
    fn agree(subs: &Subscriptions, slots: &[(SlotRef, &Slot)]) {
        let carried = slots.iter().filter(|(_, s)| s.track().is_some()).count();
        assert_eq!(subs.links(), carried);
        for (r, s) in slots {
            if let Some(t) = s.track() {
                assert!(
                    subs.slots_of(t).contains(r),
                    "{t:?} does not link back to {r:?}"
                );
            }
        }
    }

    #[test]
    fn the_table_and_the_slots_agree_through_assignments_and_handovers() {
        let mut subs = Subscriptions::default();
        let (mut a, mut b, mut ch) = (
            Slot::new(MediaKind::Video),
            Slot::new(MediaKind::Video),
            Slot::channel(),
        );
        subs.assign(at(2, 0), &mut a, track(1));
        subs.assign(at(3, 0), &mut b, track(1));
        assert_eq!(subs.slots_of(track(1).unwrap()), &[at(2, 0), at(3, 0)]);
        assert!(subs.feeds(track(1).unwrap(), ParticipantId(3)));
        assert!(!subs.feeds(track(1).unwrap(), ParticipantId(4)));
        // Re-pointed: gone from the old track, on the new one.
        subs.assign(at(2, 0), &mut a, track(5));
        assert_eq!(subs.slots_of(track(1).unwrap()), &[at(3, 0)]);
        assert_eq!(subs.slots_of(track(5).unwrap()), &[at(2, 0)]);
        // A channel changes source without a new generation.
        subs.hand_over(at(2, 1), &mut ch, track(1));
        let generation = ch.generation;
        subs.hand_over(at(2, 1), &mut ch, track(5));
        assert_eq!(ch.generation, generation);
        assert_eq!(subs.slots_of(track(5).unwrap()), &[at(2, 0), at(2, 1)]);
        agree(&subs, &[(at(2, 0), &a), (at(3, 0), &b), (at(2, 1), &ch)]);
        // The same track again links once.
        subs.assign(at(3, 0), &mut b, track(1));
        agree(&subs, &[(at(2, 0), &a), (at(3, 0), &b), (at(2, 1), &ch)]);
        // Freed: nothing is left of a track with no slots.
        subs.assign(at(3, 0), &mut b, None);
        subs.hand_over(at(2, 1), &mut ch, None);
        subs.assign(at(2, 0), &mut a, None);
        assert!(subs.slots_of(track(1).unwrap()).is_empty());
        assert!(subs.by_track.is_empty());
        agree(&subs, &[(at(2, 0), &a), (at(3, 0), &b), (at(2, 1), &ch)]);
    }
}
