//! The loudest speakers in virtual time: meetings of 50 and 100 simulated pages, each hearing
//! only its speaker slots, switched by the RFC 6464 levels their packets carry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use summit_core::Decision;
use summit_proto::{ParticipantId, ServerMessage, TrackSource};
use summit_testkit::Harness;

const LOUD: i8 = -20;
const QUIET: i8 = -127;
const SLOTS: usize = 3;

/// `n` delegates who publish their microphones, everyone quiet.
fn audio_meeting(n: usize, seed: u64) -> Harness {
    let mut h = Harness::new(seed);
    for i in 0..n {
        h.join_audio("summit", &format!("p{i}"));
    }
    h.run(Duration::from_secs(2));
    h
}

fn ids(h: &Harness, who: &[usize]) -> BTreeSet<ParticipantId> {
    who.iter().map(|&i| h.clients[i].id).collect()
}

/// Whose microphone each client received since `from` (by the forwarding decisions).
fn received_since(h: &Harness, from: Duration, to: ParticipantId) -> BTreeSet<ParticipantId> {
    h.decisions
        .iter()
        .filter(|(t, _)| *t >= from)
        .filter_map(|(_, d)| match d {
            Decision::Forwarded {
                from: f,
                source: TrackSource::Microphone,
                to: t,
                ..
            } if *t == to => Some(*f),
            _ => None,
        })
        .collect()
}

/// Every client receives the microphones of `speakers` (but its own) and of no one else, and
/// its page is told so.
fn assert_everyone_hears(h: &Harness, speakers: &BTreeSet<ParticipantId>, since: Duration) {
    for (i, c) in h.clients.iter().enumerate() {
        let mut expected = speakers.clone();
        expected.remove(&c.id);
        let got = received_since(h, since, c.id);
        assert_eq!(got, expected, "client {i} received");
        let told: BTreeSet<ParticipantId> = c.hears().into_iter().collect();
        assert_eq!(told, expected, "client {i} was told");
        assert!(c.hears().len() <= SLOTS);
        for s in &expected {
            assert!(
                c.got(*s, TrackSource::Microphone) > 20,
                "client {i} heard little of {s}"
            );
        }
        // A packet in flight when its slot was freed arrives after the page was told.
        assert!(
            c.unmapped <= 2,
            "client {i} got {} packets on unmapped mids",
            c.unmapped
        );
    }
}

fn speak(h: &mut Harness, who: &[usize], level: i8) {
    for &i in who {
        h.clients[i].level = level;
    }
}

fn three_loudest_reach_everyone(n: usize) {
    let mut h = audio_meeting(n, 7);
    // Nobody spoke: the first three to send hold the places; everyone has at most 3 streams.
    for c in &h.clients {
        assert!(c.hears().len() <= SLOTS);
    }
    let speakers = [n / 5, n / 2, n - 1];
    speak(&mut h, &speakers, LOUD);
    h.run(Duration::from_millis(500));
    let since = h.elapsed();
    h.run(Duration::from_secs(1));
    assert_everyone_hears(&h, &ids(&h, &speakers), since);
    // Nothing goes to anyone but through their slots: per listener, at most three streams.
    let forwarded = h
        .decisions
        .iter()
        .filter(|(t, _)| *t >= since)
        .filter(|(_, d)| matches!(d, Decision::Forwarded { .. }))
        .count();
    // One second of 50 packets from each of 3 speakers to everyone else (allowing for a packet
    // in flight at each end).
    let expected = 3 * (n - 1) * 50;
    assert!(
        forwarded.abs_diff(expected) <= 3 * n * 2,
        "{forwarded} forwarded, about {expected} expected"
    );
}

#[test]
fn fifty_pages_each_hear_the_three_loudest_and_nothing_else() {
    three_loudest_reach_everyone(50);
}

#[test]
fn a_hundred_pages_each_hear_the_three_loudest_and_nothing_else() {
    three_loudest_reach_everyone(100);
}

/// When `who`'s microphone was first forwarded to anyone at or after `since`.
fn first_forwarded(h: &Harness, who: ParticipantId, since: Duration) -> Option<Duration> {
    h.decisions
        .iter()
        .filter(|(t, _)| *t >= since)
        .find(|(_, d)| matches!(d, Decision::Forwarded { from, .. } if *from == who))
        .map(|(t, _)| *t)
}

#[test]
fn a_new_speaker_is_heard_from_the_second_packet_and_a_pause_keeps_the_place() {
    let mut h = audio_meeting(50, 8);
    let [a, b, c, d] = [10, 20, 30, 40];
    speak(&mut h, &[a, b, c], LOUD);
    h.run(Duration::from_secs(1));
    let held = ids(&h, &[a, b, c]);
    // b pauses for 0.8 s while d speaks: every place is held, d waits.
    speak(&mut h, &[b], QUIET);
    speak(&mut h, &[d], LOUD);
    let pause = h.elapsed();
    h.run(Duration::from_millis(800));
    assert_eq!(first_forwarded(&h, h.clients[d].id, pause), None);
    speak(&mut h, &[b], LOUD);
    speak(&mut h, &[d], QUIET);
    h.run(Duration::from_millis(500));
    let since = h.elapsed();
    h.run(Duration::from_millis(500));
    assert_everyone_hears(&h, &held, since);
    // a stops for good; after a second of silence d takes a's place from d's second packet.
    speak(&mut h, &[a], QUIET);
    h.run(Duration::from_millis(1100));
    let start = h.elapsed();
    speak(&mut h, &[d], LOUD);
    h.run(Duration::from_millis(300));
    let heard = first_forwarded(&h, h.clients[d].id, start).expect("d is never heard");
    eprintln!(
        "a new speaker forwarded {:?} after turning loud",
        heard - start
    );
    // Two packets 20 ms apart, plus the simulated network's delay to the server.
    assert!(
        heard - start <= Duration::from_millis(60),
        "d first heard {:?} after starting",
        heard - start
    );
    let since = h.elapsed();
    h.run(Duration::from_millis(500));
    assert_everyone_hears(&h, &ids(&h, &[b, c, d]), since);
}

#[test]
fn a_join_costs_each_member_two_messages_and_no_offer() {
    let mut h = audio_meeting(50, 9);
    speak(&mut h, &[5, 6, 7], LOUD);
    h.run(Duration::from_secs(1));
    let before = h.signals.len();
    let late = h.join_audio("summit", "late");
    h.run(Duration::from_secs(1));
    let late_id = h.clients[late].id;
    for c in h.clients.iter().take(50) {
        let msgs: Vec<&ServerMessage> = h.signals[before..]
            .iter()
            .filter(|(to, _)| *to == c.id)
            .map(|(_, m)| m)
            .collect();
        // "late joined", then "late publishes a microphone".
        assert!(
            msgs.len() <= 2,
            "{} got {} messages: {msgs:?}",
            c.id,
            msgs.len()
        );
        assert!(!msgs
            .iter()
            .any(|m| matches!(m, ServerMessage::SubscribeOffer { .. })));
    }
    // The newcomer hears the three speakers from its first offer on.
    assert_eq!(
        h.clients[late].hears().into_iter().collect::<BTreeSet<_>>(),
        ids(&h, &[5, 6, 7])
    );
    assert!(h.clients[late].got(h.clients[5].id, TrackSource::Microphone) > 20);
    assert!(!h.clients[late].hears().contains(&late_id));
}

/// The dominant speakers the pages were told, in order, with when.
fn dominants(h: &Harness, to: ParticipantId) -> Vec<(usize, ParticipantId)> {
    let mut out: Vec<(usize, ParticipantId)> = Vec::new();
    for (i, (t, m)) in h.signals.iter().enumerate() {
        if let (
            true,
            ServerMessage::ActiveSpeakers {
                dominant: Some(d), ..
            },
        ) = (*t == to, m)
        {
            if out.last().map(|(_, l)| l) != Some(d) {
                out.push((i, *d));
            }
        }
    }
    out
}

#[test]
fn the_dominant_speaker_switches_with_hysteresis() {
    let mut h = audio_meeting(12, 10);
    let listener = h.clients[0].id;
    speak(&mut h, &[3], LOUD);
    h.run(Duration::from_secs(2));
    // 4 interjects for 0.3 s, as loud: 3 stays dominant.
    speak(&mut h, &[4], -5);
    h.run(Duration::from_millis(300));
    speak(&mut h, &[4], QUIET);
    h.run(Duration::from_secs(1));
    let d = dominants(&h, listener);
    assert_eq!(
        d.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        [h.clients[3].id]
    );
    // 3 stops, 4 speaks on: 4 becomes dominant, once.
    speak(&mut h, &[3], QUIET);
    speak(&mut h, &[4], LOUD);
    h.run(Duration::from_secs(3));
    let d = dominants(&h, listener);
    assert_eq!(
        d.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
        [h.clients[3].id, h.clients[4].id]
    );
}

#[test]
fn an_interpreter_is_never_among_the_speakers() {
    let mut h = Harness::new(11);
    for i in 0..4 {
        h.join_audio("summit", &format!("p{i}"));
    }
    let booth = h.join_interpreter("summit", "anna", "ru-zh");
    h.clients[booth].level = 0;
    h.run(Duration::from_secs(2));
    let anna = h.clients[booth].id;
    for c in &h.clients {
        assert!(!c.hears().contains(&anna), "{} hears the interpreter", c.id);
        assert_eq!(c.got(anna, TrackSource::Microphone), 0);
    }
    // Anna hears the floor.
    assert_eq!(h.clients[booth].hears().len(), SLOTS);
}

#[test]
fn a_speaker_who_leaves_frees_the_slot_for_the_next() {
    let mut h = audio_meeting(10, 12);
    speak(&mut h, &[1, 2, 3], LOUD);
    h.run(Duration::from_secs(1));
    h.leave(2);
    speak(&mut h, &[8], LOUD);
    h.run(Duration::from_millis(200));
    let since = h.elapsed();
    h.run(Duration::from_millis(500));
    let speakers = ids(&h, &[1, 3, 8]);
    for (i, c) in h.clients.iter().enumerate().filter(|(i, _)| *i != 2) {
        let mut expected = speakers.clone();
        expected.remove(&c.id);
        assert_eq!(received_since(&h, since, c.id), expected, "client {i}");
    }
}
