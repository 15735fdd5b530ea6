//! Interpretation in the SFU, in virtual time: simulated pages, real str0m connections. What
//! each listener's channel track carries, handovers, a holder dropping, relay, refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use summit_core::{Decision, SfuError};
use summit_proto::{
    InterpretationState, Language, MeetingMessage, ParticipantId, Role, ServerMessage, TrackSource,
};
use summit_testkit::Harness;

fn l(s: &str) -> Language {
    s.parse().unwrap()
}

/// A meeting with a speaker on the floor, a ru-zh booth of two (A holds the microphone), a
/// ru-en interpreter C holding theirs, a listener on zh, one on en and one on the floor.
struct Summit {
    h: Harness,
    speaker: usize,
    a: usize,
    b: usize,
    c: usize,
    zh: usize,
    en: usize,
    floor: usize,
}

impl Summit {
    fn new() -> Self {
        let mut h = Harness::new(7);
        let speaker = h.join_as("summit", "Speaker", Role::Host);
        let a = h.join_interpreter("summit", "A", "ru-zh");
        let b = h.join_interpreter("summit", "B", "ru-zh");
        let c = h.join_interpreter("summit", "C", "ru-en");
        let zh = h.join("summit", "Listener zh");
        let en = h.join("summit", "Listener en");
        let floor = h.join("summit", "Listener floor");
        h.send(a, MeetingMessage::TakeMic {}).unwrap();
        h.send(c, MeetingMessage::TakeMic {}).unwrap();
        listen(&mut h, zh, Some("zh"));
        listen(&mut h, en, Some("en"));
        h.run(Duration::from_secs(3));
        Self {
            h,
            speaker,
            a,
            b,
            c,
            zh,
            en,
            floor,
        }
    }

    fn id(&self, i: usize) -> ParticipantId {
        self.h.clients[i].id
    }

    /// Audio packets forwarded from `from` to `to` after `since`.
    fn audio(&self, from: usize, to: usize, since: Duration) -> usize {
        let (from, to) = (self.id(from), self.id(to));
        self.h
            .decisions
            .iter()
            .filter(|(at, d)| {
                *at >= since
                    && matches!(d, Decision::Forwarded { from: f, to: t, source: TrackSource::Microphone, .. }
                        if *f == from && *t == to)
            })
            .count()
    }

    /// The latest interpretation state client `i` was sent.
    fn state(&self, i: usize) -> InterpretationState {
        self.h
            .messages_to(i)
            .into_iter()
            .rev()
            .find_map(|m| match m {
                ServerMessage::Interpretation(s) => Some(s.clone()),
                _ => None,
            })
            .expect("an interpretation state")
    }

    fn offers_to(&self, i: usize) -> usize {
        self.h
            .messages_to(i)
            .iter()
            .filter(|m| matches!(m, ServerMessage::SubscribeOffer { .. }))
            .count()
    }
}

fn listen(h: &mut Harness, i: usize, channel: Option<&str>) {
    let channel = channel.map(l);
    h.send(i, MeetingMessage::Listen { channel }).unwrap();
}

/// The channel's sequence numbers run on by one, with no gap and no repeat.
fn assert_continuous(seqs: &[u64]) {
    for w in seqs.windows(2) {
        assert_eq!(w[1], w[0] + 1, "channel sequence jumps: {seqs:?}");
    }
}

#[test]
fn listeners_get_the_floor_and_only_the_channel_they_picked() {
    let s = Summit::new();
    let t0 = Duration::ZERO;
    let (a, b, c) = (s.a, s.b, s.c);
    // The zh listener: the speaker on the floor and A on the channel, nothing of C.
    assert!(s.h.clients[s.zh].got(s.id(s.speaker), TrackSource::Microphone) > 50);
    assert!(s.audio(a, s.zh, t0) > 50, "zh listener hears A");
    assert_eq!(s.audio(c, s.zh, t0), 0, "no English interpretation to zh");
    assert_eq!(s.audio(b, s.zh, t0), 0, "B does not hold the microphone");
    assert!(s.h.clients[s.zh].channel_seqs.len() > 50);
    assert_continuous(&s.h.clients[s.zh].channel_seqs);
    // Interpreters never reach anyone as a track of their own, except their booth partner.
    for i in [s.zh, s.en, s.floor, s.speaker] {
        for int in [a, b, c] {
            assert_eq!(s.h.clients[i].got(s.id(int), TrackSource::Microphone), 0);
        }
        assert_eq!(s.h.clients[i].unmapped, 0);
    }
    // The floor listener receives no interpretation at all.
    for int in [a, b, c] {
        assert_eq!(s.audio(int, s.floor, t0), 0);
    }
    assert!(s.h.clients[s.floor].channel_mid.is_none());
    assert!(s.h.clients[s.floor].got(s.id(s.speaker), TrackSource::Microphone) > 50);
    // The en listener hears C; A and B hear each other on the booth line, the floor, not C.
    assert!(s.audio(c, s.en, t0) > 50);
    assert_eq!(s.audio(a, s.en, t0), 0);
    assert!(s.h.clients[b].got(s.id(a), TrackSource::Microphone) > 50);
    assert!(s.h.clients[a].got(s.id(b), TrackSource::Microphone) > 50);
    assert!(s.h.clients[a].got(s.id(s.speaker), TrackSource::Microphone) > 50);
    assert_eq!(s.h.clients[a].got(s.id(c), TrackSource::Microphone), 0);
    // The host sees who holds which booth.
    let st = s.state(s.speaker);
    let holders: Vec<(String, Option<ParticipantId>)> = st
        .booths
        .iter()
        .map(|b| (b.pair.to_string(), b.holder))
        .collect();
    assert_eq!(
        holders,
        [
            ("ru-en".to_owned(), Some(s.id(c))),
            ("ru-zh".to_owned(), Some(s.id(a)))
        ]
    );
    assert_eq!(s.state(s.zh).hearing, Some(l("zh")));
    assert_eq!(s.state(s.floor).hearing, None);
}

#[test]
fn a_handover_switches_the_channel_at_once_without_renegotiation() {
    let mut s = Summit::new();
    let offers = s.offers_to(s.zh);
    let before = s.h.clients[s.zh].channel_seqs.len();
    s.h.send(s.a, MeetingMessage::HandOver { to: s.id(s.b) })
        .unwrap();
    let at = s.h.elapsed();
    s.h.run(Duration::from_secs(2));
    // Nothing of A after the handover; B from the next packet on (audio is 50 packets/s).
    assert_eq!(s.audio(s.a, s.zh, at), 0);
    let first_b = s
        .h
        .decisions
        .iter()
        .find(|(t, d)| {
            *t >= at && matches!(d, Decision::Forwarded { from, to, .. } if *from == s.id(s.b) && *to == s.id(s.zh))
        })
        .map(|(t, _)| *t - at)
        .expect("B reaches the zh listener");
    assert!(
        first_b <= Duration::from_millis(25),
        "switch took {first_b:?}"
    );
    assert!(s.audio(s.b, s.zh, at) > 80);
    // One continuous track: no new offer, no gap in sequence numbers across the switch.
    assert_eq!(s.offers_to(s.zh), offers);
    let seqs = &s.h.clients[s.zh].channel_seqs;
    assert!(seqs.len() > before + 80);
    assert_continuous(seqs);
    assert_eq!(s.state(s.speaker).booths[1].holder, Some(s.id(s.b)));
    // A hears B now on the booth line, as before.
    assert!(s.h.clients[s.a].got(s.id(s.b), TrackSource::Microphone) > 100);
}

#[test]
fn the_lease_returns_when_the_holder_drops_and_the_partner_takes_it() {
    let mut s = Summit::new();
    // A's network dies: no heartbeats. The server notices at its heartbeat timeout.
    s.h.clients[s.a].silent = true;
    let a_id = s.id(s.a);
    let mut dropped_at = None;
    for _ in 0..30_000 {
        s.h.tick();
        if s.h.disconnects.iter().any(|(id, _)| *id == a_id) {
            dropped_at = Some(s.h.elapsed());
            break;
        }
    }
    let dropped_at = dropped_at.expect("A's silence is noticed");
    // The lease is free at once: the state every page got when A's connection was lost says
    // so. A stays in the booth, reconnecting, in case they come back.
    let st = s.state(s.b);
    let booth = st
        .booths
        .iter()
        .find(|b| b.pair.to_string() == "ru-zh")
        .unwrap();
    assert_eq!(booth.holder, None);
    assert!(booth.interpreters.contains(&s.id(s.b)) && booth.interpreters.contains(&a_id));
    s.h.send(s.b, MeetingMessage::TakeMic {}).unwrap();
    s.h.run(Duration::from_secs(1));
    assert!(s.audio(s.b, s.zh, dropped_at) > 30);
    assert_continuous(&s.h.clients[s.zh].channel_seqs);
}

#[test]
fn a_closed_connection_frees_the_microphone_too() {
    let mut s = Summit::new();
    s.h.sfu.handle_closed(s.h.now, s.id(s.c));
    s.h.clients[s.c].disconnected = true;
    s.h.process_outputs();
    let st = s.state(s.en);
    assert!(st.booths.iter().all(|b| b.pair.to_string() != "ru-en"));
    assert_eq!(
        st.channels
            .iter()
            .find(|c| c.language == l("en"))
            .unwrap()
            .source,
        None
    );
}

#[test]
fn relay_and_a_listener_switching_channels() {
    let mut s = Summit::new();
    // C interprets from the zh channel (relay) instead of the floor.
    listen(&mut s.h, s.c, Some("zh"));
    let at = s.h.elapsed();
    s.h.run(Duration::from_secs(1));
    assert!(s.audio(s.a, s.c, at) > 30, "C hears A's zh rendition");
    // The zh listener switches to en: C from now on, A no more, on the same track.
    let offers = s.offers_to(s.zh);
    listen(&mut s.h, s.zh, Some("en"));
    let at = s.h.elapsed();
    s.h.run(Duration::from_secs(1));
    assert_eq!(s.audio(s.a, s.zh, at), 0);
    assert!(s.audio(s.c, s.zh, at) > 30);
    assert_eq!(s.offers_to(s.zh), offers);
    // Back to the floor: no interpretation at all.
    listen(&mut s.h, s.zh, None);
    let at = s.h.elapsed();
    s.h.run(Duration::from_secs(1));
    assert_eq!(s.audio(s.c, s.zh, at) + s.audio(s.a, s.zh, at), 0);
    assert!(s.h.clients[s.zh].got(s.id(s.speaker), TrackSource::Microphone) > 100);
}

#[test]
fn the_direction_switches_in_one_request() {
    let mut s = Summit::new();
    // The ru-zh booth turns round: A now speaks into ru; the zh channel falls silent.
    s.h.send(s.a, MeetingMessage::SetDirection { into: l("ru") })
        .unwrap();
    listen(&mut s.h, s.floor, Some("ru"));
    let at = s.h.elapsed();
    s.h.run(Duration::from_secs(1));
    assert_eq!(s.audio(s.a, s.zh, at), 0);
    assert!(s.audio(s.a, s.floor, at) > 30);
    let st = s.state(s.speaker);
    let ru = st.channels.iter().find(|c| c.language == l("ru")).unwrap();
    assert_eq!(ru.source, Some(s.id(s.a)));
}

#[test]
fn interpreters_cannot_leave_their_pair_or_take_a_held_microphone() {
    let mut s = Summit::new();
    let refused = |r: Result<(), SfuError>| {
        let e = r.unwrap_err();
        assert!(matches!(e, SfuError::Interpretation(_)), "{e}");
        e.to_string()
    };
    // Onto a channel not in the invitation.
    let e = refused(s.h.send(s.a, MeetingMessage::SetDirection { into: l("en") }));
    assert!(e.contains("ru-zh"), "{e}");
    // The partner holds it.
    refused(s.h.send(s.b, MeetingMessage::TakeMic {}));
    // A delegate is no interpreter; nobody listens to a channel that does not exist.
    refused(s.h.send(s.zh, MeetingMessage::TakeMic {}));
    refused(s.h.send(
        s.zh,
        MeetingMessage::Listen {
            channel: Some(l("fr")),
        },
    ));
    // A handover to someone outside the booth.
    refused(s.h.send(s.a, MeetingMessage::HandOver { to: s.id(s.c) }));
    // Only hosts add channels.
    let e =
        s.h.send(s.zh, MeetingMessage::AddLanguage { language: l("fr") })
            .unwrap_err();
    assert!(matches!(e, SfuError::NotAllowed(_)));
    s.h.send(s.speaker, MeetingMessage::AddLanguage { language: l("fr") })
        .unwrap();
    assert!(s.state(s.zh).languages.contains(&l("fr")));
    // Nothing of this moved the zh channel off A.
    let at = s.h.elapsed();
    s.h.run(Duration::from_millis(500));
    assert!(s.audio(s.a, s.zh, at) > 10);
    // An interpreter may not publish video (their role), and their microphone stays off the
    // floor whatever they do.
    let (sdp, tracks) = s.h.clients[s.a].publish_offer();
    let e =
        s.h.send(s.a, MeetingMessage::Publish { sdp, tracks })
            .unwrap_err();
    assert!(matches!(e, SfuError::NotAllowed(_)), "{e}");
    assert_eq!(s.audio(s.a, s.floor, Duration::ZERO), 0);
}

#[test]
fn the_channel_follows_an_interpreter_who_publishes_late() {
    let mut h = Harness::new(3);
    let _speaker = h.join_as("m", "Speaker", Role::Host);
    // The interpreter enters and takes the microphone before their page publishes.
    let identity = summit_core::Identity {
        interprets: Some("de-fr".parse().unwrap()),
        ..h.identity("D", Role::Interpreter)
    };
    let d = h.enter_with("m", identity);
    h.send(d, MeetingMessage::TakeMic {}).unwrap();
    let fr = h.join("m", "Listener fr");
    listen(&mut h, fr, Some("fr"));
    h.run(Duration::from_secs(1));
    assert!(h.clients[fr].channel_seqs.is_empty());
    let (sdp, tracks) = h.clients[d].publish_offer_with(false);
    h.send(d, MeetingMessage::Publish { sdp, tracks }).unwrap();
    h.run(Duration::from_secs(2));
    assert!(h.clients[fr].channel_seqs.len() > 30);
}
