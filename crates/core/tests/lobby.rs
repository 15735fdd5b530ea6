//! Lobby, moderation and session resumption, in virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use summit_core::{Identity, SfuError, SfuEvent};
use summit_proto::{
    CloseCode, InvitationId, MeetingMessage, MeetingName, Role, ServerMessage, TrackSource,
};
use summit_testkit::Harness;

/// The last lobby message client `i` got: whether a host was present.
fn lobby_state(h: &Harness, i: usize) -> Option<bool> {
    h.messages_to(i).iter().rev().find_map(|m| match m {
        ServerMessage::Lobby { host_present, .. } => Some(*host_present),
        _ => None,
    })
}

fn plain_chat(text: &str) -> MeetingMessage {
    MeetingMessage::Chat {
        text: text.into(),
        sealed: false,
    }
}

fn lobby_harness() -> Harness {
    let mut h = Harness::new(11);
    h.skip_lobby = false;
    h
}

#[test]
fn waiting_participants_get_nothing_until_admitted() {
    let mut h = lobby_harness();
    let host = h.join_as("m", "Host", Role::Host);
    let d = h.enter("m", "Delegate", Role::Delegate);
    h.run(Duration::from_secs(1));
    // The delegate is told to wait, with a host present; the host sees them by name.
    assert_eq!(lobby_state(&h, d), Some(true));
    assert!(h.messages_to(host).iter().any(|m| matches!(m,
        ServerMessage::LobbyChanged { waiting, .. } if waiting.len() == 1 && waiting[0].name == "Delegate")));
    // Waiting: no welcome, no participant list, no chat, no media; publishing is refused.
    h.send(host, plain_chat("secret")).unwrap();
    assert!(h
        .messages_to(d)
        .iter()
        .all(|m| matches!(m, ServerMessage::Lobby { .. } | ServerMessage::Pong {})));
    let (sdp, tracks) = h.clients[d].publish_offer();
    assert!(h.send(d, MeetingMessage::Publish { sdp, tracks }).is_err());
    assert!(h.send(d, plain_chat("hi")).is_err());
    h.run(Duration::from_secs(1));
    assert_eq!(h.clients[d].got(h.clients[host].id, TrackSource::Camera), 0);

    // Admitted: welcome (with the chat history), then media.
    let id = h.clients[d].id;
    h.send(host, MeetingMessage::Admit { participant: id })
        .unwrap();
    assert!(h
        .messages_to(d)
        .iter()
        .any(|m| matches!(m, ServerMessage::Welcome { .. })));
    h.run(Duration::from_secs(2));
    assert!(h.clients[d].got(h.clients[host].id, TrackSource::Camera) > 10);
}

#[test]
fn without_a_host_the_lobby_waits_and_says_so() {
    let mut h = lobby_harness();
    let d = h.enter("m", "Delegate", Role::Delegate);
    assert_eq!(lobby_state(&h, d), Some(false));
    h.join_as("m", "Host", Role::Host);
    assert_eq!(lobby_state(&h, d), Some(true));
}

#[test]
fn deny_disconnects_with_a_reason() {
    let mut h = lobby_harness();
    let host = h.join_as("m", "Host", Role::Host);
    let d = h.enter("m", "Delegate", Role::Delegate);
    let id = h.clients[d].id;
    h.send(host, MeetingMessage::Deny { participant: id })
        .unwrap();
    let (who, why) = h.disconnects.last().unwrap();
    assert_eq!((*who, why.code), (id, CloseCode::Denied));
    assert_eq!(h.sfu.participant_count(), 1);
}

#[test]
fn only_hosts_moderate() {
    let mut h = lobby_harness();
    h.skip_lobby = true;
    let a = h.join("m", "A");
    let b = h.join("m", "B");
    let target = h.clients[b].id;
    for msg in [
        MeetingMessage::MuteParticipant {
            participant: target,
        },
        MeetingMessage::Remove {
            participant: target,
        },
        MeetingMessage::Lock { locked: true },
        MeetingMessage::EndMeeting {},
        MeetingMessage::Admit {
            participant: target,
        },
    ] {
        assert!(
            h.send(a, msg.clone()).is_err(),
            "{msg:?} allowed to a delegate"
        );
    }
    assert!(h.disconnects.is_empty());
}

#[test]
fn observers_cannot_publish_or_chat_even_hand_crafted() {
    let mut h = Harness::new(12);
    let o = h.enter("m", "Observer", Role::Observer);
    let (sdp, tracks) = h.clients[o].publish_offer();
    let e = h
        .send(o, MeetingMessage::Publish { sdp, tracks })
        .unwrap_err();
    assert!(e.to_string().contains("not allowed"), "{e}");
    assert!(h.send(o, plain_chat("hi")).is_err());
}

#[test]
fn mute_by_host_stops_the_microphone_at_once_until_they_unmute() {
    let mut h = Harness::new(13);
    let host = h.join_as("m", "Host", Role::Host);
    let d = h.join("m", "Delegate");
    h.run(Duration::from_secs(1));
    let (host_id, d_id) = (h.clients[host].id, h.clients[d].id);
    h.send(host, MeetingMessage::MuteParticipant { participant: d_id })
        .unwrap();
    assert!(h
        .messages_to(d)
        .iter()
        .any(|m| matches!(m, ServerMessage::MutedByHost { .. })));
    let muted_at = h.elapsed();
    h.run(Duration::from_secs(1));
    let forwarded_mic_after = h.decisions.iter().filter(|(t, dec)| *t > muted_at && matches!(dec,
        summit_core::Decision::Forwarded { from, source: TrackSource::Microphone, .. } if *from == d_id)).count();
    assert_eq!(
        forwarded_mic_after, 0,
        "microphone still forwarded after mute by host"
    );
    // The camera keeps going; the participant may unmute themselves.
    let before = h.clients[host].got(d_id, TrackSource::Microphone);
    h.send(
        d,
        MeetingMessage::Mute {
            source: TrackSource::Microphone,
            muted: false,
        },
    )
    .unwrap();
    h.run(Duration::from_secs(1));
    assert!(h.clients[host].got(d_id, TrackSource::Microphone) > before + 20);
    let _ = host_id;
}

#[test]
fn remove_revokes_and_end_closes_everyone() {
    let mut h = Harness::new(14);
    let host = h.join_as("m", "Host", Role::Host);
    let a = h.join("m", "A");
    let b = h.join("m", "B");
    let a_id = h.clients[a].id;
    h.send(host, MeetingMessage::Remove { participant: a_id })
        .unwrap();
    let persisted: Vec<&SfuEvent> = h
        .events
        .iter()
        .filter(|e| matches!(e, SfuEvent::InvitationRevoked(..)))
        .collect();
    assert_eq!(
        persisted,
        vec![&SfuEvent::InvitationRevoked(InvitationId("inv-A".into()))]
    );
    assert_eq!(h.disconnects.last().unwrap().1.code, CloseCode::Removed);
    h.send(host, MeetingMessage::Lock { locked: true }).unwrap();
    assert!(h
        .messages_to(b)
        .iter()
        .any(|m| matches!(m, ServerMessage::MeetingLocked { locked: true, .. })));
    // Locked: no one new enters.
    let late = Identity {
        skip_lobby: true,
        ..h.identity("Late", Role::Delegate)
    };
    let req = h.request("m", late, None);
    let err = h.sfu.join(h.now, req).unwrap_err();
    assert!(err.to_string().contains("locked"));
    h.send(host, MeetingMessage::EndMeeting {}).unwrap();
    assert!(h
        .events
        .contains(&SfuEvent::MeetingEnded(MeetingName::parse("m").unwrap())));
    assert_eq!(h.sfu.participant_count(), 0);
    assert!(
        h.disconnects
            .iter()
            .filter(|(_, d)| d.code == CloseCode::Ended)
            .count()
            == 2
    );
}

#[test]
fn a_lost_connection_resumes_by_its_token_within_the_window_without_the_lobby() {
    let mut h = lobby_harness();
    let host = h.join_as("m", "Host", Role::Host);
    let d = h.enter("m", "Delegate", Role::Delegate);
    let id = h.clients[d].id;
    h.send(host, MeetingMessage::Admit { participant: id })
        .unwrap();
    let token = h.resume_token(id).unwrap();
    h.sfu.handle_closed(h.now, id);
    h.clients[d].disconnected = true;
    h.process_outputs();
    h.run(Duration::from_secs(10));
    let base = h.identity("Delegate", Role::Delegate);
    let identity = |inv: &str| Identity {
        invitation: InvitationId(inv.into()),
        ..base.clone()
    };
    // Another invitation cannot take over the session, even with its token.
    let req = h.request("m", identity("inv-other"), Some(&token));
    let other = h.sfu.join(h.now, req).unwrap();
    assert!(!other.resumed && !other.admitted && other.id != id);
    // The same invitation without the token is someone new, in the lobby.
    let req = h.request("m", identity("inv-Delegate"), None);
    let fresh = h.sfu.join(h.now, req).unwrap();
    assert!(!fresh.resumed && !fresh.admitted && fresh.id != id);
    let req = h.request("m", identity("inv-Delegate"), Some(&token));
    let j = h.sfu.join(h.now, req).unwrap();
    assert!(j.resumed && j.admitted && j.id == id);
    h.process_outputs();
    // The token rotated: the one just used takes nothing back any more.
    let newer = h.resume_token(id).unwrap();
    assert_ne!(newer, token);
    h.sfu.handle_closed(h.now, id);
    let req = h.request("m", identity("inv-Delegate"), Some(&token));
    assert!(!h.sfu.join(h.now, req).unwrap().resumed);
    // After the grace period the newer one would have waited in the lobby again.
    // 120 s by default (`resume_window`).
    h.run(Duration::from_secs(121));
    let req = h.request("m", identity("inv-Delegate"), Some(&newer));
    let late = h.sfu.join(h.now, req).unwrap();
    assert!(!late.resumed && !late.admitted);
}

#[test]
fn a_page_that_keeps_its_heartbeat_waits_in_the_lobby_as_long_as_it_takes() {
    // Longer than DTLS allows a handshake (40 s): connections start at admission.
    const WAIT_ALONE: u64 = 60;
    const WAIT_WITH_HOST: u64 = 60;
    let mut h = lobby_harness();
    let d = h.enter("m", "Delegate", Role::Delegate);
    let silent = h.enter("m", "Silent", Role::Delegate);
    h.clients[silent].silent = true;
    // The lobby tells the page how often to ping, and gives it a token to come back with.
    assert!(h.messages_to(d).iter().any(|m| matches!(m,
        ServerMessage::Lobby { heartbeat_ms: 2000, resume_token, .. } if !resume_token.as_str().is_empty())));
    h.run(Duration::from_secs(WAIT_ALONE));
    assert_eq!(
        lobby_state(&h, d),
        Some(false),
        "still waiting, no host yet"
    );
    assert!(h.disconnects.iter().all(|(id, _)| *id != h.clients[d].id));
    // A page that stopped pinging is dropped, as it would be in the meeting.
    assert!(h
        .disconnects
        .iter()
        .any(|(id, why)| *id == h.clients[silent].id && why.code == CloseCode::HeartbeatTimeout));
    let host = h.join_as("m", "Host", Role::Host);
    h.run(Duration::from_secs(WAIT_WITH_HOST));
    let id = h.clients[d].id;
    h.send(host, MeetingMessage::Admit { participant: id })
        .unwrap();
    h.run(Duration::from_secs(2));
    assert!(h.clients[d].got(h.clients[host].id, TrackSource::Camera) > 10);
}

#[test]
fn a_denied_invitation_cannot_wait_again_until_a_host_allows_it() {
    let mut h = lobby_harness();
    let host = h.join_as("m", "Host", Role::Host);
    let d = h.enter("m", "Dan", Role::Delegate);
    // Someone else with the same (shared) link waits too: the denial turns them away as well.
    let twin = h.enter("m", "Dan", Role::Delegate);
    let id = h.clients[d].id;
    h.send(host, MeetingMessage::Deny { participant: id })
        .unwrap();
    let denied_now: Vec<_> = h
        .disconnects
        .iter()
        .filter(|(_, why)| why.code == CloseCode::Denied)
        .map(|(who, _)| *who)
        .collect();
    assert_eq!(denied_now, vec![id, h.clients[twin].id]);
    assert!(h.events.iter().any(|e| matches!(e,
        SfuEvent::InvitationDenied(_, d) if d.invitation.0 == "inv-Dan" && d.by == "Host")));
    assert!(h.events.iter().any(|e| matches!(e,
        SfuEvent::Record(_, summit_proto::RecordEvent::Denied { invitation: Some(i), by, .. })
            if i == "inv-Dan" && by == "Host")));
    // Hosts see the denial, to allow it again.
    assert!(h.messages_to(host).iter().any(|m| matches!(m,
        ServerMessage::LobbyChanged { denied, .. } if denied.len() == 1 && denied[0].name == "Dan")));
    let identity = h.identity("Dan", Role::Delegate);
    let req = h.request("m", identity.clone(), None);
    assert!(matches!(h.sfu.join(h.now, req), Err(SfuError::Denied)));
    // A delegate may not allow it; a host may.
    h.skip_lobby = true;
    let other = h.join_as("m", "Other", Role::Delegate);
    h.skip_lobby = false;
    let allow = MeetingMessage::AllowAgain {
        invitation: InvitationId("inv-Dan".into()),
    };
    assert!(h.send(other, allow.clone()).is_err());
    h.send(host, allow).unwrap();
    assert!(h.events.iter().any(|e| matches!(e,
        SfuEvent::Record(_, summit_proto::RecordEvent::AllowedAgain { invitation, .. }) if invitation == "inv-Dan")));
    let req = h.request("m", identity, None);
    let again = h.sfu.join(h.now, req).unwrap();
    assert!(!again.admitted);
}

#[test]
fn one_link_cannot_fill_the_lobby_and_hosts_always_have_seats() {
    let mut h = Harness::with_config(15, |c| {
        c.max_participants = 10;
        c.host_seats = 2;
        c.max_lobby_per_invitation = 3;
    });
    h.skip_lobby = false;
    // One link waits at most three times.
    let leaked = h.identity("Leaked", Role::Delegate);
    for _ in 0..3 {
        let req = h.request("m", leaked.clone(), None);
        assert!(!h.sfu.join(h.now, req).unwrap().admitted);
    }
    let req = h.request("m", leaked.clone(), None);
    assert!(matches!(h.sfu.join(h.now, req), Err(SfuError::LobbyFull)));
    // Fill the meeting with other links, to its limit: the next delegate is refused, a host
    // still enters, up to the seats kept for hosts.
    for n in 0..7 {
        h.enter("m", &format!("D{n}"), Role::Delegate);
    }
    let late = h.identity("Late", Role::Delegate);
    let req = h.request("m", late, None);
    assert!(matches!(h.sfu.join(h.now, req), Err(SfuError::MeetingFull)));
    for n in 0..2 {
        let host = h.identity(&format!("H{n}"), Role::Host);
        let req = h.request("m", host, None);
        assert!(h.sfu.join(h.now, req).unwrap().admitted);
    }
    let host = h.identity("H2", Role::Host);
    let req = h.request("m", host, None);
    assert!(matches!(h.sfu.join(h.now, req), Err(SfuError::MeetingFull)));
}
