//! Per-subscriber bandwidth: the link's estimate and the page's tile sizes in, a simulcast
//! layer (or none) per video slot out. The choice itself is [`crate::router::layers::Allocator`]; this
//! gathers its inputs, applies its result to the slots and tells str0m's BWE what to probe for.
//!
//! A TWCC estimate follows what is actually sent: while a subscriber hides its video or watches
//! thumbnails, str0m's estimate sinks towards that small rate, and with no video at all it
//! cannot even pad to find more. Believed, it would keep the video the page later asks for
//! from ever starting. So a fall is believed only as congestion (the estimate falls, below
//! what is being sent, once video has been sent for [`SETTLE`]); otherwise the earlier
//! estimate stands. The settling time matters when video starts again after a pause: the first
//! keyframe's burst can read as overuse, and str0m then cuts its estimate to a fraction of the
//! rate it saw acknowledged, which is still the audio-only rate of the pause. Since
//! str0m paces what it sends at its own estimate, the allocation may exceed that by at most
//! 300 kbit/s: a thumbnail comes back at once, a little queued, while str0m's estimate climbs
//! from what it sees acknowledged (and padding towards the next step shows the link carries
//! it); bigger layers follow as it does.

use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::media::MediaKind;
use summit_proto::{ParticipantId, ServerMessage, TileDisplay, TrackSource};

use crate::endpoint::peer::{PeerKey, Side};
use crate::endpoint::Endpoint;
use crate::router::layers::{Display, Tile, UP_HEADROOM_PERCENT};
use crate::router::track::TrackRef;
use crate::router::{Bandwidth, Router};
use crate::SfuError;

/// How far above str0m's own estimate the believed one may carry the allocation (bits per
/// second): str0m paces what it sends at 1.1 times its estimate, so sending more queues there
/// until its estimate catches up. Enough to bring back a thumbnail at once.
const OVER_RAW: u64 = 300_000;
/// How long video must have been sent before a falling estimate is believed as congestion:
/// long enough for str0m's acknowledged rate (its window is about a second) to include it.
const SETTLE: Duration = Duration::from_millis(1500);
/// Most tiles one `display` message may list.
const MAX_TILES: usize = 256;

impl Router {
    /// `id`'s subscribing connection estimated `bps`.
    pub(crate) fn estimated(&mut self, id: ParticipantId, now: Instant, bps: u64) {
        if let Some(p) = self.media.get_mut(&id) {
            let congested = p.bandwidth.estimated(now, bps);
            tracing::trace!(participant = %id, bps, congested, "estimate");
        }
    }

    /// The page reports how big it shows some tiles.
    pub(crate) fn display(
        &mut self,
        id: ParticipantId,
        tiles: &[TileDisplay],
    ) -> Result<(), SfuError> {
        if tiles.len() > MAX_TILES {
            return Err(SfuError::Invalid(format!("at most {MAX_TILES} tiles")));
        }
        let p = self
            .media
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant)?;
        for t in tiles {
            let r = TrackRef {
                publisher: t.participant,
                source: t.source,
            };
            let display = Display::from_size(t.width, t.height);
            // Kept for a video slot pointed at this tile later; bounded by what one message
            // may list, and a meeting has fewer videos than that.
            if p.tile_sizes.len() < MAX_TILES || p.tile_sizes.contains_key(&r) {
                p.tile_sizes.insert(r, display);
            }
            // A tile of a track this page does not receive (any more) is only kept: reports
            // race with renegotiation.
            if let Some(slot) = p
                .slots
                .iter_mut()
                .find(|s| !s.channel && s.track() == Some(r))
            {
                slot.display = display;
            }
        }
        Ok(())
    }

    /// Everyone with media, in order.
    pub(crate) fn participants(&self) -> Vec<ParticipantId> {
        self.media.keys().copied().collect()
    }

    /// Chooses `id`'s layers from its estimate and tile sizes, applies them, asks for
    /// keyframes of layers it switches to and, with bandwidth estimation on (`bwe`), tells
    /// str0m's what to probe for. Returns what the page is to be told: tiles paused for the
    /// link's sake, or resumed.
    pub(crate) fn reallocate(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
        now: Instant,
        bwe: bool,
    ) -> Vec<ServerMessage> {
        let Some(p) = self.media.get(&id) else {
            return Vec::new();
        };
        // Gather: each ready video slot's track layers; the audio this subscriber receives.
        let mut slots = Vec::new();
        let mut tiles = Vec::new();
        let mut audio = 0u64;
        for (i, s) in p.slots.iter().enumerate() {
            let Some(t) = s.track() else { continue };
            let Some(track) = self
                .media
                .get(&t.publisher)
                .and_then(|pp| pp.track(t.source))
            else {
                continue;
            };
            if s.kind == MediaKind::Audio {
                audio += track.rate(now);
                continue;
            }
            if !s.ready() {
                continue;
            }
            slots.push(i);
            tiles.push(Tile {
                layers: track.layers.iter().map(|l| l.option(now)).collect(),
                display: s.display,
                current: s.selector.target(),
                important: t.source == TrackSource::Screen,
                starved: s.starved,
            });
        }
        let believed = match (p.bandwidth.estimate, p.bandwidth.raw) {
            (Some(e), Some(raw)) => Some(e.min(raw.saturating_add(OVER_RAW))),
            (e, _) => e,
        };
        let budget = believed.map(|e| e.saturating_sub(audio));
        let Some(p) = self.media.get_mut(&id) else {
            return Vec::new();
        };
        // (`clear` closes a round that is due, so `heard` comes after it.)
        let clear = p.bandwidth.signs.clear(now);
        p.bandwidth.allocator.link_unheard = !p.bandwidth.signs.heard();
        p.bandwidth.allocator.pace_limit = p
            .bandwidth
            .raw
            .map(|raw| raw.saturating_add(OVER_RAW).saturating_sub(audio));
        if clear != p.bandwidth.allocator.link_clear {
            tracing::debug!(participant = %id, clear, signs = ?p.bandwidth.signs, "link");
            p.bandwidth.allocator.link_clear = clear;
        }
        let alloc = p.bandwidth.allocator.allocate(now, budget, &tiles);
        tracing::trace!(participant = %id, ?tiles, ?alloc, ?budget, "allocation");
        let mut keyframes = Vec::new();
        let mut told = Vec::new();
        for (&i, &target) in slots.iter().zip(&alloc.layers) {
            let Some(slot) = p.slots.get_mut(i) else {
                continue;
            };
            // Off although shown: the link is the reason, and the page should say so.
            let starved = target.is_none() && slot.display != Display::Hidden;
            if starved != slot.starved {
                slot.starved = starved;
                if let Some(t) = slot.track() {
                    told.push((t, starved));
                }
            }
            if slot.selector.target() == target {
                continue;
            }
            tracing::debug!(participant = %id, slot = i, from = ?slot.selector.target(), to = ?target, ?budget, "layer");
            // Stopped, the next start waits for a keyframe; a new layer starts at its own.
            slot.selector.set_target(target);
            if let (Some(l), Some(t)) = (target, slot.track()) {
                if slot.selector.switching() {
                    keyframes.push((t, l));
                }
            }
        }
        let sending = alloc.used + audio;
        p.bandwidth.sending = sending;
        p.bandwidth.video_since = match alloc.used {
            0 => None,
            _ => Some(p.bandwidth.video_since.unwrap_or(now)),
        };
        // Before the page's first reports a picture is kept through a shortfall (layers.rs),
        // but str0m paces at its estimate, so the picture would wait in its pacer's queue and
        // arrive a second late, and later still as the queue grows: until the reports tell a
        // busy server from a thin link, str0m is told the rate that is sent, once.
        if bwe
            && p.bandwidth.allocator.link_unheard
            && !p.bandwidth.vouched
            && p.bandwidth
                .raw
                .is_some_and(|r| sending > r.saturating_add(r / 10))
        {
            let rate = sending.saturating_add(sending / 5);
            tracing::debug!(participant = %id, raw = ?p.bandwidth.raw, sending, rate, "vouch");
            if let Some(rtc) = endpoint.rtc_mut(id, Side::Subscriber) {
                rtc.bwe().reset(Bitrate::bps(rate));
            }
            p.bandwidth.raw = Some(rate);
            p.bandwidth.vouched = true;
            endpoint.mark_dirty(PeerKey {
                participant: id,
                side: Side::Subscriber,
            });
        }
        // Probe towards what the tiles want, padding up to the next step so the estimate can
        // show it fits (str0m caps padding at its estimate and stops it on overuse).
        if bwe && !tiles.is_empty() {
            let minimum = sending + alloc.next_step * UP_HEADROOM_PERCENT / 100;
            let desired = (alloc.wanted + audio).max(minimum);
            let (m0, d0) = p.bandwidth.asked;
            if differs(minimum, m0) || differs(desired, d0) {
                p.bandwidth.asked = (minimum, desired);
                if let Some(rtc) = endpoint.rtc_mut(id, Side::Subscriber) {
                    rtc.bwe()
                        .set_bitrate(Bitrate::bps(minimum), Bitrate::bps(desired));
                }
                endpoint.mark_dirty(PeerKey {
                    participant: id,
                    side: Side::Subscriber,
                });
            }
        }
        for (t, l) in keyframes {
            self.request_keyframe(endpoint, t, l, now);
        }
        told.into_iter()
            .map(|(t, paused)| ServerMessage::VideoPaused {
                participant: t.publisher,
                source: t.source,
                paused,
            })
            .collect()
    }
}

impl Bandwidth {
    /// Takes str0m's estimate `bps`; returns whether its fall is believed as congestion.
    fn estimated(&mut self, now: Instant, bps: u64) -> bool {
        // Congestion: the estimate falls, below what is being sent, measured on video.
        let falling = self.raw.is_some_and(|r| bps < r);
        let measured = self
            .video_since
            .is_some_and(|t| now.saturating_duration_since(t) >= SETTLE);
        let congested = falling && bps < self.sending && measured;
        self.raw = Some(bps);
        match self.estimate {
            Some(e) if bps < e && !congested => {}
            _ => self.estimate = Some(bps),
        }
        congested
    }
}

/// Whether two rates differ by more than a twentieth (smaller changes are noise).
fn differs(a: u64, b: u64) -> bool {
    a.abs_diff(b) * 20 > a.max(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A subscriber receiving `video` bits per second (and 50 kbit/s of audio) since `since`.
    fn sending(since: Instant, video: u64, estimate: u64) -> Bandwidth {
        Bandwidth {
            estimate: Some(estimate),
            raw: Some(estimate),
            sending: video + 50_000,
            video_since: (video > 0).then_some(since),
            ..Bandwidth::default()
        }
    }

    #[test]
    fn a_fall_below_what_video_needs_is_congestion() {
        let t0 = Instant::now();
        let mut b = sending(t0, 900_000, 2_000_000);
        assert!(b.estimated(t0 + SETTLE, 600_000));
        assert_eq!(b.estimate, Some(600_000));
    }

    #[test]
    fn a_fall_without_video_or_above_it_is_not() {
        let t0 = Instant::now();
        // Nothing but audio: the estimate only followed the small rate down.
        let mut b = sending(t0, 0, 2_000_000);
        assert!(!b.estimated(t0 + SETTLE * 4, 100_000));
        assert_eq!((b.estimate, b.raw), (Some(2_000_000), Some(100_000)));
        // Still above what is sent.
        let mut b = sending(t0, 900_000, 2_000_000);
        assert!(!b.estimated(t0 + SETTLE * 4, 1_500_000));
        assert_eq!(b.estimate, Some(2_000_000));
        // A rise is always taken.
        assert!(!b.estimated(t0 + SETTLE * 4, 2_500_000));
        assert_eq!(b.estimate, Some(2_500_000));
    }

    #[test]
    fn video_just_resumed_is_not_yet_measured() {
        let t0 = Instant::now();
        // Video came back a moment ago; str0m's estimate still reflects the audio-only pause.
        let mut b = sending(t0, 900_000, 2_000_000);
        assert!(!b.estimated(t0 + Duration::from_millis(20), 120_000));
        assert_eq!((b.estimate, b.raw), (Some(2_000_000), Some(120_000)));
        // Once it has been measured on the video, a fall counts.
        assert!(b.estimated(t0 + SETTLE, 100_000));
        assert_eq!(b.estimate, Some(100_000));
    }
}
