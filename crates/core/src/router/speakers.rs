//! Who is heard in a meeting: the loudest speakers, who hold the meeting's audio places, and the
//! dominant speaker, from the RFC 6464 levels publishers put on every audio packet (readable
//! under SFrame, which leaves the RTP header in the clear). Plain state: levels and a clock in,
//! "the places changed" out. Fed once per audio packet: no allocation, a scan of a few places.
//!
//! The rules (issue 18): a speaker loud for two packets running takes a free place, or the
//! place of whoever has been quiet longest, if that was at least [`HOLD`] ago; a place is held
//! for [`HOLD`] after its speaker was last loud, so a pause between sentences does not lose it.
//! While places are free, anyone who sends takes one: a meeting of a few hears everyone.

use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use summit_proto::ParticipantId;

/// From this level (dBov, RFC 6464: 0 is the loudest, -127 silence) a packet counts as loud:
/// above a quiet room's noise, below any speech.
pub(crate) const LOUD_DBOV: i8 = -50;
/// Loud packets running it takes to take a place from someone quiet (20 ms each).
pub(crate) const LOUD_PACKETS: u8 = 2;
/// How long a place is held after its speaker was last loud.
pub(crate) const HOLD: Duration = Duration::from_secs(1);
/// How much louder (dB, smoothed) a challenger must be than the dominant speaker, and for how
/// long running, to become the dominant speaker: a cough or a laugh does not move the view.
pub(crate) const DOMINANT_MARGIN_DB: f32 = 6.0;
pub(crate) const DOMINANT_AFTER: Duration = Duration::from_millis(800);
/// A dominant speaker whose packets stopped this long ago (left, unpublished, held by a host)
/// counts as silent.
const STALE: Duration = Duration::from_millis(500);
/// Weight of one packet in the smoothed level (a time constant of about 0.3 s at 20 ms).
const SMOOTHING: f32 = 0.07;

/// One held place.
#[derive(Debug, Clone, Copy)]
struct Place {
    speaker: ParticipantId,
    /// When they were last loud; `None` if not since they took the place (it was free).
    loud_at: Option<Instant>,
}

/// What one candidate's recent packets say.
#[derive(Debug, Clone, Copy, Default)]
struct Voice {
    /// Loud packets running.
    streak: u8,
    /// Smoothed level, 0 (silence) to 127 (the loudest).
    level: f32,
    /// When their last packet came.
    heard_at: Option<Instant>,
}

/// What a packet changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Heard {
    /// Who holds the places changed: listeners' slots are to be pointed again.
    pub(crate) places: bool,
    /// The dominant speaker changed.
    pub(crate) dominant: bool,
}

impl Heard {
    /// Whether anything changed.
    pub(crate) fn any(self) -> bool {
        self.places || self.dominant
    }
}

/// The places and the dominant speaker of one meeting.
#[derive(Debug)]
pub(crate) struct Speakers {
    capacity: usize,
    /// Held places, at most `capacity`, in the order they were taken.
    places: Vec<Place>,
    /// Everyone whose microphone may be heard on the floor, and what they sound like.
    voices: FxHashMap<ParticipantId, Voice>,
    dominant: Option<ParticipantId>,
    /// Who has been louder than the dominant speaker, since when.
    challenger: Option<(ParticipantId, Instant)>,
}

impl Speakers {
    /// A meeting whose listeners hear `capacity` speakers at once.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            places: Vec::with_capacity(capacity),
            voices: FxHashMap::default(),
            dominant: None,
            challenger: None,
        }
    }

    /// `id`'s microphone may be heard on the floor (not an interpreter's, which reaches
    /// listeners through channels).
    pub(crate) fn add_candidate(&mut self, id: ParticipantId) {
        self.voices.entry(id).or_default();
    }

    /// `id` is no candidate any more (left, stopped publishing, muted by a host): their place
    /// is free at once.
    pub(crate) fn remove(&mut self, id: ParticipantId) -> Heard {
        self.voices.remove(&id);
        let before = self.places.len();
        self.places.retain(|p| p.speaker != id);
        let mut heard = Heard {
            places: self.places.len() != before,
            dominant: false,
        };
        if self.challenger.is_some_and(|(c, _)| c == id) {
            self.challenger = None;
        }
        if self.dominant == Some(id) {
            // The loudest of those left, if any spoke.
            self.dominant = self
                .places
                .iter()
                .filter(|p| p.loud_at.is_some())
                .max_by_key(|p| p.loud_at)
                .map(|p| p.speaker);
            heard.dominant = true;
        }
        heard
    }

    /// One audio packet of `id`'s, with its level (`None`: the page sent none, counts as quiet).
    pub(crate) fn hear(&mut self, id: ParticipantId, level: Option<i8>, now: Instant) -> Heard {
        let Some(voice) = self.voices.get_mut(&id) else {
            return Heard::default();
        };
        let loud = level.is_some_and(|l| l >= LOUD_DBOV);
        voice.streak = if loud {
            voice.streak.saturating_add(1)
        } else {
            0
        };
        let db = f32::from(level.unwrap_or(-127)) + 127.0;
        voice.level += (db - voice.level) * SMOOTHING;
        voice.heard_at = Some(now);
        let (streak, level) = (voice.streak, voice.level);
        let mut heard = Heard::default();
        if let Some(place) = self.places.iter_mut().find(|p| p.speaker == id) {
            if loud {
                place.loud_at = Some(now);
            }
        } else if self.places.len() < self.capacity {
            self.places.push(Place {
                speaker: id,
                loud_at: loud.then_some(now),
            });
            heard.places = true;
        } else if streak >= LOUD_PACKETS {
            // The place of whoever has been quiet longest, if their hold is over.
            let quietest = self
                .places
                .iter_mut()
                .filter(|p| {
                    p.loud_at
                        .is_none_or(|t| now.saturating_duration_since(t) >= HOLD)
                })
                .min_by_key(|p| p.loud_at);
            if let Some(p) = quietest {
                *p = Place {
                    speaker: id,
                    loud_at: Some(now),
                };
                heard.places = true;
            }
        }
        heard.dominant = self.challenge(id, loud, level, now);
        heard
    }

    /// Whether `id`, with this smoothed `level`, becomes the dominant speaker.
    fn challenge(&mut self, id: ParticipantId, loud: bool, level: f32, now: Instant) -> bool {
        let Some(dominant) = self.dominant else {
            if loud {
                self.dominant = Some(id);
                return true;
            }
            return false;
        };
        if dominant == id {
            return false;
        }
        let theirs = self
            .voices
            .get(&dominant)
            .filter(|v| {
                v.heard_at
                    .is_some_and(|t| now.saturating_duration_since(t) < STALE)
            })
            .map_or(0.0, |v| v.level);
        if level < theirs + DOMINANT_MARGIN_DB {
            if self.challenger.is_some_and(|(c, _)| c == id) {
                self.challenger = None;
            }
            return false;
        }
        match self.challenger {
            Some((c, since)) if c == id => {
                if now.saturating_duration_since(since) >= DOMINANT_AFTER {
                    self.dominant = Some(id);
                    self.challenger = None;
                    return true;
                }
                false
            }
            _ => {
                self.challenger = Some((id, now));
                false
            }
        }
    }

    /// Who holds the places, in the order they took them.
    pub(crate) fn held(&self) -> impl Iterator<Item = ParticipantId> + '_ {
        self.places.iter().map(|p| p.speaker)
    }

    /// Whether `id` holds a place.
    #[cfg(test)]
    pub(crate) fn holds(&self, id: ParticipantId) -> bool {
        self.places.iter().any(|p| p.speaker == id)
    }

    /// The dominant speaker, once anyone spoke.
    pub(crate) fn dominant(&self) -> Option<ParticipantId> {
        self.dominant
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOUD: Option<i8> = Some(-20);
    const QUIET: Option<i8> = Some(-127);
    const PACKET: Duration = Duration::from_millis(20);

    fn p(n: u64) -> ParticipantId {
        ParticipantId(n)
    }

    /// Three places, four candidates who each sent a quiet packet: 1, 2 and 3 hold the places.
    fn room(now: Instant) -> Speakers {
        let mut s = Speakers::new(3);
        for n in 1..=4 {
            s.add_candidate(p(n));
            s.hear(p(n), QUIET, now);
        }
        assert_eq!(s.held().collect::<Vec<_>>(), [p(1), p(2), p(3)]);
        s
    }

    #[test]
    fn a_new_speaker_takes_the_quietest_place_from_their_second_loud_packet() {
        let t0 = Instant::now();
        let mut s = room(t0);
        // 1 spoke a second ago, 2 and 3 never did.
        s.hear(p(1), LOUD, t0);
        let t = t0 + HOLD;
        assert!(!s.hear(p(4), LOUD, t).places, "one packet is not enough");
        assert!(
            s.hear(p(4), LOUD, t + PACKET).places,
            "the second takes a place"
        );
        assert!(s.holds(p(4)) && s.holds(p(1)));
        assert_eq!(s.held().filter(|h| [p(2), p(3)].contains(h)).count(), 1);
    }

    #[test]
    fn a_pause_shorter_than_the_hold_keeps_the_place() {
        let t0 = Instant::now();
        let mut s = room(t0);
        for n in 1..=3 {
            s.hear(p(n), LOUD, t0);
        }
        // 4 shouts for 0.9 s while the others pause: every place is held.
        let mut t = t0;
        for _ in 0..45 {
            t += PACKET;
            assert!(
                !s.hear(p(4), LOUD, t).places,
                "took a held place at {:?}",
                t - t0
            );
        }
        assert!(!s.holds(p(4)));
        // Past the hold of 1's last loud packet (all three at t0: the first of them goes).
        while t < t0 + HOLD {
            t += PACKET;
            s.hear(p(4), LOUD, t);
        }
        assert!(s.holds(p(4)));
    }

    #[test]
    fn quiet_packets_and_a_single_loud_one_take_nothing() {
        let t0 = Instant::now();
        let mut s = room(t0);
        let mut t = t0 + HOLD * 2;
        for i in 0..100 {
            t += PACKET;
            let level = if i % 2 == 0 { LOUD } else { QUIET };
            assert!(!s.hear(p(4), level, t).places);
        }
    }

    #[test]
    fn a_place_is_free_at_once_when_its_speaker_goes() {
        let t0 = Instant::now();
        let mut s = room(t0);
        assert!(s.remove(p(2)).places);
        assert!(
            s.hear(p(4), QUIET, t0).places,
            "a free place is taken by anyone who sends"
        );
        assert!(!s.hear(p(9), LOUD, t0).any(), "not a candidate");
    }

    #[test]
    fn the_dominant_speaker_changes_only_for_someone_clearly_louder_for_a_while() {
        let t0 = Instant::now();
        let mut s = room(t0);
        let mut t = t0;
        assert!(s.hear(p(1), LOUD, t).dominant);
        // 1 talks on; 2 talks as loud: no change.
        for _ in 0..200 {
            t += PACKET;
            s.hear(p(1), LOUD, t);
            assert!(!s.hear(p(2), LOUD, t).dominant);
        }
        // 1 falls silent; 2 goes on: 2 takes over, after a while but not at once.
        let quiet_from = t;
        let mut changed_at = None;
        for _ in 0..200 {
            t += PACKET;
            s.hear(p(1), QUIET, t);
            if s.hear(p(2), LOUD, t).dominant {
                changed_at = Some(t);
                break;
            }
        }
        let after = changed_at.map(|c| c - quiet_from);
        assert!(
            after.is_some_and(|a| a >= DOMINANT_AFTER && a < Duration::from_secs(2)),
            "{after:?}"
        );
        assert_eq!(s.dominant(), Some(p(2)));
        // A cough from 3 (a few loud packets) does not move it.
        for _ in 0..5 {
            t += PACKET;
            s.hear(p(2), LOUD, t);
            assert!(!s.hear(p(3), Some(0), t).dominant);
        }
        assert_eq!(s.dominant(), Some(p(2)));
    }

    #[test]
    fn a_dominant_speaker_who_goes_is_replaced() {
        let t0 = Instant::now();
        let mut s = room(t0);
        s.hear(p(1), LOUD, t0);
        s.hear(p(2), LOUD, t0);
        let h = s.remove(p(1));
        assert!(h.places && h.dominant);
        assert_eq!(s.dominant(), Some(p(2)));
    }
}
