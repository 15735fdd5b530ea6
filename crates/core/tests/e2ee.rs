//! End-to-end encrypted meetings as the core sees them: key exchange relayed unread among
//! admitted members only, chat accepted only sealed, and one encryption setting per meeting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use summit_core::{Identity, SfuError};
use summit_proto::{ClientMessage, MeetingName, ParticipantId, Role, ServerMessage};
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
            ServerMessage::E2ee { from, data } => Some((*from, data.clone())),
            _ => None,
        })
        .collect()
}

fn e2ee(to: Option<ParticipantId>, data: &str) -> ClientMessage {
    ClientMessage::E2ee {
        to,
        data: data.into(),
    }
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
            e2ee(None, &"x".repeat(summit_proto::MAX_SEALED_BYTES + 1))
        )
        .is_err());
}

#[test]
fn chat_in_an_encrypted_meeting_must_be_sealed() {
    let mut h = e2ee_harness();
    let a = h.join("m", "A");
    let b = h.join("m", "B");
    let plain = ClientMessage::Chat {
        text: "in the clear".into(),
        sealed: false,
    };
    let err = h.send(a, plain).unwrap_err();
    assert!(err.to_string().contains("sealed"), "{err}");
    h.send(
        a,
        ClientMessage::Chat {
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
    let sealed = ClientMessage::Chat {
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
    let err = h
        .sfu
        .join(h.now, MeetingName::parse("m").unwrap(), plain, None, true)
        .unwrap_err();
    assert!(matches!(err, SfuError::EncryptionMismatch), "{err}");
}
