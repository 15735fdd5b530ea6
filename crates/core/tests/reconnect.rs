//! A lost connection is not a departure: the participant stays, reconnecting, for the resume
//! window, and a page that comes back with its media connections takes its session back as it
//! was. In virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::time::Duration;

use summit_core::{Decision, SfuEvent};
use summit_proto::{
    ConnectionState, MeetingMessage, ParticipantId, Role, ServerMessage, TrackSource,
};
use summit_testkit::{Harness, SimClient};

/// The last connection state client `i` was told participant `of` is in.
fn connection_seen(h: &Harness, i: usize, of: ParticipantId) -> Option<ConnectionState> {
    h.messages_to(i).iter().rev().find_map(|m| match m {
        ServerMessage::ParticipantUpdated { participant } if participant.id == of => {
            Some(participant.connection)
        }
        _ => None,
    })
}

fn left_seen(h: &Harness, i: usize, of: ParticipantId) -> bool {
    h.messages_to(i).iter().any(|m| {
        matches!(m, ServerMessage::ParticipantLeft { participant_id, .. } if *participant_id == of)
    })
}

/// Ana and Ben in a meeting, both publishing and receiving each other.
fn two() -> (Harness, usize, usize) {
    let mut h = Harness::new(21);
    let a = h.join_as("m", "Ana", Role::Host);
    let b = h.join("m", "Ben");
    h.run(Duration::from_secs(3));
    let (ia, ib) = (h.clients[a].id, h.clients[b].id);
    assert!(h.clients[a].got(ib, TrackSource::Camera) > 0);
    assert!(h.clients[b].got(ia, TrackSource::Camera) > 0);
    (h, a, b)
}

/// Ben's signaling connection drops without a close: his page stops pinging, his media goes on.
fn lose_signaling(h: &mut Harness, b: usize) {
    let id = h.clients[b].id;
    h.clients[b].silent = true;
    h.sfu.handle_lost(h.now, id);
    h.process_outputs();
}

/// Ana and Ben in a meeting, and Ben's signaling lost: with his id and resume token.
fn away() -> (
    Harness,
    usize,
    usize,
    ParticipantId,
    summit_proto::ResumeToken,
) {
    let (mut h, a, b) = two();
    let ib = h.clients[b].id;
    let token = h.resume_token(ib).unwrap();
    lose_signaling(&mut h, b);
    (h, a, b, ib, token)
}

#[test]
fn a_lost_connection_keeps_the_seat_and_the_session_goes_on_when_the_page_is_back() {
    let (mut h, a, b) = two();
    let (ia, ib) = (h.clients[a].id, h.clients[b].id);
    let token = h.resume_token(ib).unwrap();
    lose_signaling(&mut h, b);
    // Ana sees "reconnecting", not a departure, and nobody leaves for a minute (well past the
    // heartbeat timeout).
    assert_eq!(
        connection_seen(&h, a, ib),
        Some(ConnectionState::Reconnecting)
    );
    let before = h.clients[b].got(ia, TrackSource::Camera);
    let heard = h.messages_to(b).len();
    h.run(Duration::from_secs(60));
    assert!(!left_seen(&h, a, ib));
    assert_eq!(h.sfu.participant_count(), 2);
    // Media kept flowing on the connections the server kept.
    assert!(h.clients[b].got(ia, TrackSource::Camera) > before + 100);
    // Someone arrives meanwhile: Ben is told when he is back, not into the void.
    let c = h.join("m", "Cai");
    let ic = h.clients[c].id;
    h.send(
        a,
        MeetingMessage::Chat {
            text: "while you were away".into(),
            sealed: false,
        },
    )
    .unwrap();
    assert_eq!(
        h.messages_to(b).len(),
        heard,
        "nothing sent into a lost connection"
    );

    // Back, with its media connections: the same id, the session as it was.
    let mut req = h.request("m", h.identity("Ben", Role::Delegate), Some(&token));
    req.keep_media = true;
    let j = h.sfu.join(h.now, req).unwrap();
    h.clients[b].silent = false;
    h.process_outputs();
    assert!(j.resumed && j.admitted && j.id == ib);
    let missed: Vec<&ServerMessage> = h.messages_to(b)[heard..].to_vec();
    assert!(
        matches!(missed.first(), Some(ServerMessage::Welcome { resumed: true, participants, .. })
            if participants.iter().any(|p| p.id == ic)),
        "first a resumed welcome: {:?}",
        missed.first()
    );
    let joined = missed.iter().position(
        |m| matches!(m, ServerMessage::ParticipantJoined { participant } if participant.id == ic),
    );
    let chat = missed
        .iter()
        .position(|m| matches!(m, ServerMessage::Chat(c) if c.text == "while you were away"));
    assert!(
        joined.is_some() && chat.is_some() && joined < chat,
        "what he missed, in order"
    );
    assert_eq!(connection_seen(&h, a, ib), Some(ConnectionState::Good));
    // The token rotated: the one just used takes nothing back any more.
    assert_ne!(h.resume_token(ib).unwrap(), token);
    h.run(Duration::from_secs(3));
    assert!(
        h.clients[b].got(ic, TrackSource::Camera) > 0,
        "Ben receives Cai"
    );
    assert!(
        h.clients[c].got(ib, TrackSource::Camera) > 0,
        "Cai receives Ben"
    );
}

#[test]
fn someone_not_back_within_the_resume_window_has_left() {
    let (mut h, a, _, ib, token) = away();
    h.run(Duration::from_secs(119));
    assert!(!left_seen(&h, a, ib));
    h.run(Duration::from_secs(2));
    assert!(left_seen(&h, a, ib));
    assert!(h
        .events
        .iter()
        .any(|e| matches!(e, SfuEvent::ResumeEnded(_))));
    // Too late: the page that comes back now starts again, with a new id.
    let mut req = h.request("m", h.identity("Ben", Role::Delegate), Some(&token));
    req.keep_media = true;
    let j = h.sfu.join(h.now, req).unwrap();
    assert!(!j.resumed && j.id != ib);
}

#[test]
fn a_page_that_closes_its_connection_leaves_at_once() {
    let (mut h, a, b) = two();
    let ib = h.clients[b].id;
    h.sfu.handle_closed(h.now, ib);
    h.clients[b].disconnected = true;
    h.process_outputs();
    assert!(left_seen(&h, a, ib));
    assert_ne!(
        connection_seen(&h, a, ib),
        Some(ConnectionState::Reconnecting)
    );
}

#[test]
fn a_page_without_its_media_connections_gets_a_fresh_session_with_its_seat() {
    let (mut h, a, b, ib, token) = away();
    h.run(Duration::from_secs(5));
    // A reload: the page has nothing left but its token, and makes new connections.
    let req = h.request("m", h.identity("Ben", Role::Delegate), Some(&token));
    let j = h.sfu.join(h.now, req).unwrap();
    let addr = |port| (Ipv4Addr::new(127, 0, 9, 9), port).into();
    h.clients[b] = SimClient::new(ib, h.now, addr(5000), addr(5001));
    h.process_outputs();
    assert!(j.resumed && j.admitted && j.id == ib);
    assert!(h
        .messages_to(b)
        .iter()
        .any(|m| matches!(m, ServerMessage::Welcome { resumed: false, .. })));
    assert_eq!(h.sfu.participant_count(), 2);
    h.publish(b);
    h.run(Duration::from_secs(3));
    let (ia, c) = (h.clients[a].id, &h.clients[b]);
    assert!(
        c.got(ia, TrackSource::Camera) > 0,
        "the new connections receive"
    );
    assert!(h.clients[a].got(ib, TrackSource::Camera) > 0);
}

#[test]
fn an_ice_restart_offers_the_subscribing_connection_again_with_new_credentials() {
    let (mut h, a, b) = two();
    let ia = h.clients[a].id;
    let ufrag = |h: &Harness| {
        h.messages_to(b).iter().rev().find_map(|m| match m {
            ServerMessage::SubscribeOffer { sdp, .. } => sdp
                .lines()
                .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
                .map(str::to_owned),
            _ => None,
        })
    };
    let before = ufrag(&h).unwrap();
    let offers = |h: &Harness| {
        h.messages_to(b)
            .iter()
            .filter(|m| matches!(m, ServerMessage::SubscribeOffer { .. }))
            .count()
    };
    let n = offers(&h);
    let keyframes = |h: &Harness| {
        h.decisions
            .iter()
            .filter(|(_, d)| matches!(d, Decision::KeyframeRequested { from, source: TrackSource::Camera } if *from == ia))
            .count()
    };
    let k = keyframes(&h);
    h.send(b, MeetingMessage::IceRestart {}).unwrap();
    assert_eq!(offers(&h), n + 1);
    let after = ufrag(&h).unwrap();
    assert_ne!(before, after, "new ICE credentials");
    // The same m-lines carry the same tracks, and media goes on.
    let got = h.clients[b].got(ia, TrackSource::Camera);
    h.run(Duration::from_secs(3));
    assert!(h.clients[b].got(ia, TrackSource::Camera) > got + 50);
    // Once the path was back, the server asked Ana for a keyframe for Ben: what was sent while
    // the path was being restored may be lost for good.
    assert!(keyframes(&h) > k, "no keyframe requested after the restart");
}

#[test]
fn an_ice_restart_before_anything_is_received_waits_for_the_first_offer() {
    // Found by the core fuzz target: alone in the meeting, the page's receiving connection has
    // no m-line, and the restart offer was empty (a str0m page refuses one). Speaker slots give
    // every page m-lines from the start, unless there are none.
    let mut h = Harness::with_config(31, |c| c.audio_slots = 0);
    let a = h.join("m", "Ana");
    h.run(Duration::from_secs(1));
    let offers = |h: &Harness| {
        h.messages_to(a)
            .iter()
            .filter(|m| matches!(m, ServerMessage::SubscribeOffer { .. }))
            .count()
    };
    assert_eq!(offers(&h), 0);
    h.send(a, MeetingMessage::IceRestart {}).unwrap();
    assert_eq!(offers(&h), 0, "nothing to restart");
    // Someone arrives: the first offer comes as usual, and media flows.
    let b = h.join("m", "Ben");
    let ib = h.clients[b].id;
    h.run(Duration::from_secs(3));
    assert_eq!(offers(&h), 1);
    assert!(h.clients[a].got(ib, TrackSource::Camera) > 50);
}

/// A harness whose TURN credentials are numbered, 60 s valid, so renewals can be counted.
fn with_turn() -> Harness {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    let minted = Arc::new(AtomicU64::new(0));
    Harness::with_config(23, move |c| {
        c.turn = Some(summit_core::TurnServers {
            mint: Arc::new(move |id| {
                let n = minted.fetch_add(1, Ordering::Relaxed);
                vec![summit_proto::IceServer {
                    urls: vec!["turn:turn.test:3478?transport=tcp".into()],
                    username: format!("{n}:{}", id.0),
                    credential: "c".into(),
                }]
            }),
            ttl: Duration::from_secs(60),
        });
    })
}

/// The TURN usernames client `i` was given, in order (welcome, then renewals).
fn turn_usernames(h: &Harness, i: usize) -> Vec<String> {
    h.messages_to(i)
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Welcome { ice_servers, .. }
            | ServerMessage::IceServers { ice_servers } => {
                Some(ice_servers.first()?.username.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn turn_credentials_come_in_the_welcome_and_are_renewed_before_they_expire() {
    let mut h = with_turn();
    let a = h.join_as("m", "Ana", Role::Host);
    let ia = h.clients[a].id;
    assert_eq!(turn_usernames(&h, a), vec![format!("0:{}", ia.0)]);
    // Renewed at three quarters of their 60 s: by 46 s, not by 44 s.
    h.run(Duration::from_secs(44));
    assert_eq!(turn_usernames(&h, a).len(), 1);
    h.run(Duration::from_secs(2));
    assert_eq!(turn_usernames(&h, a).len(), 2);
    h.run(Duration::from_secs(45));
    assert_eq!(turn_usernames(&h, a).len(), 3, "and again 45 s later");
    // Without TURN servers, none.
    let (h, b, _) = two();
    assert!(turn_usernames(&h, b).is_empty());
}

#[test]
fn everyone_is_told_when_someones_uplink_turns_poor_and_good_again() {
    let (mut h, a, b) = two();
    let ib = h.clients[b].id;
    h.run(Duration::from_secs(12));
    assert_ne!(
        connection_seen(&h, a, ib),
        Some(ConnectionState::Poor),
        "a clean link is not poor"
    );
    // 15 % of Ben's media is lost on its way to the server.
    let addr = h.clients[b].pub_addr;
    h.uplink_loss.insert(addr, 0.15);
    h.run(Duration::from_secs(12));
    assert_eq!(connection_seen(&h, a, ib), Some(ConnectionState::Poor));
    let told = h.messages_to(a).iter().rev().find_map(|m| match m {
        ServerMessage::ParticipantUpdated { participant } if participant.id == ib => {
            participant.uplink
        }
        _ => None,
    });
    assert!(
        told.is_some_and(|u| u.loss_percent >= 5),
        "with the figures: {told:?}"
    );
    // Ben is told too: his page's own statistics cannot show it.
    let own = |h: &Harness| {
        h.messages_to(b).iter().rev().find_map(|m| match m {
            ServerMessage::YourUplink { poor, uplink } => Some((*poor, uplink.loss_percent)),
            _ => None,
        })
    };
    assert!(
        own(&h).is_some_and(|(poor, loss)| poor && loss >= 5),
        "{:?}",
        own(&h)
    );
    // Healed: good again after two clean rounds, not at the first.
    h.uplink_loss.clear();
    h.run(Duration::from_secs(20));
    assert_eq!(connection_seen(&h, a, ib), Some(ConnectionState::Good));
    assert_eq!(own(&h).map(|(poor, _)| poor), Some(false));
}

#[test]
fn a_page_back_with_its_connections_is_told_its_poor_uplink_again() {
    let (mut h, _, b) = two();
    let ib = h.clients[b].id;
    h.run(Duration::from_secs(4));
    let addr = h.clients[b].pub_addr;
    h.uplink_loss.insert(addr, 0.15);
    h.run(Duration::from_secs(12));
    let token = h.resume_token(ib).unwrap();
    lose_signaling(&mut h, b);
    let heard = h.messages_to(b).len();
    h.run(Duration::from_secs(2));
    let mut req = h.request("m", h.identity("Ben", Role::Delegate), Some(&token));
    req.keep_media = true;
    let j = h.sfu.join(h.now, req).unwrap();
    h.clients[b].silent = false;
    h.process_outputs();
    assert!(j.resumed && j.id == ib);
    // The page draws its own tile anew on the welcome: the verdict comes after it.
    let back = &h.messages_to(b)[heard..];
    let welcome = back
        .iter()
        .position(|m| matches!(m, ServerMessage::Welcome { .. }));
    let told = back
        .iter()
        .rposition(|m| matches!(m, ServerMessage::YourUplink { poor: true, .. }));
    assert!(
        welcome.is_some() && told > welcome,
        "a poor verdict after the welcome: {back:?}"
    );
}

#[test]
fn a_page_away_while_more_than_its_budget_happened_comes_back_to_a_fresh_session() {
    let (mut h, a, b, ib, token) = away();
    // Over a megabyte of chat while Ben is away (held messages have a byte budget), at the
    // pace the relay budget allows (64 KiB/s).
    for i in 0..300 {
        h.run(Duration::from_millis(70));
        h.send(
            a,
            MeetingMessage::Chat {
                text: format!("{i} {}", "x".repeat(3990)),
                sealed: false,
            },
        )
        .unwrap();
    }
    let mut req = h.request("m", h.identity("Ben", Role::Delegate), Some(&token));
    req.keep_media = true;
    let j = h.sfu.join(h.now, req).unwrap();
    // (A fresh session means fresh media connections, as the page makes on that welcome.)
    let addr = |port| (Ipv4Addr::new(127, 0, 9, 8), port).into();
    h.clients[b] = SimClient::new(ib, h.now, addr(5000), addr(5001));
    h.process_outputs();
    // Back in his seat, but as a fresh session: the welcome carries the meeting as it is.
    assert!(j.resumed && j.id == ib);
    assert!(h
        .messages_to(b)
        .iter()
        .any(|m| matches!(m, ServerMessage::Welcome { resumed: false, .. })));
}
