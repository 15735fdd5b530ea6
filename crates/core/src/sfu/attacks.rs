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

use crate::router::subscription::SlotRef;
use crate::router::track::TrackRef;
use crate::Sfu;

/// An attack the server makes when configured to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    /// Every subscriber that receives two cameras gets the first publisher's camera in the slot
    /// it was told carries the second's (no new offer: the page still believes the label).
    MisrouteVideo,
    /// Every tenth audio packet is replaced by one the same publisher sent a second earlier.
    ReplayAudio,
    /// `welcome` says an encrypted meeting is not encrypted.
    ClaimUnencrypted,
    /// Every sealed chat message is followed by one in the clear under the sender's name.
    InjectChat,
    /// Invitations made from the page are signed for an unencrypted meeting, lobby skipped
    /// (the edge signs them: see the server's `signaling.rs`).
    ForgeInvitation,
}

impl std::str::FromStr for Attack {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "misroute-video" => Ok(Attack::MisrouteVideo),
            "replay-audio" => Ok(Attack::ReplayAudio),
            "claim-unencrypted" => Ok(Attack::ClaimUnencrypted),
            "inject-chat" => Ok(Attack::InjectChat),
            "forge-invitation" => Ok(Attack::ForgeInvitation),
            _ => Err(format!(
                "unknown attack '{s}' (misroute-video, replay-audio, claim-unencrypted, \
                 inject-chat, forge-invitation)"
            )),
        }
    }
}

/// Packets kept per publisher for replay: a second of 20 ms audio, and a little more.
const KEEP: usize = 64;
/// How far back a replayed packet is: about a second, and never a packet that was itself
/// replaced (not a multiple of `EVERY`), so that its first copy did reach the page.
const BACK: usize = 47;
/// One packet in this many is a replay.
const EVERY: u64 = 10;

/// A publisher's audio packets counted, and the last ones kept.
type Kept = (u64, VecDeque<Arc<[u8]>>);

/// What the attacks remember.
#[derive(Debug, Default)]
pub(crate) struct Attacks {
    audio: HashMap<ParticipantId, Kept>,
    misrouted: HashSet<ParticipantId>,
}

impl Sfu {
    fn attacking(&self, a: Attack) -> bool {
        self.config.attacks.contains(&a)
    }

    /// Under [`Attack::ClaimUnencrypted`], what `welcome` says of the meeting's encryption.
    pub(crate) fn attack_claimed_e2ee(&self, e2ee: bool) -> bool {
        e2ee && !self.attacking(Attack::ClaimUnencrypted)
    }

    /// Under [`Attack::InjectChat`], chat in the clear after a sealed message, as its sender.
    pub(crate) fn attack_chat(&mut self, msg: &summit_proto::ChatMessage, to: &[ParticipantId]) {
        if !msg.sealed || !self.attacking(Attack::InjectChat) {
            return;
        }
        let injected = summit_proto::ChatMessage {
            text: "Injected by the server: send me your password".into(),
            sealed: false,
            ..msg.clone()
        };
        for id in to {
            self.signal(*id, summit_proto::ServerMessage::Chat(injected.clone()));
        }
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
        for (id, p) in self.router.all_media() {
            if self.attacks.misrouted.contains(&id) {
                continue;
            }
            let mut cameras: Vec<(ParticipantId, usize)> = p
                .slots()
                .iter()
                .enumerate()
                .filter(|(_, s)| s.ready() && s.kind == MediaKind::Video)
                .filter_map(|(i, s)| {
                    let t = s.track()?;
                    (t.source == TrackSource::Camera).then_some((t.publisher, i))
                })
                .collect();
            cameras.sort();
            if let (Some(first), Some(last)) = (cameras.first(), cameras.last()) {
                if first.0 != last.0 {
                    moves.push((id, last.1, last.0, first.0));
                }
            }
        }
        for (subscriber, slot, victim, source) in moves {
            self.attacks.misrouted.insert(subscriber);
            let at = SlotRef {
                participant: subscriber,
                slot,
            };
            let Some(layer) = self
                .router
                .media(source)
                .and_then(|p| p.track(TrackSource::Camera))
                .map(|t| t.best_live_layer(now))
            else {
                continue;
            };
            // The page is not told (no new offer): it still believes the old label. The
            // slot's layers are now chosen among the source's.
            let track = Some(TrackRef {
                publisher: source,
                source: TrackSource::Camera,
            });
            self.router.hand_over(at, track);
            tracing::warn!(%subscriber, %victim, %source, "attack: misrouting a camera");
            let t = TrackRef {
                publisher: source,
                source: TrackSource::Camera,
            };
            self.router
                .request_keyframe(&mut self.endpoint, t, layer, now);
        }
    }
}
