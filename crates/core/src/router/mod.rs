//! The media router's state: what each participant publishes (`PublishedTrack`s) and
//! receives (`Slot`s, the negotiation of their subscribing connection, its bandwidth and
//! layer choice), and the subscription table that links the two. No meeting state lives here
//! (who is in which meeting, and may do what, is `Participant`'s and `Meeting`'s), and no
//! connection (the `Rtc`s are the endpoint's): forwarding reads the router and writes to the
//! endpoint.

pub(crate) mod bandwidth;
pub(crate) mod codec;
pub(crate) mod congestion;
pub(crate) mod forward;
pub(crate) mod forwarder;
pub(crate) mod keyframe;
pub(crate) mod layer_selector;
pub(crate) mod layers;
pub(crate) mod negotiation;
pub(crate) mod recorded;
pub(crate) mod redundancy;
pub(crate) mod speaker_slots;
pub(crate) mod speakers;
pub(crate) mod subscription;
pub(crate) mod track;
pub(crate) mod video_slots;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::change::SdpPendingOffer;
use str0m::media::Mid;
use summit_proto::{ParticipantId, ServerMessage, TrackSource};

use crate::decision::Decision;
use crate::endpoint::peer::Side;
use crate::endpoint::Endpoint;
use crate::router::speaker_slots::{RoomId, Rooms};
use crate::router::subscription::{Slot, SlotRef, Subscriptions};
use crate::router::track::{PublishedTrack, RecordingTap, TrackRef};

/// Every participant's media, and which slots each track feeds.
#[derive(Debug)]
pub(crate) struct Router {
    /// By participant; ordered, so that every walk is deterministic.
    media: BTreeMap<ParticipantId, Media>,
    /// Which slots each published track feeds (the only writer of a slot's track).
    subscriptions: Subscriptions,
    /// The meetings, and who is heard in each.
    rooms: Rooms,
    /// The shortest time between two keyframe requests for one layer.
    keyframe_throttle: Duration,
    /// What was forwarded and asked for, noted for tests (`record_decisions`).
    decisions: Option<Vec<Decision>>,
}

impl Router {
    /// An empty router: `keyframe_throttle` apart, at most, two requests for one layer;
    /// `record_decisions` notes what it forwards and asks for.
    pub(crate) fn new(keyframe_throttle: Duration, record_decisions: bool) -> Self {
        Self {
            media: BTreeMap::new(),
            subscriptions: Subscriptions::default(),
            rooms: Rooms::default(),
            keyframe_throttle,
            decisions: record_decisions.then(Vec::new),
        }
    }

    /// Takes the decisions noted since the last call (none unless `record_decisions`).
    pub(crate) fn take_decisions(&mut self) -> Vec<Decision> {
        self.decisions
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// A participant's media, empty until they publish or subscribe.
    pub(crate) fn add(&mut self, id: ParticipantId) {
        self.media.entry(id).or_default();
    }

    /// `id`'s media.
    pub(crate) fn media(&self, id: ParticipantId) -> Option<&Media> {
        self.media.get(&id)
    }

    /// Every participant's media, in participant order.
    #[cfg(feature = "danger-test-attacks")]
    pub(crate) fn all_media(&self) -> impl Iterator<Item = (ParticipantId, &Media)> {
        self.media.iter().map(|(id, m)| (*id, m))
    }

    /// The offer outstanding on `id`'s subscribing connection, to send again to a page that
    /// may not have had it.
    pub(crate) fn outstanding_offer(&self, id: ParticipantId) -> Option<ServerMessage> {
        let m = self.media.get(&id)?;
        m.pending_offer.as_ref()?;
        m.last_offer.clone()
    }

    /// `id`'s page asked for an ICE restart of its subscribing connection: the next offer
    /// restarts it, and what was learnt of the old path's bandwidth goes (an outage looked
    /// like congestion, and would keep video paused while the estimate climbs back), back to
    /// `initial` when given. `false` when the connection has no m-line yet, so no path to
    /// restart: its first offer starts ICE afresh anyway (and an empty offer may be refused).
    pub(crate) fn restart_ice(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
        initial: Option<u64>,
    ) -> bool {
        let Some(m) = self.media.get_mut(&id) else {
            return false;
        };
        if m.slots.iter().all(|s| s.mid.is_none()) {
            return false;
        }
        m.ice_restart = true;
        m.needs_offer = true;
        if let Some(init) = initial {
            m.bandwidth.estimate = None;
            m.bandwidth.raw = None;
            if let Some(rtc) = endpoint.rtc_mut(id, Side::Subscriber) {
                rtc.bwe().reset(Bitrate::bps(init));
            }
        }
        true
    }

    /// A host muted `id`'s microphone (`true`): its packets are held back until `id` unmutes
    /// (`false`).
    pub(crate) fn hold_microphone(&mut self, id: ParticipantId, held: bool) {
        if let Some(m) = self.media.get_mut(&id) {
            m.muted_by_host = held;
        }
    }

    /// Starts or stops giving `id`'s packets to the recording. Starting, each track's recording
    /// begins afresh, on a keyframe of the best layer being sent (asked for now rather than
    /// waited for).
    pub(crate) fn set_recording(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
        on: bool,
        now: Instant,
    ) {
        let Some(p) = self.media.get_mut(&id) else {
            return;
        };
        p.recording = on;
        let mut video = Vec::new();
        for t in &mut p.tracks {
            t.tap = RecordingTap::new(!t.source.is_audio());
            if !t.source.is_audio() {
                let r = TrackRef {
                    publisher: id,
                    source: t.source,
                };
                video.push((r, t.best_live_layer(now)));
            }
        }
        if on {
            for (t, best) in video {
                self.request_keyframe(endpoint, t, best, now);
            }
        }
    }

    /// Gives `id` the slot that will carry the language channel they listen to (negotiated
    /// once, by the next offer); `false` if they have one already.
    pub(crate) fn add_channel_slot(&mut self, id: ParticipantId) -> bool {
        let Some(p) = self.media.get_mut(&id) else {
            return false;
        };
        if p.channel_slot.is_some() {
            return false;
        }
        p.slots.push(Slot::channel());
        p.channel_slot = Some(p.slots.len() - 1);
        p.needs_offer = true;
        true
    }

    /// `id`'s channel slot, if they have one, with whose microphone it carries now.
    pub(crate) fn channel(&self, id: ParticipantId) -> Option<(SlotRef, Option<ParticipantId>)> {
        let p = self.media.get(&id)?;
        let slot = p.channel_slot?;
        let at = SlotRef {
            participant: id,
            slot,
        };
        Some((at, p.slots.get(slot)?.track().map(|t| t.publisher)))
    }

    /// Whether `id`'s m-line `mid` publishes audio.
    pub(crate) fn publishes_audio_on(&self, id: ParticipantId, mid: Mid) -> bool {
        self.media
            .get(&id)
            .and_then(|p| p.tracks.iter().find(|t| t.mid == mid))
            .is_some_and(|t| t.source.is_audio())
    }

    /// `id`'s page reported on its subscribing connection's stream `mid`: packets lost and
    /// the highest sequence number seen, and the round trip.
    pub(crate) fn link_report(
        &mut self,
        id: ParticipantId,
        now: Instant,
        mid: Mid,
        remote: Option<(u64, u64)>,
        rtt: Option<Duration>,
    ) {
        if let Some(p) = self.media.get_mut(&id) {
            p.bandwidth.signs.report(now, mid, remote, rtt);
        }
    }

    /// Whether `id` publishes `source`.
    pub(crate) fn publishes(&self, id: ParticipantId, source: TrackSource) -> bool {
        self.media
            .get(&id)
            .is_some_and(|m| m.track(source).is_some())
    }

    /// The slot `at`, if it exists.
    pub(crate) fn slot(&self, at: SlotRef) -> Option<&Slot> {
        self.media.get(&at.participant)?.slots.get(at.slot)
    }

    /// Gives `sub` a slot fed by `track`, unless one already is; `false` when `track` is not
    /// published. The slot is negotiated by the next offer.
    pub(crate) fn subscribe(&mut self, sub: ParticipantId, track: TrackRef) -> bool {
        let Some(kind) = self
            .media
            .get(&track.publisher)
            .and_then(|p| p.track(track.source))
            .map(PublishedTrack::kind)
        else {
            return false;
        };
        if self.subscriptions.feeds(track, sub) {
            return true;
        }
        let Some(s) = self.media.get_mut(&sub) else {
            return false;
        };
        // Reuse a free m-line that is inactive in the negotiated session, so the change shows in
        // the next offer; otherwise add one.
        let idx = match s
            .slots
            .iter()
            .position(|x| x.kind == kind && !x.active() && !x.negotiated_active())
        {
            Some(i) => i,
            None => {
                s.slots.push(Slot::new(kind));
                s.slots.len() - 1
            }
        };
        let at = SlotRef {
            participant: sub,
            slot: idx,
        };
        if let Some(slot) = s.slots.get_mut(idx) {
            self.subscriptions.assign(at, slot, Some(track));
        }
        s.needs_offer = true;
        true
    }

    /// Gives the slot `at` a new source under its running stream, with no new negotiation (a
    /// language channel's handover).
    pub(crate) fn hand_over(&mut self, at: SlotRef, track: Option<TrackRef>) {
        if let Some(s) = self
            .media
            .get_mut(&at.participant)
            .and_then(|p| p.slots.get_mut(at.slot))
        {
            self.subscriptions.hand_over(at, s, track);
        }
    }

    /// Frees a slot whose track is gone. A channel or speaker slot stays, carrying nothing until its next
    /// source; any other is offered inactive.
    pub(crate) fn release_slot(&mut self, at: SlotRef) {
        let Some(p) = self.media.get_mut(&at.participant) else {
            return;
        };
        let Some(s) = p.slots.get_mut(at.slot) else {
            return;
        };
        if s.switched() {
            self.subscriptions.hand_over(at, s, None);
        } else {
            self.subscriptions.assign(at, s, None);
            p.needs_offer = true;
        }
    }

    /// `id` stopped publishing `source`: every slot it fed is freed. Returns those slots'
    /// participants, whose pages need a new offer.
    pub(crate) fn unpublish(
        &mut self,
        id: ParticipantId,
        source: TrackSource,
    ) -> Vec<ParticipantId> {
        let Some(p) = self.media.get_mut(&id) else {
            return Vec::new();
        };
        let Some(i) = p.tracks.iter().position(|t| t.source == source) else {
            return Vec::new();
        };
        p.tracks.remove(i);
        let fed = self
            .subscriptions
            .slots_of(TrackRef {
                publisher: id,
                source,
            })
            .to_vec();
        for s in &fed {
            self.release_slot(*s);
        }
        fed.into_iter().map(|s| s.participant).collect()
    }

    /// `id` left: nobody receives their tracks any more, and no track feeds their slots.
    /// Returns what was theirs.
    pub(crate) fn remove(&mut self, id: ParticipantId) -> Media {
        let mut media = self.media.remove(&id).unwrap_or_default();
        for t in &media.tracks {
            let track = TrackRef {
                publisher: id,
                source: t.source,
            };
            for s in self.subscriptions.slots_of(track).to_vec() {
                self.release_slot(s);
            }
        }
        for (i, slot) in media.slots.iter_mut().enumerate() {
            let at = SlotRef {
                participant: id,
                slot: i,
            };
            self.subscriptions.assign(at, slot, None);
        }
        for m in self.media.values_mut() {
            m.tile_sizes.retain(|t, _| t.publisher != id);
        }
        media
    }
}

/// One participant's media: what they publish and what they receive.
#[derive(Debug, Default)]
pub(crate) struct Media {
    tracks: Vec<PublishedTrack>,
    slots: Vec<Slot>,
    /// The slot that carries the language channel this participant listens to, once picked.
    channel_slot: Option<usize>,
    /// The slots that carry the meeting's loudest speakers to them.
    speaker_slots: Vec<usize>,
    /// Their page receives cameras through video slots (`video_slots`), never a slot per
    /// camera.
    uses_video_slots: bool,
    /// The slots that carry the cameras their page shows.
    video_slots: Vec<usize>,
    /// The slot that carries the meeting's shared screen to them (with video slots).
    screen_slot: Option<usize>,
    /// Whose cameras their page shows, in its order (its last `view`).
    view: Vec<ParticipantId>,
    /// How big their page shows each video, as it last said: a video slot takes the size of
    /// the tile it is pointed at.
    tile_sizes: rustc_hash::FxHashMap<TrackRef, crate::router::layers::Display>,
    /// Their meeting's room, once they entered it.
    room: Option<RoomId>,
    /// Their microphone may be heard on the floor (not an interpreter's).
    floor: bool,
    /// A host muted the microphone; its packets are not forwarded until the participant
    /// unmutes.
    muted_by_host: bool,
    /// Their meeting is being recorded: their packets also go to the recording.
    recording: bool,
    /// The server's outstanding offer on the subscribing connection.
    pending_offer: Option<SdpPendingOffer>,
    /// Slots changed while an offer was outstanding.
    needs_offer: bool,
    /// The page asked for an ICE restart of its subscribing connection.
    ice_restart: bool,
    /// The last subscribe offer sent, to send again if it may not have arrived.
    last_offer: Option<ServerMessage>,
    /// The receiving connection has completed a negotiation (its codecs are known).
    subscriber_answered: bool,
    /// What was forwarded from this participant's tracks, and keyframes asked of them.
    forwarded: crate::metrics::Counters,
    /// What their subscribing connection can carry, and the layer choice made from it.
    bandwidth: Bandwidth,
}

impl Media {
    /// The sources they publish.
    pub(crate) fn sources(&self) -> impl Iterator<Item = TrackSource> + '_ {
        self.tracks.iter().map(|t| t.source)
    }

    /// What was forwarded from their tracks, and keyframes asked of them.
    pub(crate) fn forwarded(&self) -> crate::metrics::Counters {
        self.forwarded
    }

    /// Whether their packets also go to the recording.
    pub(crate) fn recording(&self) -> bool {
        self.recording
    }

    /// Their slots, in m-line order.
    #[cfg(feature = "danger-test-attacks")]
    pub(crate) fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The mids of the slots at `indices` that have one (were offered).
    pub(crate) fn mids(&self, indices: &[usize]) -> Vec<String> {
        indices
            .iter()
            .filter_map(|i| self.slots.get(*i)?.mid)
            .map(|m| m.to_string())
            .collect()
    }

    /// What the slots at `indices` carry now, as their page is told it; slots not yet
    /// offered are left out.
    pub(crate) fn switched_slots(&self, indices: &[usize]) -> Vec<summit_proto::SwitchedSlot> {
        indices
            .iter()
            .filter_map(|s| self.slots.get(*s))
            .filter_map(|s| {
                Some(summit_proto::SwitchedSlot {
                    mid: s.mid?.to_string(),
                    participant: s.track().map(|t| t.publisher),
                })
            })
            .collect()
    }

    /// Their published track of `source`, if any.
    pub(crate) fn track(&self, source: TrackSource) -> Option<&PublishedTrack> {
        self.tracks.iter().find(|t| t.source == source)
    }

    /// Their published track of `source`, to change.
    pub(crate) fn track_mut(&mut self, source: TrackSource) -> Option<&mut PublishedTrack> {
        self.tracks.iter_mut().find(|t| t.source == source)
    }
}

/// One subscriber's bandwidth: the estimate, the layer allocator, what BWE was asked to probe.
#[derive(Debug, Default)]
pub(crate) struct Bandwidth {
    /// The estimate layers are chosen by (bits per second), once the connection has one: str0m's,
    /// except that only a fall below what is sent is believed (see
    /// [`crate::router::bandwidth`]).
    pub(crate) estimate: Option<u64>,
    /// str0m's latest estimate.
    pub(crate) raw: Option<u64>,
    /// What the last allocation sends (video and audio), bits per second.
    pub(crate) sending: u64,
    /// Since when video has been sent without a break: an estimate says something about video
    /// only once it was measured on some.
    pub(crate) video_since: Option<Instant>,
    pub(crate) allocator: crate::router::layers::Allocator,
    /// What the page's receiver reports say about the link (overloaded or not).
    pub(crate) signs: crate::router::congestion::LinkSigns,
    /// (minimum, desired) last given to str0m's BWE.
    pub(crate) asked: (u64, u64),
    /// str0m's estimate was put back to the rate sent, before the page's first reports.
    pub(crate) vouched: bool,
}
