//! End-to-end encrypted meetings as the core sees them: key exchange relayed unread among
//! admitted members only, chat accepted only sealed, and one encryption setting per meeting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use summit_core::{Identity, SfuError};
use summit_proto::{ErrorCode, MeetingMessage, Opaque, ParticipantId, Role, ServerMessage};
use summit_testkit::Harness;

fn e2ee_harness() -> Harness {
    let mut h = Harness::new(21);
    h.e2ee = true;
    h
}

/// The e2ee payloads client `i` received, with their senders.
fn relayed(h: &Harness, i: usize) -> Vec<(ParticipantId, String)> {
    h.messages_to(i)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::E2ee { from, data, .. } => Some((*from, data.as_str().to_owned())),
            _ => None,
        })
        .collect()
}

fn e2ee(to: Option<ParticipantId>, data: &str) -> MeetingMessage {
    MeetingMessage::E2ee {
        to,
        data: data.into(),
        keys: BTreeMap::new(),
    }
}

/// The per-recipient entries client `i` received: (sender, entry).
fn entries(h: &Harness, i: usize) -> Vec<(ParticipantId, Option<String>)> {
    h.messages_to(i)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::E2ee { from, key, .. } => {
                Some((*from, key.as_ref().map(|k| k.as_str().to_owned())))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn key_exchange_reaches_members_and_not_the_lobby() {
    let mut h = e2ee_harness();
    let a = h.join_as("m", "A", Role::Host);
    let b = h.join("m", "B");
    h.skip_lobby = false;
    let waiting = h.enter("m", "W", Role::Delegate);
    let (ida, idb, idw) = (h.clients[a].id, h.clients[b].id, h.clients[waiting].id);
    assert!(h
        .messages_to(a)
        .iter()
        .any(|m| matches!(m, ServerMessage::Welcome { e2ee: true, .. })));

    // A broadcast reaches every other member, never the sender or the lobby.
    h.send(a, e2ee(None, "hello-from-a")).unwrap();
    assert_eq!(relayed(&h, b), vec![(ida, "hello-from-a".to_owned())]);
    assert!(relayed(&h, a).is_empty());
    assert!(relayed(&h, waiting).is_empty());
    // A directed message reaches only its recipient.
    h.send(b, e2ee(Some(ida), "key-for-a")).unwrap();
    assert_eq!(relayed(&h, a), vec![(idb, "key-for-a".to_owned())]);
    // Nobody can send keys into the lobby, and the lobby cannot send any.
    assert!(h.send(a, e2ee(Some(idw), "x")).is_err());
    assert!(h.send(waiting, e2ee(None, "x")).is_err());
    assert!(relayed(&h, waiting).is_empty());
    // Oversized or empty payloads are refused.
    assert!(h.send(a, e2ee(None, "")).is_err());
    assert!(h
        .send(
            a,
            e2ee(None, &"x".repeat(summit_proto::MAX_E2EE_DATA_BYTES + 1))
        )
        .is_err());
}

#[test]
fn chat_in_an_encrypted_meeting_must_be_sealed() {
    let mut h = e2ee_harness();
    let a = h.join("m", "A");
    let b = h.join("m", "B");
    let plain = MeetingMessage::Chat {
        text: "in the clear".into(),
        sealed: false,
    };
    let err = h.send(a, plain).unwrap_err();
    assert!(err.to_string().contains("sealed"), "{err}");
    h.send(
        a,
        MeetingMessage::Chat {
            text: "b64-ciphertext".into(),
            sealed: true,
        },
    )
    .unwrap();
    assert!(h.messages_to(b).iter().any(|m| matches!(
        m,
        ServerMessage::Chat(c) if c.sealed && c.text == "b64-ciphertext"
    )));
}

#[test]
fn a_plain_meeting_relays_no_keys_and_takes_no_sealed_chat() {
    let mut h = Harness::new(22);
    let a = h.join("m", "A");
    h.join("m", "B");
    assert!(h
        .messages_to(a)
        .iter()
        .any(|m| matches!(m, ServerMessage::Welcome { e2ee: false, .. })));
    assert!(h.send(a, e2ee(None, "hello")).is_err());
    let sealed = MeetingMessage::Chat {
        text: "x".into(),
        sealed: true,
    };
    assert!(h.send(a, sealed).is_err());
}

#[test]
fn an_invitation_for_the_other_encryption_setting_is_refused() {
    let mut h = e2ee_harness();
    h.join("m", "A");
    let plain = Identity {
        e2ee: false,
        ..h.identity("P", Role::Delegate)
    };
    let req = h.request("m", plain, None);
    let err = h.sfu.join(h.now, req).unwrap_err();
    assert!(matches!(err, SfuError::EncryptionMismatch), "{err}");
}

#[test]
fn a_key_message_gives_each_recipient_only_its_own_entry() {
    let mut h = e2ee_harness();
    let a = h.join("m", "A");
    let b = h.join("m", "B");
    let c = h.join("m", "C");
    let (ida, idb, idc) = (h.clients[a].id, h.clients[b].id, h.clients[c].id);
    let keys = BTreeMap::from([(idb, "for-b".into()), (idc, "for-c".into())]);
    h.send(
        a,
        MeetingMessage::E2ee {
            to: None,
            data: "common".into(),
            keys,
        },
    )
    .unwrap();
    assert_eq!(entries(&h, b), vec![(ida, Some("for-b".to_owned()))]);
    assert_eq!(entries(&h, c), vec![(ida, Some("for-c".to_owned()))]);
    assert_eq!(relayed(&h, c), vec![(ida, "common".to_owned())]);
    // Entries only for members; never oversized.
    let bad = [
        BTreeMap::from([(ParticipantId(999), "x".into())]),
        BTreeMap::from([(ida, "x".into())]),
        BTreeMap::from([(idb, "x".repeat(summit_proto::MAX_E2EE_KEY_BYTES + 1).into())]),
        BTreeMap::from([(idb, Opaque::default())]),
    ];
    for keys in bad {
        let msg = MeetingMessage::E2ee {
            to: None,
            data: "d".into(),
            keys,
        };
        assert!(h.send(a, msg).is_err());
    }
}

/// A key message from `i` to every other member: about what a page sends on a rekey.
fn rekey(h: &Harness, i: usize) -> MeetingMessage {
    let me = h.clients[i].id;
    let keys = h
        .clients
        .iter()
        .filter(|c| c.id != me && !c.disconnected)
        .map(|c| (c.id, "k".repeat(120).into()))
        .collect();
    MeetingMessage::E2ee {
        to: None,
        data: "d".repeat(300).into(),
        keys,
    }
}

#[test]
fn a_flood_of_key_messages_is_cut_at_the_relay_budget_and_a_rekey_of_50_fits() {
    let mut h = Harness::with_config(23, |c| {
        // Nobody is dropped for silence while the test floods one sender.
        c.heartbeat_timeout = Duration::from_secs(3600);
    });
    h.e2ee = true;
    let members: Vec<usize> = (0..50)
        .map(|n| h.enter("m", &format!("P{n}"), Role::Delegate))
        .collect();
    // Everyone rekeys at once, as after a departure: nothing is refused.
    for &i in &members {
        let msg = rekey(&h, i);
        h.send(i, msg).unwrap();
    }
    // One member floods the largest broadcasts it may: the budget refuses the excess with a
    // clear error, and what the others receive from it stays within the budget.
    let flooder = members[0];
    let big = "x".repeat(summit_proto::MAX_E2EE_DATA_BYTES);
    let (mut sent, mut refused) = (0usize, 0usize);
    let start = h.now;
    for _ in 0..500 {
        match h.send(flooder, e2ee(None, &big)) {
            Ok(()) => sent += big.len(),
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::RateLimited);
                assert!(e.to_string().contains("bytes per second"), "{e}");
                refused += 1;
            }
        }
        h.tick();
    }
    let secs = (h.now - start).as_secs_f64();
    assert!(refused > 300, "only {refused} of 500 refused");
    // Burst plus the sustained rate over the time, less the rekey already spent.
    let allowed = 256.0 * 1024.0 + 64.0 * 1024.0 * secs;
    assert!((sent as f64) <= allowed, "{sent} bytes relayed in {secs} s");
    // The others are still served.
    let other = members[1];
    let msg = rekey(&h, other);
    h.send(other, msg).unwrap();
    assert_eq!(h.sfu.participant_count(), 50);
}
