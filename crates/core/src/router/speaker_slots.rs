//! Speaker slots: each listener's few audio m-lines, negotiated once, that carry the meeting's
//! loudest speakers (see [`crate::router::speakers`]). When who holds the meeting's places
//! changes, each listener's slots are handed over to the new speakers under their running
//! streams, as language channels are: a join, a leave or a new speaker costs no offer.

use std::time::Instant;

use rustc_hash::FxHashMap;
use str0m::rtp::RtpPacket;
use summit_proto::{MeetingName, ParticipantId, ServerMessage, TrackSource};

use crate::router::forward::Classified;
use crate::router::speakers::{Heard, Speakers};
use crate::router::subscription::{repoint, Slot, SlotRef};
use crate::router::track::TrackRef;
use crate::router::Router;

/// A meeting as the router knows it: who is in it, and who of them is heard.
#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) speakers: Speakers,
    /// Its members, in the order they joined.
    members: Vec<ParticipantId>,
}

/// The router's name for a meeting, cheap to look up per packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RoomId(u32);

/// The meetings the router knows.
#[derive(Debug, Default)]
pub(crate) struct Rooms {
    by_id: FxHashMap<RoomId, Room>,
    by_name: std::collections::BTreeMap<MeetingName, RoomId>,
    next: u32,
}

impl Rooms {
    /// `meeting`'s room, made on first use, `capacity` speakers heard at once.
    fn enter(&mut self, meeting: &MeetingName, capacity: usize) -> (RoomId, &mut Room) {
        let id = match self.by_name.get(meeting) {
            Some(id) => *id,
            None => {
                let id = RoomId(self.next);
                self.next = self.next.wrapping_add(1);
                self.by_name.insert(meeting.clone(), id);
                id
            }
        };
        let room = self.by_id.entry(id).or_insert_with(|| Room {
            speakers: Speakers::new(capacity),
            members: Vec::new(),
        });
        (id, room)
    }

    /// The room, if it has members.
    pub(crate) fn get(&self, id: RoomId) -> Option<&Room> {
        self.by_id.get(&id)
    }

    fn get_mut(&mut self, id: RoomId) -> Option<&mut Room> {
        self.by_id.get_mut(&id)
    }

    /// `id` left its room; the room goes with its last member.
    fn leave(&mut self, room: RoomId, id: ParticipantId) -> Heard {
        let Some(r) = self.by_id.get_mut(&room) else {
            return Heard::default();
        };
        r.members.retain(|m| *m != id);
        let heard = r.speakers.remove(id);
        if r.members.is_empty() {
            self.by_id.remove(&room);
            self.by_name.retain(|_, v| *v != room);
        }
        heard
    }
}

impl Room {
    /// Its members.
    pub(crate) fn members(&self) -> &[ParticipantId] {
        &self.members
    }

    /// Who is heard now, and who speaks most: for every member's page.
    pub(crate) fn active_speakers(&self) -> ServerMessage {
        ServerMessage::ActiveSpeakers {
            speakers: self.speakers.held().collect(),
            dominant: self.speakers.dominant(),
        }
    }
}

impl Router {
    /// `id` enters `meeting`'s room. With `listens`, they get `slots` speaker slots
    /// (negotiated by their next offer, once for all); with `candidate`, their microphone may
    /// be heard on the floor once published.
    pub(crate) fn join_room(
        &mut self,
        id: ParticipantId,
        meeting: &MeetingName,
        candidate: bool,
        listens: bool,
        slots: usize,
    ) {
        let Some(m) = self.media.get_mut(&id) else {
            return;
        };
        if m.room.is_some() {
            return;
        }
        let (room_id, room) = self.rooms.enter(meeting, slots);
        room.members.push(id);
        m.room = Some(room_id);
        m.floor = candidate;
        if candidate && m.track(TrackSource::Microphone).is_some() && !m.muted_by_host {
            room.speakers.add_candidate(id);
        }
        if listens && slots > 0 {
            for _ in 0..slots {
                m.slots.push(Slot::speaker());
                m.speaker_slots.push(m.slots.len() - 1);
            }
            m.needs_offer = true;
        }
    }

    /// `id` leaves their room (before [`Router::remove`]): what it changed there.
    pub(crate) fn leave_room(&mut self, id: ParticipantId) -> Option<(RoomId, Heard)> {
        let room = self.media.get_mut(&id)?.room.take()?;
        Some((room, self.rooms.leave(room, id)))
    }

    /// Whether `id`'s microphone may be heard on the floor now (published, theirs a floor
    /// voice, not held by a host): updates their room; returns what changed there.
    pub(crate) fn floor_voice(&mut self, id: ParticipantId) -> Option<(RoomId, Heard)> {
        let m = self.media.get(&id)?;
        let room = m.room?;
        let heard_now = m.floor && !m.muted_by_host && m.track(TrackSource::Microphone).is_some();
        let r = self.rooms.get_mut(room)?;
        if heard_now {
            r.speakers.add_candidate(id);
            Some((room, Heard::default()))
        } else {
            Some((room, r.speakers.remove(id)))
        }
    }

    /// One microphone packet: its level for the room's speakers. Returns the room when who is
    /// heard there changed.
    pub(crate) fn hear(
        &mut self,
        c: &Classified,
        pkt: &RtpPacket,
        now: Instant,
    ) -> Option<(RoomId, Heard)> {
        if c.track.source != TrackSource::Microphone {
            return None;
        }
        let room = self.media.get(&c.track.publisher)?.room?;
        let level = pkt.header.ext_vals.audio_level;
        let heard = self
            .rooms
            .get_mut(room)?
            .speakers
            .hear(c.track.publisher, level, now);
        heard.any().then_some((room, heard))
    }

    /// The room `id` is in.
    pub(crate) fn room_of(&self, id: ParticipantId) -> Option<RoomId> {
        self.media.get(&id)?.room
    }

    /// The room.
    pub(crate) fn room(&self, id: RoomId) -> Option<&Room> {
        self.rooms.get(id)
    }

    /// Points `id`'s speaker slots at the room's held speakers other than `id`: those already
    /// carried stay where they are, the others go to slots that carry no one held. Returns
    /// what the page is to be told, if anything changed (and it knows its slots).
    pub(crate) fn point_speaker_slots(&mut self, id: ParticipantId) -> Option<ServerMessage> {
        let m = self.media.get(&id)?;
        let room = self.rooms.get(m.room?)?;
        if m.speaker_slots.is_empty() {
            return None;
        }
        let carried = |s: usize| m.slots.get(s).and_then(Slot::track).map(|t| t.publisher);
        let moves = repoint(
            &m.speaker_slots,
            carried,
            room.speakers.held().filter(|p| *p != id),
        );
        if moves.is_empty() {
            return None;
        }
        for (slot, publisher) in moves {
            let track = publisher.map(|publisher| TrackRef {
                publisher,
                source: TrackSource::Microphone,
            });
            self.hand_over(
                SlotRef {
                    participant: id,
                    slot,
                },
                track,
            );
        }
        self.speaker_slots_message(id)
    }

    /// What `id`'s speaker slots carry now, for their page; `None` before they were offered.
    pub(crate) fn speaker_slots_message(&self, id: ParticipantId) -> Option<ServerMessage> {
        let m = self.media.get(&id)?;
        let slots = m.switched_slots(&m.speaker_slots);
        (!slots.is_empty()).then_some(ServerMessage::SpeakerSlots { slots })
    }
}
