//! Attacks a compromised server would make on an encrypted meeting, so that tests can show what
//! pages withstand: frames shown under another participant's name, and old frames sent again.
//! Compiled only with the `danger-test-attacks` feature, which refuses release builds.

#[cfg(not(debug_assertions))]
compile_error!("danger-test-attacks is for test builds only, never a release build");

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use str0m::media::MediaKind;
use summit_proto::{ParticipantId, TrackSource};

use crate::track::{SlotRef, TrackRef};
use crate::Sfu;

/// An attack the server makes when configured to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// Every subscriber that receives two cameras gets the first publisher's camera in the slot
    /// it was told carries the second's (no new offer: the page still believes the label).
    MisrouteVideo,
    /// Every tenth audio packet is replaced by one the same publisher sent a second earlier.
    ReplayAudio,
}

impl std::str::FromStr for Attack {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "misroute-video" => Ok(Attack::MisrouteVideo),
            "replay-audio" => Ok(Attack::ReplayAudio),
            _ => Err(format!(
                "unknown attack '{s}' (misroute-video, replay-audio)"
            )),
        }
    }
}

/// Packets kept per publisher for replay: a second of 20 ms audio, and a little more.
const KEEP: usize = 64;
/// How far back a replayed packet is.
const BACK: usize = 50;
/// One packet in this many is a replay.
const EVERY: u64 = 10;

/// What the attacks remember.
#[derive(Debug, Default)]
pub(crate) struct Attacks {
    audio: HashMap<ParticipantId, (u64, VecDeque<Arc<[u8]>>)>,
    misrouted: HashSet<ParticipantId>,
}

impl Sfu {
    fn attacking(&self, a: Attack) -> bool {
        self.config.attacks.contains(&a)
    }

    /// The payload forwarded for a packet of `from`'s `source`: its own, or under
    /// [`Attack::ReplayAudio`] now and then an old one.
    pub(crate) fn attack_payload(
        &mut self,
        from: ParticipantId,
        source: TrackSource,
        payload: Arc<[u8]>,
    ) -> Arc<[u8]> {
        if source != TrackSource::Microphone || !self.attacking(Attack::ReplayAudio) {
            return payload;
        }
        let (n, kept) = self.attacks.audio.entry(from).or_default();
        *n += 1;
        kept.push_back(payload.clone());
        if kept.len() > KEEP {
            kept.pop_front();
        }
        if *n % EVERY == 0 && kept.len() > BACK {
            if let Some(old) = kept.get(kept.len() - 1 - BACK) {
                tracing::warn!(%from, "attack: replaying an old audio packet");
                return old.clone();
            }
        }
        payload
    }

    /// Under [`Attack::MisrouteVideo`], re-points one camera slot of each subscriber that has
    /// two, once.
    pub(crate) fn attack_misroute(&mut self, now: Instant) {
        if !self.attacking(Attack::MisrouteVideo) {
            return;
        }
        let mut moves = Vec::new();
        for p in self.participants.values() {
            if self.attacks.misrouted.contains(&p.id) {
                continue;
            }
            let mut cameras: Vec<(ParticipantId, usize)> = p
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.ready && s.kind == MediaKind::Video)
                .filter_map(|(i, s)| {
                    let t = s.track?;
                    (t.source == TrackSource::Camera).then_some((t.publisher, i))
                })
                .collect();
            cameras.sort();
            if let (Some(first), Some(last)) = (cameras.first(), cameras.last()) {
                if first.0 != last.0 {
                    moves.push((p.id, last.1, last.0, first.0));
                }
            }
        }
        for (subscriber, slot, victim, source) in moves {
            self.attacks.misrouted.insert(subscriber);
            let at = SlotRef {
                participant: subscriber,
                slot,
            };
            if let Some(t) = self
                .participants
                .get_mut(&victim)
                .and_then(|p| p.track_mut(TrackSource::Camera))
            {
                t.subscribers.retain(|s| *s != at);
            }
            let Some(t) = self
                .participants
                .get_mut(&source)
                .and_then(|p| p.track_mut(TrackSource::Camera))
            else {
                continue;
            };
            t.subscribers.push(at);
            let layer = t.best_live_layer(now);
            if let Some(s) = self
                .participants
                .get_mut(&subscriber)
                .and_then(|p| p.slots.get_mut(slot))
            {
                // The slot keeps its label (`track`): only the packets change.
                s.forwarder.switch_source(true);
                s.vp8.switch_source();
                s.layer = None;
            }
            tracing::warn!(%subscriber, %victim, %source, "attack: misrouting a camera");
            let t = TrackRef {
                publisher: source,
                source: TrackSource::Camera,
            };
            self.request_keyframe(t, layer, now);
        }
    }
}
