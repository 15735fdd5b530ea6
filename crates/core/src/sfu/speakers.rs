//! The facade's side of the loudest speakers: keeps each meeting's room (the router's) told
//! who may be heard on the floor, points listeners' speaker slots when who is heard changes,
//! and tells pages (`speaker_slots`, `active_speakers`).

use std::time::Instant;

use summit_proto::{ParticipantId, ServerMessage};

use crate::router::speaker_slots::RoomId;
use crate::router::speakers::Heard;
use crate::Sfu;

impl Sfu {
    /// `id` entered their meeting: into its room, with speaker slots if they may receive
    /// media, and their microphone a candidate unless they interpret.
    pub(crate) fn enter_room(&mut self, id: ParticipantId) {
        let Some(p) = self.meetings.participant(id) else {
            return;
        };
        let candidate = p.interprets.is_none();
        let listens = p.capabilities.has(summit_proto::Capability::Subscribe);
        let meeting = p.meeting.clone();
        let slots = self.config.audio_slots;
        self.router
            .join_room(id, &meeting, candidate, listens, slots);
        // Their slots carry who is heard now from their first offer on.
        let _ = self.router.point_speaker_slots(id);
        self.send_speakers(id);
    }

    /// `id` leaves their room, before the router forgets them; returns what to tell the room
    /// once it has (see [`Sfu::speakers_changed`]).
    pub(crate) fn leave_room(&mut self, id: ParticipantId) -> Option<(RoomId, Heard)> {
        self.router.leave_room(id)
    }

    /// A host holds `id`'s microphone back (`true`), or they unmuted (`false`): a held
    /// microphone is no candidate, and its place is free at once.
    pub(crate) fn hold_microphone(&mut self, id: ParticipantId, held: bool) {
        self.router.hold_microphone(id, held);
        self.floor_voice_changed(id);
    }

    /// `id` published or stopped their microphone, or it was held or released.
    pub(crate) fn floor_voice_changed(&mut self, id: ParticipantId) {
        if let Some((room, heard)) = self.router.floor_voice(id) {
            self.speakers_changed(room, heard);
        }
    }

    /// One microphone packet's level was heard: the room's places may have changed.
    pub(crate) fn hear(
        &mut self,
        c: &crate::router::forward::Classified,
        pkt: &str0m::rtp::RtpPacket,
        now: Instant,
    ) {
        if let Some((room, heard)) = self.router.hear(c, pkt, now) {
            self.speakers_changed(room, heard);
        }
    }

    /// Who is heard in `room` changed: each listener's slots follow (places), and every member
    /// is told who is heard and who speaks most. Bounded: a place changes hands at most once a
    /// [`crate::router::speakers::HOLD`] (a new holder is held that long), the dominant speaker
    /// once a [`crate::router::speakers::DOMINANT_AFTER`].
    pub(crate) fn speakers_changed(&mut self, room: RoomId, heard: Heard) {
        if !heard.any() {
            return;
        }
        let Some(r) = self.router.room(room) else {
            return;
        };
        let members = r.members().to_vec();
        let active = r.active_speakers();
        for id in members {
            if heard.places {
                if let Some(msg) = self.router.point_speaker_slots(id) {
                    self.signal_now(id, msg);
                }
            }
            self.signal_now(id, active.clone());
        }
    }

    /// What `id`'s page is to know of the speakers (and its video slots) now: on entry, and
    /// back from a reconnection
    /// (these messages are not held while a page is away: only the last state counts).
    pub(crate) fn send_speakers(&mut self, id: ParticipantId) {
        let active = self
            .router
            .room_of(id)
            .and_then(|r| self.router.room(r))
            .map(|r| r.active_speakers());
        if let Some(msg) = self.router.speaker_slots_message(id) {
            self.signal(id, msg);
        }
        if let Some(msg) = self.router.video_slots_message(id) {
            self.signal(id, msg);
        }
        if let Some(msg) = active {
            self.signal(id, msg);
        }
    }

    /// Sends a message of passing state: dropped for a page that is away (it gets the state
    /// afresh when it is back).
    pub(crate) fn signal_now(&mut self, to: ParticipantId, msg: ServerMessage) {
        let away = self
            .meetings
            .participant(to)
            .is_none_or(|p| p.reconnecting().is_some());
        if !away {
            self.signal(to, msg);
        }
    }
}
