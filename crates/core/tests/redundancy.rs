//! Audio redundancy follows the meeting: RED while every page can receive it, off while one
//! cannot (an encrypted RED payload cannot be unwrapped for it), on again once it left.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use summit_proto::ServerMessage;
use summit_testkit::Harness;

/// What `i` was told about RED: the welcome's flag, then each change, in order.
fn told(h: &Harness, i: usize) -> Vec<bool> {
    h.messages_to(i)
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Welcome {
                audio_redundancy, ..
            } => Some(*audio_redundancy),
            ServerMessage::AudioRedundancy { on } => Some(*on),
            _ => None,
        })
        .collect()
}

#[test]
fn red_while_every_page_receives_it() {
    let mut h = Harness::new(31);
    h.red_pages = true;
    let a = h.join("m", "Chromium A");
    let b = h.join("m", "Chromium B");
    h.run(Duration::from_secs(2));
    assert_eq!(told(&h, a), [true]);
    assert_eq!(told(&h, b), [true]);

    // A page without RED arrives: once its connection says so, everyone is told to stop.
    h.red_pages = false;
    let f = h.join("m", "Firefox");
    h.run(Duration::from_secs(2));
    assert_eq!(told(&h, a), [true, false]);
    assert_eq!(told(&h, b), [true, false]);
    assert_eq!(told(&h, f), [true, false]);

    // It leaves: RED again.
    h.leave(f);
    h.run(Duration::from_secs(1));
    assert_eq!(told(&h, a), [true, false, true]);
    assert_eq!(told(&h, b), [true, false, true]);
}

#[test]
fn a_page_without_red_first_in_turns_it_off_from_its_first_answer() {
    let mut h = Harness::new(32);
    let f = h.join("m", "Firefox");
    h.run(Duration::from_secs(2));
    h.red_pages = true;
    let a = h.join("m", "Chromium");
    h.run(Duration::from_secs(2));
    // Alone, it negotiates its speaker slots at once: its answer shows it has no RED, it is
    // told, and whoever comes later is welcomed with RED off.
    assert_eq!(told(&h, f), [true, false]);
    assert_eq!(told(&h, a), [false]);
}
