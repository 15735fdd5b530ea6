//! The media port under attack: during a live meeting, datagrams of every length from 0 to 1500
//! bytes shaped as STUN, DTLS, RTP, RTCP and random bytes, from unknown addresses and from a peer
//! that completed ICE. No panic, the meeting keeps flowing, state stays bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use summit_proto::TrackSource;
use summit_testkit::Harness;

/// A small deterministic generator, so a failure replays exactly.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u8 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 56) as u8
    }
}

/// `len` bytes shaped as `shape` (0 STUN, 1 DTLS, 2 RTP, 3 RTCP, 4 random).
fn datagram(shape: usize, len: usize, rng: &mut Lcg) -> Vec<u8> {
    let mut d: Vec<u8> = (0..len).map(|_| rng.next()).collect();
    let head: &[u8] = match shape {
        // Binding request with the magic cookie and a plausible length.
        0 => &[
            0x00,
            0x01,
            (len.saturating_sub(20) >> 8) as u8,
            len.saturating_sub(20) as u8,
            0x21,
            0x12,
            0xa4,
            0x42,
        ],
        // DTLS 1.2 handshake record.
        1 => &[22, 0xfe, 0xfd, 0, 0],
        // RTP, VP8-ish payload type.
        2 => &[0x80, 96],
        // RTCP sender report.
        3 => &[0x80, 200],
        _ => &[],
    };
    let n = head.len().min(len);
    d[..n].copy_from_slice(&head[..n]);
    d
}

#[test]
fn garbage_on_the_media_port_does_not_disturb_the_meeting() {
    let mut h = Harness::new(21);
    let a = h.join("m", "A");
    let b = h.join("m", "B");
    let attacker = h.join("m", "Attacker");
    h.run(Duration::from_secs(2));
    let (ida, idb) = (h.clients[a].id, h.clients[b].id);
    let before = (
        h.clients[a].got(idb, TrackSource::Camera),
        h.clients[b].got(ida, TrackSource::Camera),
    );
    let routes = h.sfu.route_count();
    assert_eq!(routes, 6, "two connections per participant");

    let unknown: SocketAddr = "127.0.9.9:9999".parse().unwrap();
    let senders = [
        unknown,
        h.clients[attacker].pub_addr,
        h.clients[attacker].sub_addr,
    ];
    let mut rng = Lcg(7);
    let mut sent_unknown_non_stun = 0u64;
    let dropped_before = h.sfu.dropped();
    for len in 0..=1500usize {
        for shape in 0..5 {
            for (i, from) in senders.iter().enumerate() {
                let d = datagram(shape, len, &mut rng);
                if i == 0 && d.first().is_none_or(|b| *b >= 4) {
                    sent_unknown_non_stun += 1;
                }
                h.inject(*from, &d);
            }
        }
        // Keep the meeting running while the sweep goes on.
        if len % 10 == 0 {
            h.tick();
        }
    }
    h.run(Duration::from_secs(2));

    // DTLS, SRTP and anything else from an address ICE never validated is dropped unread.
    assert!(h.sfu.dropped() - dropped_before >= sent_unknown_non_stun);
    // The meeting kept flowing both ways, and nothing grew.
    let after = (
        h.clients[a].got(idb, TrackSource::Camera),
        h.clients[b].got(ida, TrackSource::Camera),
    );
    assert!(
        after.0 > before.0 + 50 && after.1 > before.1 + 50,
        "{before:?} -> {after:?}"
    );
    assert_eq!(h.sfu.participant_count(), 3);
    assert_eq!(h.sfu.route_count(), routes);
}

#[test]
fn a_genuine_packet_replayed_from_another_address_is_dropped() {
    let mut h = Harness::new(22);
    let a = h.join("m", "A");
    h.join("m", "B");
    h.run(Duration::from_secs(1));
    let from = h.clients[a].pub_addr;
    let captured = h.last_sent_from(from).expect("A sent something").to_vec();
    let before = h.sfu.dropped();
    h.inject("127.0.9.10:5000".parse().unwrap(), &captured);
    if captured.first().is_none_or(|b| *b >= 4) {
        assert_eq!(h.sfu.dropped(), before + 1);
    }
    assert_eq!(h.sfu.route_count(), 4);
}
