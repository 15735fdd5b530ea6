//! Video slots in virtual time: pages that joined with `video_slots` receive the cameras their
//! `view` shows through that many m-lines, whoever joins, leaves, or turns a camera on or off,
//! and a join costs the others no offer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use summit_core::Decision;
use summit_proto::{MeetingMessage, ParticipantId, ServerMessage, TrackSource};
use summit_testkit::Harness;

/// Tiles on one gallery page in these tests (a 3 by 3 grid).
const TILES: usize = 9;

/// Pages with video slots, and no bandwidth estimation: a simulated camera sends one layer
/// at full rate, and nine of them are more than the first estimate, so the allocator would
/// rightly pause one (simulcast.rs tests that); here only the routing counts.
fn harness(seed: u64) -> Harness {
    let mut h = Harness::with_config(seed, |c| c.initial_bandwidth = None);
    h.video_slots = true;
    h
}

/// `n` delegates with microphone and camera, on pages with video slots.
fn meeting(n: usize, seed: u64) -> Harness {
    let mut h = harness(seed);
    for i in 0..n {
        h.join("summit", &format!("p{i}"));
    }
    h.run(Duration::from_secs(1));
    h
}

/// Client `i`'s gallery page `page` of [`TILES`]: the others in the order they joined.
fn page_of(h: &Harness, i: usize, page: usize) -> Vec<ParticipantId> {
    let me = h.clients[i].id;
    h.clients
        .iter()
        .filter(|c| c.id != me && !c.disconnected)
        .map(|c| c.id)
        .skip(page * TILES)
        .take(TILES)
        .collect()
}

fn view(h: &mut Harness, i: usize, tiles: Vec<ParticipantId>) {
    let slots = Some(TILES as u32);
    h.send(i, MeetingMessage::View { tiles, slots }).unwrap();
}

/// Whose camera each client received since `since` (by the forwarding decisions).
fn cameras_received(h: &Harness, since: Duration, to: ParticipantId) -> BTreeSet<ParticipantId> {
    h.decisions
        .iter()
        .filter(|(t, _)| *t >= since)
        .filter_map(|(_, d)| match d {
            Decision::Forwarded {
                from,
                source: TrackSource::Camera,
                to: t,
                ..
            } if *t == to => Some(*from),
            _ => None,
        })
        .collect()
}

/// Every client receives exactly the cameras of its view, through [`TILES`] video m-lines, and
/// its page is told which slot carries whom.
fn assert_each_sees(h: &Harness, views: &[Vec<ParticipantId>], since: Duration) {
    for (i, c) in h.clients.iter().enumerate() {
        if c.disconnected {
            continue;
        }
        let want: BTreeSet<ParticipantId> = views[i].iter().copied().collect();
        assert_eq!(
            cameras_received(h, since, c.id),
            want,
            "client {i} received"
        );
        let told: BTreeSet<ParticipantId> = c.sees().into_iter().collect();
        assert_eq!(told, want, "client {i} was told");
        assert_eq!(
            c.video_m_lines,
            TILES + 1,
            "client {i}'s video m-lines (and a screen's)"
        );
        for s in &want {
            assert!(
                c.got(*s, TrackSource::Camera) > 10,
                "client {i} got little of {s}"
            );
        }
    }
}

fn offers_since(h: &Harness, from: usize, to: ParticipantId) -> usize {
    h.signals[from..]
        .iter()
        .filter(|(t, m)| *t == to && matches!(m, ServerMessage::SubscribeOffer { .. }))
        .count()
}

fn each_page_receives_its_slots(n: usize) {
    let mut h = meeting(n, 11);
    let views: Vec<Vec<ParticipantId>> = (0..n).map(|i| page_of(&h, i, 0)).collect();
    for (i, v) in views.iter().enumerate() {
        view(&mut h, i, v.clone());
    }
    h.run(Duration::from_secs(1));
    let since = h.elapsed();
    h.run(Duration::from_secs(1));
    assert_each_sees(&h, &views, since);

    // A join: every member is told of it, and none gets an offer; the newcomer's own offers
    // carry its slots, never a camera each.
    let mark = h.signals.len();
    let newcomer = h.join("summit", "late");
    h.run(Duration::from_secs(1));
    for c in &h.clients[..n] {
        assert_eq!(offers_since(&h, mark, c.id), 0, "{} got an offer", c.id);
        let told = h.signals[mark..].iter().filter(|(t, _)| *t == c.id).count();
        assert!(told <= 4, "{} was sent {told} messages for one join", c.id);
    }
    let late = page_of(&h, newcomer, 0);
    view(&mut h, newcomer, late.clone());
    h.run(Duration::from_secs(1));
    assert_eq!(h.clients[newcomer].video_m_lines, TILES + 1);
    assert!(h.clients[newcomer].offers <= 3, "the newcomer's offers");
    let mut views = views;
    views.push(late);
    // Someone many show leaves: their slots say so, with no offer.
    let mark = h.signals.len();
    let gone = h.clients[0].id;
    h.leave(0);
    h.run(Duration::from_secs(1));
    for (i, c) in h.clients.iter().enumerate().skip(1) {
        assert_eq!(offers_since(&h, mark, c.id), 0, "client {i} got an offer");
        assert!(!c.sees().contains(&gone), "client {i} still shows {gone}");
        views[i].retain(|p| *p != gone);
    }
    let since = h.elapsed();
    h.run(Duration::from_secs(1));
    views[0].clear();
    assert_each_sees(&h, &views, since);
}

#[test]
fn fifty_pages_each_receive_the_nine_cameras_they_show() {
    each_page_receives_its_slots(50);
}

#[test]
fn a_hundred_pages_each_receive_the_nine_cameras_they_show() {
    // 99 and the late joiner: a hundred, the most a meeting seats by default.
    each_page_receives_its_slots(99);
}

#[test]
fn paging_moves_the_slots_without_an_offer() {
    let mut h = meeting(25, 12);
    let first = page_of(&h, 0, 0);
    view(&mut h, 0, first.clone());
    h.run(Duration::from_secs(1));
    let offers = h.clients[0].offers;
    // Page 2: the same nine slots carry the next nine cameras.
    let second = page_of(&h, 0, 1);
    view(&mut h, 0, second.clone());
    h.run(Duration::from_millis(500));
    let since = h.elapsed();
    h.run(Duration::from_secs(1));
    assert_eq!(h.clients[0].offers, offers, "paging needs no offer");
    let me = h.clients[0].id;
    let want: BTreeSet<ParticipantId> = second.iter().copied().collect();
    assert_eq!(cameras_received(&h, since, me), want);
    // A last page of six: three slots idle, still negotiated; back to the first page, none.
    let third = page_of(&h, 0, 2);
    assert_eq!(third.len(), 6);
    view(&mut h, 0, third.clone());
    h.run(Duration::from_millis(500));
    let since = h.elapsed();
    h.run(Duration::from_secs(1));
    let want: BTreeSet<ParticipantId> = third.iter().copied().collect();
    assert_eq!(cameras_received(&h, since, me), want);
    assert_eq!(h.clients[0].sees().len(), 6);
    view(&mut h, 0, first);
    h.run(Duration::from_secs(1));
    assert_eq!(h.clients[0].offers, offers, "paging needs no offer");
    assert_eq!(h.clients[0].video_m_lines, TILES + 1);
}

#[test]
fn a_camera_turned_on_later_takes_its_tile_and_strangers_are_left_out() {
    let mut h = harness(13);
    let a = h.join("summit", "a");
    let b = h.join_audio("summit", "b");
    let stranger = h.join("elsewhere", "s");
    h.run(Duration::from_secs(1));
    let (b_id, s_id) = (h.clients[b].id, h.clients[stranger].id);
    // a shows b (no camera yet) and someone of another meeting: neither is carried.
    view(&mut h, a, vec![b_id, s_id]);
    h.run(Duration::from_secs(1));
    assert!(h.clients[a].sees().is_empty());
    assert_eq!(h.clients[a].got(s_id, TrackSource::Camera), 0);
    let offers = h.clients[a].offers;
    // b turns the camera on: a's slot carries it, with no offer to a.
    h.publish(b);
    h.run(Duration::from_secs(2));
    assert_eq!(h.clients[a].sees(), vec![b_id]);
    assert!(h.clients[a].got(b_id, TrackSource::Camera) > 10);
    assert_eq!(h.clients[a].offers, offers);
    assert_eq!(h.clients[a].got(s_id, TrackSource::Camera), 0);
    // Too many tiles is refused.
    let many = vec![b_id; 26];
    let slots = None;
    assert!(h
        .send(a, MeetingMessage::View { tiles: many, slots })
        .is_err());
    let slots = Some(26);
    assert!(h
        .send(
            a,
            MeetingMessage::View {
                tiles: vec![],
                slots
            }
        )
        .is_err());
}

#[test]
fn a_shared_screen_comes_and_goes_through_the_screen_slot_without_an_offer() {
    let mut h = meeting(6, 14);
    for i in 0..6 {
        let tiles = page_of(&h, i, 0);
        view(&mut h, i, tiles);
    }
    h.run(Duration::from_secs(1));
    let offers: Vec<usize> = h.clients.iter().map(|c| c.offers).collect();
    // One of them shares a screen (a seventh page, its video declared as a screen).
    let sharer = h.enter("summit", "sharer", summit_proto::Role::Delegate);
    h.clients[sharer].shares_screen = true;
    h.publish(sharer);
    h.run(Duration::from_secs(2));
    let sharer_id = h.clients[sharer].id;
    for (i, c) in h.clients.iter().enumerate().take(6) {
        assert_eq!(c.screen(), Some(sharer_id), "client {i}'s screen slot");
        assert!(
            c.got(sharer_id, TrackSource::Screen) > 10,
            "client {i} got little of the screen"
        );
        assert_eq!(
            c.offers, offers[i],
            "client {i} got an offer for the screen"
        );
    }
    // It stops: the slot carries no one, still without an offer.
    h.clients[sharer].shares_screen = false;
    let (sdp, tracks) = h.clients[sharer].publish_offer_with(false);
    h.send(sharer, MeetingMessage::Publish { sdp, tracks })
        .unwrap();
    h.run(Duration::from_secs(1));
    for (i, c) in h.clients.iter().enumerate().take(6) {
        assert_eq!(c.screen(), None, "client {i}'s screen slot");
        assert_eq!(
            c.offers, offers[i],
            "client {i} got an offer when the screen went"
        );
    }
}
