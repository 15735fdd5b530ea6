//! The test build's attacks (`danger-test-attacks`) do what they say, so that the browser tests
//! that rely on them (tests/browser/attacks.test.mjs) test what pages withstand.
#![cfg(feature = "danger-test-attacks")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use summit_core::Attack;
use summit_proto::TrackSource;
use summit_testkit::Harness;

#[test]
fn misroute_sends_the_first_camera_in_the_slot_labelled_for_the_second() {
    let mut h = Harness::with_config(41, |c| c.attacks = vec![Attack::MisrouteVideo]);
    let a = h.join("m", "A");
    let b = h.join("m", "B");
    let c = h.join("m", "C");
    h.run(Duration::from_secs(4));
    let (ib, ic) = (h.clients[b].id, h.clients[c].id);
    // A's slot labelled C's camera carries packets, but they are B's (the client counts them
    // under the label it was given).
    let labelled_c = h.clients[a].got(ic, TrackSource::Camera);
    assert!(labelled_c > 20, "{labelled_c}");
    let from_b: Vec<_> = h
        .decisions
        .iter()
        .filter(|(_, d)| matches!(d, summit_core::Decision::Forwarded { from, source: TrackSource::Camera, to, .. }
            if *from == ib && *to == h.clients[a].id))
        .collect();
    assert!(
        from_b.len() > 2 * 40,
        "B's camera goes to A twice: {}",
        from_b.len()
    );
}
