//! SDP negotiation: the page's publishing offers, and the server's offers on each subscribing
//! connection as tracks come and go (slots are reused, never renumbered).

use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, Mid};
use summit_proto::{
    Capability, LayerInfo, ParticipantId, PublishedTrackInfo, ServerMessage, SubscribedTrack,
    TrackSource, MAX_LAYERS, MAX_SDP_BYTES,
};

use crate::endpoint::peer::{PeerKey, Side};
use crate::policy::{SubscriberView, TrackView};
use crate::router::subscription::{Slot, SlotRef};
use crate::router::track::{PublishedTrack, TrackRef};
use crate::{Sfu, SfuError};

/// Most tracks one participant may publish at once (microphone, camera, screen).
const MAX_TRACKS: usize = 3;
/// Longest rid accepted (RFC 8851 allows more; browsers use one or two characters).
const MAX_RID: usize = 16;
/// Largest declared picture side.
const MAX_SIDE: u32 = 16_384;

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

impl Sfu {
    pub(crate) fn handle_publish(
        &mut self,
        id: ParticipantId,
        sdp: &str,
        tracks: &[PublishedTrackInfo],
    ) -> Result<(), SfuError> {
        if sdp.len() > MAX_SDP_BYTES {
            return Err(SfuError::Invalid(format!("SDP over {MAX_SDP_BYTES} bytes")));
        }
        if tracks.len() > MAX_TRACKS {
            return Err(SfuError::Invalid(format!("at most {MAX_TRACKS} tracks")));
        }
        let p = self
            .participants
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant)?;
        if !p.admitted() {
            return Err(SfuError::Unexpected("waiting in the lobby"));
        }
        for (i, t) in tracks.iter().enumerate() {
            let allowed = if t.source.is_audio() {
                p.capabilities.has(Capability::PublishAudio)
                    || p.capabilities.has(Capability::Publish)
            } else {
                p.capabilities.has(Capability::Publish)
            };
            if !allowed {
                return Err(SfuError::NotAllowed("this role may not publish this media"));
            }
            if tracks[..i]
                .iter()
                .any(|o| o.source == t.source || o.mid == t.mid)
            {
                return Err(SfuError::Invalid("each source and mid at most once".into()));
            }
            check_layers(&t.layers)?;
        }
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::Sdp(e.to_string()))?;
        let rtc = self
            .endpoint
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
        let p = self
            .router
            .media
            .get(&id)
            .ok_or(SfuError::UnknownParticipant)?;
        let removed: Vec<TrackSource> = p
            .tracks
            .iter()
            .filter(|t| !wanted.contains(&(t.source, t.mid)))
            .map(|t| t.source)
            .collect();
        let added: Vec<(TrackSource, Mid)> = wanted
            .into_iter()
            .filter(|(s, m)| !p.tracks.iter().any(|t| t.source == *s && t.mid == *m))
            .collect();
        self.signal(
            id,
            ServerMessage::PublishAnswer {
                sdp: answer.to_sdp_string(),
            },
        );
        self.mark_dirty(PeerKey {
            participant: id,
            side: Side::Publisher,
        });
        for s in removed {
            self.unpublish(id, s);
        }
        let members = self.members_of(id);
        for (source, mid) in added {
            let layers = tracks
                .iter()
                .find(|t| t.source == source)
                .map(|t| t.layers.clone())
                .unwrap_or_default();
            if let Some(p) = self.router.media.get_mut(&id) {
                p.tracks.push(PublishedTrack::new(source, mid, &layers));
            }
            for m in &members {
                self.subscribe_if_policy(*m, id, source);
            }
        }
        for m in members {
            self.offer_if_needed(m);
        }
        self.feed_channels_of(id);
        self.broadcast_update(id);
        Ok(())
    }

    pub(crate) fn members_of(&self, id: ParticipantId) -> Vec<ParticipantId> {
        self.participants
            .get(&id)
            .and_then(|p| self.meetings.get(&p.meeting))
            .map(|m| m.members.clone())
            .unwrap_or_default()
    }

    /// A publisher stopped sending `source`: free every slot it fed.
    fn unpublish(&mut self, id: ParticipantId, source: TrackSource) {
        let Some(p) = self.router.media.get_mut(&id) else {
            return;
        };
        let Some(i) = p.tracks.iter().position(|t| t.source == source) else {
            return;
        };
        p.tracks.remove(i);
        let fed = self
            .router
            .subscriptions
            .slots_of(TrackRef {
                publisher: id,
                source,
            })
            .to_vec();
        for s in fed {
            self.release_slot(s);
            self.offer_if_needed(s.participant);
        }
    }

    /// Frees a slot whose track is gone.
    pub(crate) fn release_slot(&mut self, at: SlotRef) {
        let Some(p) = self.router.media.get_mut(&at.participant) else {
            return;
        };
        let Some(s) = p.slots.get_mut(at.slot) else {
            return;
        };
        if s.channel {
            // The channel stays; it carries nothing until its next source.
            self.router.subscriptions.hand_over(at, s, None);
        } else {
            self.router.subscriptions.assign(at, s, None);
            p.needs_offer = true;
        }
    }

    /// Gives `sub` a slot for `publisher`'s `source` if the policy says so.
    pub(crate) fn subscribe_if_policy(
        &mut self,
        sub: ParticipantId,
        publisher: ParticipantId,
        source: TrackSource,
    ) {
        let Some(s) = self.participants.get(&sub) else {
            return;
        };
        let view = SubscriberView {
            id: sub,
            capabilities: s.capabilities,
        };
        if !self
            .policy
            .subscribes(view, TrackView { publisher, source })
        {
            return;
        }
        // An interpreter's microphone reaches listeners only through channel slots; as a
        // track of its own, only their booth partners hear it.
        if source == TrackSource::Microphone && !self.direct_audio(publisher, sub) {
            return;
        }
        let Some(track) = self
            .router
            .media
            .get(&publisher)
            .and_then(|p| p.track(source))
        else {
            return;
        };
        let track_ref = TrackRef { publisher, source };
        if self.router.subscriptions.feeds(track_ref, sub) {
            return;
        }
        let kind = track.kind();
        let Some(s) = self.router.media.get_mut(&sub) else {
            return;
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
            self.router.subscriptions.assign(at, slot, Some(track_ref));
        }
        s.needs_offer = true;
    }

    /// Sends a new offer on `id`'s subscribing connection if slots changed and none is outstanding.
    pub(crate) fn offer_if_needed(&mut self, id: ParticipantId) {
        let Some(p) = self.router.media.get_mut(&id) else {
            return;
        };
        if !p.needs_offer || p.pending_offer.is_some() {
            tracing::debug!(participant = %id, needs = p.needs_offer, pending = p.pending_offer.is_some(), "no offer now");
            return;
        }
        p.needs_offer = false;
        let ice_restart = std::mem::take(&mut p.ice_restart);
        let Some(rtc) = self.endpoint.rtc_mut(id, Side::Subscriber) else {
            return;
        };
        let mut api = rtc.sdp_api();
        if ice_restart {
            // New ICE credentials, the same candidates: the page's new path checks in afresh.
            api.ice_restart(true);
        }
        for slot in &mut p.slots {
            match (slot.mid, slot.track()) {
                _ if slot.mid.is_none() && slot.channel => {
                    let dir = Direction::SendOnly;
                    let name = Some("channel".to_owned());
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
            return;
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
        let sdp = offer.to_sdp_string();
        tracing::debug!(participant = %id, ?tracks, "subscribe offer");
        let offer = ServerMessage::SubscribeOffer {
            sdp,
            tracks,
            channel_mid,
        };
        if let Some(p) = self.router.media.get_mut(&id) {
            p.last_offer = Some(offer.clone());
        }
        self.signal(id, offer);
        self.mark_dirty(PeerKey {
            participant: id,
            side: Side::Subscriber,
        });
    }

    pub(crate) fn handle_subscribe_answer(
        &mut self,
        now: Instant,
        id: ParticipantId,
        sdp: &str,
    ) -> Result<(), SfuError> {
        if sdp.len() > MAX_SDP_BYTES {
            return Err(SfuError::Invalid(format!("SDP over {MAX_SDP_BYTES} bytes")));
        }
        let p = self
            .router
            .media
            .get_mut(&id)
            .ok_or(SfuError::UnknownParticipant)?;
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| SfuError::Sdp(e.to_string()))?;
        let pending = p
            .pending_offer
            .take()
            .ok_or(SfuError::Unexpected("no offer is outstanding"))?;
        let rtc = self
            .endpoint
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
        if accepted.is_ok() {
            p.subscriber_answered = true;
        }
        if let Err(e) = accepted {
            p.needs_offer = true;
            self.offer_if_needed(id);
            return Err(SfuError::Sdp(e.to_string()));
        }
        let connected = rtc.is_connected();
        self.mark_dirty(PeerKey {
            participant: id,
            side: Side::Subscriber,
        });
        if connected {
            for (t, layer) in started {
                self.request_keyframe(t, layer, now);
            }
        }
        // Newly ready video gets its layers chosen (and keyframes asked for) now.
        self.reallocate(id, now);
        self.offer_if_needed(id);
        // Now known: whether this page receives RED, which the meeting's senders follow.
        if let Some(meeting) = self.participants.get(&id).map(|p| p.meeting.clone()) {
            self.update_redundancy(&meeting);
        }
        Ok(())
    }
}
