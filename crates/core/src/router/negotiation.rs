//! SDP negotiation: the page's publishing offers, and the server's offers on each subscribing
//! connection as tracks come and go (slots are reused, never renumbered).

use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, Mid};
use summit_proto::{
    LayerInfo, ParticipantId, PublishedTrackInfo, ServerMessage, SubscribedTrack, TrackSource,
    MAX_LAYERS,
};

use crate::endpoint::peer::{PeerKey, Side};
use crate::endpoint::Endpoint;
use crate::router::track::PublishedTrack;
use crate::router::Router;
use crate::SfuError;

/// Most tracks one participant may publish at once (microphone, camera, screen).
pub(crate) const MAX_TRACKS: usize = 3;
/// Longest rid accepted (RFC 8851 allows more; browsers use one or two characters).
const MAX_RID: usize = 16;
/// Largest declared picture side.
const MAX_SIDE: u32 = 16_384;

/// The `i`th of the tracks a page declares: its source and m-line not declared before it,
/// its simulcast layers plausible.
pub(crate) fn check_track(tracks: &[PublishedTrackInfo], i: usize) -> Result<(), SfuError> {
    let Some(t) = tracks.get(i) else {
        return Ok(());
    };
    if tracks[..i]
        .iter()
        .any(|o| o.source == t.source || o.mid == t.mid)
    {
        return Err(SfuError::Invalid("each source and mid at most once".into()));
    }
    check_layers(&t.layers)
}

/// Declared simulcast layers: few, distinct, plausible, lowest first.
fn check_layers(layers: &[LayerInfo]) -> Result<(), SfuError> {
    if layers.len() > MAX_LAYERS {
        return Err(SfuError::Invalid(format!("at most {MAX_LAYERS} layers")));
    }
    for (i, l) in layers.iter().enumerate() {
        let rid_ok = !l.rid.is_empty()
            && l.rid.len() <= MAX_RID
            && l.rid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !rid_ok {
            return Err(SfuError::Invalid(format!("bad rid {:?}", l.rid)));
        }
        if l.width > MAX_SIDE || l.height > MAX_SIDE {
            return Err(SfuError::Invalid("layer larger than 16384 pixels".into()));
        }
        if layers[..i].iter().any(|o| o.rid == l.rid) {
            return Err(SfuError::Invalid("each rid at most once".into()));
        }
        if layers[..i].iter().any(|o| o.height > l.height) {
            return Err(SfuError::Invalid("layers go from lowest to highest".into()));
        }
    }
    Ok(())
}

/// What the router made of a publishing offer.
pub(crate) struct Published {
    /// The answer for the page.
    pub(crate) answer: String,
    /// Sources the page no longer sends.
    pub(crate) removed: Vec<TrackSource>,
    /// Sources the page sends now that it did not before, on their m-lines.
    pub(crate) added: Vec<(TrackSource, Mid)>,
}

/// How a subscribing connection's answer went, when there was one to take.
pub(crate) enum Answered {
    /// The session changed as offered.
    Accepted,
    /// str0m refused the answer: the session stays as it was, and a new offer is due.
    Refused(String),
}

impl Router {
    /// Takes a page's publishing offer on its publishing connection: the answer, and which
    /// of the declared tracks the offer lets it send (and stop sending).
    pub(crate) fn accept_publish(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
        offer: SdpOffer,
        tracks: &[PublishedTrackInfo],
    ) -> Result<Published, SfuError> {
        let rtc = endpoint
            .rtc_mut(id, Side::Publisher)
            .ok_or(SfuError::UnknownParticipant)?;
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| SfuError::Sdp(e.to_string()))?;
        // What the offer actually lets the page send, by source.
        let mut wanted: Vec<(TrackSource, Mid)> = Vec::new();
        for t in tracks {
            let mid = Mid::from(t.mid.as_str());
            let Some(media) = rtc.media(mid) else {
                continue;
            };
            let kind_ok = (media.kind() == MediaKind::Audio) == t.source.is_audio();
            if kind_ok && media.direction().is_receiving() {
                wanted.push((t.source, mid));
            }
        }
        tracing::debug!(participant = %id, ?wanted, "publish");
        let p = self.media.get(&id).ok_or(SfuError::UnknownParticipant)?;
        let removed = p
            .tracks
            .iter()
            .filter(|t| !wanted.contains(&(t.source, t.mid)))
            .map(|t| t.source)
            .collect();
        let added = wanted
            .into_iter()
            .filter(|(s, m)| !p.tracks.iter().any(|t| t.source == *s && t.mid == *m))
            .collect();
        endpoint.mark_dirty(PeerKey {
            participant: id,
            side: Side::Publisher,
        });
        Ok(Published {
            answer: answer.to_sdp_string(),
            removed,
            added,
        })
    }

    /// `id` publishes a new track (nobody receives it yet).
    pub(crate) fn publish(&mut self, id: ParticipantId, track: PublishedTrack) {
        if let Some(p) = self.media.get_mut(&id) {
            p.tracks.push(track);
        }
    }

    /// A new offer for `id`'s subscribing connection if its slots changed and none is
    /// outstanding; the page is to be sent it.
    pub(crate) fn offer(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
    ) -> Option<ServerMessage> {
        let p = self.media.get_mut(&id)?;
        if !p.needs_offer || p.pending_offer.is_some() {
            tracing::debug!(participant = %id, needs = p.needs_offer, pending = p.pending_offer.is_some(), "no offer now");
            return None;
        }
        p.needs_offer = false;
        let ice_restart = std::mem::take(&mut p.ice_restart);
        let rtc = endpoint.rtc_mut(id, Side::Subscriber)?;
        let mut api = rtc.sdp_api();
        if ice_restart {
            // New ICE credentials, the same candidates: the page's new path checks in afresh.
            api.ice_restart(true);
        }
        for (i, slot) in p.slots.iter_mut().enumerate() {
            match (slot.mid, slot.track()) {
                _ if slot.mid.is_none() && slot.switched() => {
                    let dir = Direction::SendOnly;
                    let name = if slot.channel {
                        "channel".to_owned()
                    } else if slot.tile {
                        format!("video{i}")
                    } else {
                        format!("speaker{i}")
                    };
                    let name = Some(name);
                    slot.mid = Some(api.add_media(slot.kind, dir, name.clone(), name, None));
                }
                (None, None) => continue,
                (None, Some(t)) => {
                    let stream = format!("{}", t.publisher);
                    let track = format!("{}-{:?}", t.publisher, t.source).to_lowercase();
                    let dir = Direction::SendOnly;
                    slot.mid = Some(api.add_media(slot.kind, dir, Some(stream), Some(track), None));
                }
                (Some(mid), _) => {
                    if slot.active() != slot.negotiated_active() {
                        let dir = if slot.active() {
                            Direction::SendOnly
                        } else {
                            Direction::Inactive
                        };
                        api.set_direction(mid, dir);
                    }
                }
            }
            slot.offer();
        }
        let Some((offer, pending)) = api.apply() else {
            tracing::debug!(participant = %id, "slots changed but the SDP did not");
            return None;
        };
        p.pending_offer = Some(pending);
        let tracks = p
            .slots
            .iter()
            .filter(|s| !s.channel)
            .filter_map(|s| {
                Some(SubscribedTrack {
                    mid: s.mid?.to_string(),
                    participant: s.track()?.publisher,
                    source: s.track()?.source,
                })
            })
            .collect();
        let channel_mid = p
            .channel_slot
            .and_then(|i| p.slots.get(i))
            .and_then(|s| s.mid)
            .map(|m| m.to_string());
        let speaker_mids = p.mids(&p.speaker_slots);
        let video_mids = p.mids(&p.video_slots);
        let screen_mid = p.mids(p.screen_slot.as_slice()).pop();
        let sdp = offer.to_sdp_string();
        tracing::debug!(participant = %id, ?tracks, "subscribe offer");
        let offer = ServerMessage::SubscribeOffer {
            sdp,
            tracks,
            channel_mid,
            speaker_mids,
            video_mids,
            screen_mid,
        };
        p.last_offer = Some(offer.clone());
        endpoint.mark_dirty(PeerKey {
            participant: id,
            side: Side::Subscriber,
        });
        Some(offer)
    }

    /// Takes the page's answer to the outstanding offer on its subscribing connection. The
    /// video slots it made ready get a keyframe asked for, once the connection is up.
    pub(crate) fn accept_answer(
        &mut self,
        endpoint: &mut Endpoint,
        id: ParticipantId,
        answer: SdpAnswer,
        now: Instant,
    ) -> Result<Answered, SfuError> {
        let p = self
            .media
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant)?;
        let pending = p
            .pending_offer
            .take()
            .ok_or(SfuError::Unexpected("no offer is outstanding"))?;
        let rtc = endpoint
            .rtc_mut(id, Side::Subscriber)
            .ok_or(SfuError::UnknownParticipant)?;
        let accepted = rtc.sdp_api().accept_answer(pending, answer);
        let mut started = Vec::new();
        for slot in &mut p.slots {
            if accepted.is_err() {
                slot.offered = None;
                continue;
            }
            let Some(current) = slot.answered() else {
                continue;
            };
            if current {
                if let Some(t) = slot
                    .track()
                    .filter(|_| slot.kind == MediaKind::Video && slot.ready())
                {
                    if let Some(layer) = slot.selector.target() {
                        started.push((t, layer));
                    }
                }
            } else {
                // Re-pointed since the offer: the next offer says what it carries now.
                p.needs_offer = true;
            }
        }
        if let Err(e) = accepted {
            p.needs_offer = true;
            return Ok(Answered::Refused(e.to_string()));
        }
        p.subscriber_answered = true;
        let connected = rtc.is_connected();
        endpoint.mark_dirty(PeerKey {
            participant: id,
            side: Side::Subscriber,
        });
        if connected {
            for (t, layer) in started {
                self.request_keyframe(endpoint, t, layer, now);
            }
        }
        Ok(Answered::Accepted)
    }
}
