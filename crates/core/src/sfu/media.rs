//! The facade's media side: connection events, publishing and subscribing, layer choice and
//! audio redundancy. Each asks the meetings what they decide (who may publish, who subscribes
//! to whom, who is in a meeting), has the router do the media work on the endpoint's
//! connections, and sends the pages what the router says they are to be told.

use std::time::Instant;

use str0m::bwe::BweKind;
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::rtp::RtpPacket;
use str0m::Event;
use summit_proto::{
    Capability, MeetingName, ParticipantId, PublishedTrackInfo, ServerMessage, TileDisplay,
    TrackSource, MAX_SDP_BYTES,
};

use crate::endpoint::peer::{PeerKey, Side};
use crate::metrics::StreamFigures;
use crate::output::Output;
use crate::policy::{SubscriberView, TrackView};
use crate::router::negotiation::{check_track, Answered, MAX_TRACKS};
use crate::router::track::{PublishedTrack, TrackRef};
use crate::{Sfu, SfuError};

impl Sfu {
    pub(crate) fn on_event(&mut self, key: PeerKey, now: Instant, e: Event) {
        match (key.side, e) {
            (Side::Publisher, Event::RtpPacket(pkt)) => self.forward(key.participant, now, pkt),
            (Side::Subscriber, Event::KeyframeRequest(req)) => {
                // The subscriber lost its picture: ask for a keyframe of the layer it gets.
                self.router
                    .keyframe_for_slot(&mut self.endpoint, key.participant, req.mid, now);
            }
            (Side::Subscriber, Event::Connected) => {
                // Start every video slot that was waiting for the connection.
                self.router
                    .refresh_received_video(&mut self.endpoint, key.participant, now);
            }
            (Side::Subscriber, Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })) => {
                self.bandwidth_estimated(key.participant, now, estimate.as_u64());
            }
            (Side::Publisher, Event::MediaIngressStats(s)) => {
                let f = StreamFigures {
                    nacks: s.nacks,
                    lost: 0,
                };
                self.stream_figures(key, s.mid, f);
                // Jitter counts for audio only: a video frame's packets share one timestamp
                // and leave the sender paced, which reads as jitter on any link.
                let audio = self.router.publishes_audio_on(key.participant, s.mid);
                let jitter = if audio { s.jitter } else { 0 };
                self.meetings
                    .uplink_report(key.participant, now, s.loss, jitter, 48_000);
            }
            (Side::Subscriber, Event::MediaEgressStats(s)) => {
                let remote = s
                    .remote
                    .as_ref()
                    .map(|r| (r.packets_lost, *r.maximum_sequence_number));
                self.router
                    .link_report(key.participant, now, s.mid, remote, s.rtt);
                let lost = s.remote.map_or(0, |r| r.packets_lost);
                let f = StreamFigures {
                    nacks: s.nacks,
                    lost,
                };
                self.stream_figures(key, s.mid, f);
            }
            (_, Event::IceConnectionStateChange(s)) => {
                tracing::debug!(participant = %key.participant, side = ?key.side, "ICE {s:?}");
                let Some(peer) = self.endpoint.peer_mut(key) else {
                    return;
                };
                if peer.path.change(s) {
                    // The path is back after an outage (a changed network, an ICE restart):
                    // what was sent meanwhile is lost for good, older than any resend cache,
                    // and a picture waiting for it would freeze until the browser asks for a
                    // keyframe itself (after 3 s). Ask now.
                    match key.side {
                        Side::Subscriber => self.router.refresh_received_video(
                            &mut self.endpoint,
                            key.participant,
                            now,
                        ),
                        Side::Publisher => self.router.refresh_published_video(
                            &mut self.endpoint,
                            key.participant,
                            now,
                        ),
                    }
                }
            }
            _ => {}
        }
    }

    /// Forwards one packet from a publisher to every slot its track feeds whose chosen layer it
    /// belongs to; a slot changes layer only at a keyframe of the layer it switches to. The
    /// router does the work, reading its own state and writing to the endpoint's connections;
    /// meeting state is not touched.
    pub(crate) fn forward(&mut self, from: ParticipantId, now: Instant, pkt: RtpPacket) {
        let Some(c) = self.router.classify(&mut self.endpoint, from, now, &pkt) else {
            return;
        };
        if c.held_by_host {
            return;
        }
        // Before forwarding: a new speaker's packet that takes a place goes out in it.
        self.hear(&c, &pkt, now);
        if let Some(r) = self.router.tap_recording(&mut self.endpoint, &c, &pkt, now) {
            self.outputs.push_back(Output::Recorded(r));
        }
        #[cfg(feature = "danger-test-attacks")]
        let pkt = {
            let mut pkt = pkt;
            pkt.payload = self.attack_payload(from, c.track.source, pkt.payload.clone());
            pkt
        };
        self.router.fan_out(&mut self.endpoint, &c, &pkt, now);
    }

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
            .meetings
            .participant(id)
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
            check_track(tracks, i)?;
        }
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::Sdp(e.to_string()))?;
        let published = self
            .router
            .accept_publish(&mut self.endpoint, id, offer, tracks)?;
        self.signal(
            id,
            ServerMessage::PublishAnswer {
                sdp: published.answer,
            },
        );
        let mic_changed = published
            .removed
            .iter()
            .chain(published.added.iter().map(|(s, _)| s))
            .any(|s| *s == TrackSource::Microphone);
        let now = self.now;
        let pictures = |s: &TrackSource| matches!(s, TrackSource::Camera | TrackSource::Screen);
        let cameras_changed = published
            .removed
            .iter()
            .chain(published.added.iter().map(|(s, _)| s))
            .any(pictures);
        for s in published.removed {
            for sub in self.router.unpublish(id, s) {
                self.offer_if_needed(sub);
                if pictures(&s) && self.router.uses_video_slots(sub) {
                    // Its slot carries no one now: the page is told.
                    self.point_video_slots(sub, now, true);
                }
            }
        }
        let members = self.meetings.members_of(id);
        for (source, mid) in published.added {
            let layers = tracks
                .iter()
                .find(|t| t.source == source)
                .map(|t| t.layers.clone())
                .unwrap_or_default();
            self.router
                .publish(id, PublishedTrack::new(source, mid, &layers));
            for m in &members {
                self.subscribe_if_policy(*m, id, source);
            }
        }
        for m in members {
            self.offer_if_needed(m);
        }
        if mic_changed {
            self.floor_voice_changed(id);
        }
        if cameras_changed {
            self.cameras_changed(id, now);
        }
        self.feed_channels_of(id);
        self.broadcast_update(id);
        Ok(())
    }

    /// Gives `sub` a slot for `publisher`'s `source` if the policy says so.
    pub(crate) fn subscribe_if_policy(
        &mut self,
        sub: ParticipantId,
        publisher: ParticipantId,
        source: TrackSource,
    ) {
        let Some(s) = self.meetings.participant(sub) else {
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
        // Floor microphones reach listeners through speaker slots, an interpreter's through
        // channel slots; as a track of its own, only their booth partners hear it.
        if source == TrackSource::Microphone && !self.meetings.booth_line(publisher, sub) {
            return;
        }
        // A page with video slots gets cameras and the screen through them (video_slots.rs).
        if source != TrackSource::Microphone && self.router.uses_video_slots(sub) {
            return;
        }
        self.router.subscribe(sub, TrackRef { publisher, source });
    }

    /// Sends a new offer on `id`'s subscribing connection if slots changed and none is outstanding.
    pub(crate) fn offer_if_needed(&mut self, id: ParticipantId) {
        if let Some(offer) = self.router.offer(&mut self.endpoint, id) {
            self.signal(id, offer);
        }
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
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| SfuError::Sdp(e.to_string()))?;
        if let Answered::Refused(e) =
            self.router
                .accept_answer(&mut self.endpoint, id, answer, now)?
        {
            self.offer_if_needed(id);
            return Err(SfuError::Sdp(e));
        }
        // Newly ready video gets its layers chosen (and keyframes asked for) now.
        self.reallocate(id, now);
        self.offer_if_needed(id);
        // Now known: whether this page receives RED, which the meeting's senders follow.
        if let Some(meeting) = self.meetings.participant(id).map(|p| p.meeting.clone()) {
            self.update_redundancy(&meeting);
        }
        Ok(())
    }

    /// Works out again whether `meeting`'s pages may send RED; tells them all when it changes.
    pub(crate) fn update_redundancy(&mut self, meeting: &MeetingName) {
        let Some(m) = self.meetings.meeting(meeting) else {
            return;
        };
        // Pages that have not answered yet receive nothing yet: they count once they have.
        let on = self.config.audio_redundancy
            && m.members()
                .iter()
                .all(|id| self.router.receives_red(&self.endpoint, *id) != Some(false));
        let members = m.members().to_vec();
        let changed = self
            .meetings
            .meeting_mut(meeting)
            .is_some_and(|m| m.set_audio_redundancy(on));
        if !changed {
            return;
        }
        tracing::debug!(%meeting, on, "audio redundancy");
        for id in members {
            self.signal(id, ServerMessage::AudioRedundancy { on });
        }
    }

    /// The subscribing connection's bandwidth estimate changed.
    pub(crate) fn bandwidth_estimated(&mut self, id: ParticipantId, now: Instant, bps: u64) {
        self.router.estimated(id, now, bps);
        self.reallocate(id, now);
    }

    /// The page reports how big it shows some tiles.
    pub(crate) fn handle_display(
        &mut self,
        now: Instant,
        id: ParticipantId,
        tiles: &[TileDisplay],
    ) -> Result<(), SfuError> {
        self.router.display(id, tiles)?;
        self.reallocate(id, now);
        Ok(())
    }

    /// Chooses every subscriber's layers again.
    pub(crate) fn reallocate_all(&mut self, now: Instant) {
        for id in self.router.participants() {
            self.reallocate(id, now);
        }
    }

    /// Chooses `id`'s layers again (see [`crate::router::Router::reallocate`]) and tells its page of tiles
    /// paused or resumed.
    pub(crate) fn reallocate(&mut self, id: ParticipantId, now: Instant) {
        let bwe = self.config.initial_bandwidth.is_some();
        for msg in self.router.reallocate(&mut self.endpoint, id, now, bwe) {
            self.signal(id, msg);
        }
    }
}
