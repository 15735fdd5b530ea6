//! Scripts of inputs for the core, one per line, as the core fuzz target and its regression test
//! feed them: participants joining and publishing for real (str0m on both sides), signaling
//! messages of any content, datagrams of any bytes from any participant's address, and time
//! passing. Whatever the script says, the core must not panic; a line that makes no sense is
//! skipped, as a page's nonsense would be refused.
//!
//! ```text
//! join <meeting 0-1> <role: host|delegate|interpreter|observer> [lobby] [e2ee]
//! publish <participant>          a real microphone and camera offer, once per participant
//! send <participant> <json>      any signaling message but `publish` (use the line above)
//! datagram <participant> <hex>   from the participant's publishing address
//! run <ms>                       virtual time passes (at most 2 s a line)
//! close <participant>            the signaling connection closes
//! lost <participant>             the signaling connection drops
//! revoke <participant>           the participant's invitation is revoked
//! ```

use std::time::{Duration, Instant};

use summit_proto::{InvitationId, MeetingMessage, Role};

use crate::Harness;

/// Participants a script may have; more `join` lines are skipped.
const MAX_PARTICIPANTS: usize = 12;
/// Lines read at most.
const MAX_LINES: usize = 200;
/// Virtual time a script may take at most.
const MAX_TIME: Duration = Duration::from_secs(10);
/// Wall time a script may take at most: a fuzzer needs many runs a second.
const MAX_WALL: Duration = Duration::from_secs(5);

/// Runs `script` against a fresh core, and returns the harness as the script left it. Panics
/// only if the core (or str0m under it) does.
pub fn run(script: &[u8]) -> Harness {
    let text = String::from_utf8_lossy(script);
    let mut h = Harness::new(7);
    let mut published = [false; MAX_PARTICIPANTS];
    let started = Instant::now();
    for line in text.lines().take(MAX_LINES) {
        if h.elapsed() > MAX_TIME || started.elapsed() > MAX_WALL {
            break;
        }
        let (op, rest) = line.split_once(' ').unwrap_or((line, ""));
        let (arg, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        let who = arg.parse::<usize>().ok().filter(|i| *i < h.clients.len());
        match (op, who) {
            ("join", _) => join(&mut h, arg, tail),
            ("publish", Some(i)) if !published[i] && !h.clients[i].disconnected => {
                published[i] = true;
                let (sdp, tracks) = h.clients[i].publish_offer();
                let _ = h.send(i, MeetingMessage::Publish { sdp, tracks });
            }
            ("send", Some(i)) => match serde_json::from_str::<MeetingMessage>(tail) {
                // The simulated page answers only the offers it made itself.
                Ok(MeetingMessage::Publish { .. }) | Err(_) => {}
                Ok(msg) => {
                    let _ = h.send(i, msg);
                }
            },
            ("datagram", Some(i)) => {
                if let Some(data) = hex(tail) {
                    let source = h.clients[i].pub_addr;
                    h.inject(source, &data);
                }
            }
            ("run", _) => {
                let ms = arg.parse::<u64>().unwrap_or(0).min(2000);
                h.run(Duration::from_millis(ms));
            }
            ("close", Some(i)) => {
                let (id, now) = (h.clients[i].id, h.now);
                h.clients[i].disconnected = true;
                h.sfu.handle_closed(now, id);
                h.process_outputs();
            }
            ("lost", Some(i)) => {
                let (id, now) = (h.clients[i].id, h.now);
                h.sfu.handle_lost(now, id);
                h.process_outputs();
            }
            ("revoke", Some(i)) => {
                let invitation = InvitationId(format!("inv-p{i}"));
                let now = h.now;
                h.sfu.handle_revoked(now, &invitation);
                h.process_outputs();
            }
            _ => {}
        }
    }
    h
}

/// `join <meeting> <role> [lobby] [e2ee]`.
fn join(h: &mut Harness, meeting: &str, tail: &str) {
    if h.clients.len() >= MAX_PARTICIPANTS {
        return;
    }
    let meeting = if meeting == "1" { "m1" } else { "m0" };
    let mut words = tail.split(' ');
    let role = match words.next() {
        Some("host") => Role::Host,
        Some("interpreter") => Role::Interpreter,
        Some("observer") => Role::Observer,
        _ => Role::Delegate,
    };
    let flags: Vec<&str> = words.collect();
    let n = h.clients.len();
    let mut identity = h.identity(&format!("p{n}"), role);
    identity.skip_lobby = !flags.contains(&"lobby");
    identity.e2ee = flags.contains(&"e2ee");
    if role == Role::Interpreter {
        identity.interprets = "en-fr".parse().ok();
    }
    let _ = h.try_enter_with(meeting, identity);
}

/// Bytes from hex digits (whitespace ignored); `None` if they are not.
fn hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(text, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use summit_proto::{ServerMessage, TrackSource};

    #[test]
    fn a_script_does_what_it_says() {
        let h = super::run(
            b"join 0 host\njoin 0 delegate\npublish 0\npublish 1\nrun 2000\n\
              send 0 {\"type\":\"chat\",\"text\":\"hello\"}\nnonsense\nsend 9 {}\n\
              datagram 1 zz\ndatagram 1 0001\nrun 100\n",
        );
        assert_eq!(h.clients.len(), 2);
        let (a, b) = (&h.clients[0], &h.clients[1]);
        assert!(a
            .received
            .get(&(b.id, TrackSource::Camera))
            .is_some_and(|n| *n > 10));
        assert!(b
            .received
            .get(&(a.id, TrackSource::Microphone))
            .is_some_and(|n| *n > 10));
        assert!(h
            .messages_to(1)
            .iter()
            .any(|m| matches!(m, ServerMessage::Chat { .. })));
    }

    #[test]
    fn hex_reads_pairs_of_digits_only() {
        assert_eq!(super::hex("00 ff10"), Some(vec![0, 255, 16]));
        assert_eq!(super::hex("0"), None);
        assert_eq!(super::hex("zz"), None);
        assert_eq!(super::hex(""), Some(vec![]));
    }
}
