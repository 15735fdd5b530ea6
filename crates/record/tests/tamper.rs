//! Tampering with a record in any way (change, drop, reorder, truncate, another key) makes
//! verification fail and name the first bad entry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use summit_auth::SigningKey;
use summit_record::{verify, Chain, RecordEvent, RecordFile, SignedHead, VerifyError, FORMAT};

/// A meeting of eight entries; the server signed heads after entries 2, 5 and 7.
fn record(key: &SigningKey) -> (RecordFile, Vec<SignedHead>) {
    let mut chain = Chain::new("summit-1");
    let mut entries = Vec::new();
    let mut heads = Vec::new();
    let joined = |p: u64, name: &str| RecordEvent::Joined {
        participant: p,
        name: name.into(),
        role: "delegate".into(),
        invitation: format!("inv-{p}"),
    };
    let events = [
        RecordEvent::MeetingStarted {},
        joined(1, "Ada"),
        joined(2, "Lin"),
        RecordEvent::Locked {
            locked: true,
            by: "Ada".into(),
        },
        RecordEvent::MutedByHost {
            participant: 2,
            name: "Lin".into(),
            by: "Ada".into(),
        },
        RecordEvent::Left {
            participant: 2,
            name: "Lin".into(),
            reason: "left the meeting".into(),
        },
        RecordEvent::Left {
            participant: 1,
            name: "Ada".into(),
            reason: "left the meeting".into(),
        },
        RecordEvent::MeetingEnded {
            reason: "everyone left".into(),
        },
    ];
    for (i, e) in events.into_iter().enumerate() {
        let at = format!("2026-11-28T10:00:{i:02}.000Z");
        let (_, line, hash) = chain.append(at.clone(), e).unwrap();
        entries.push(line);
        if [2, 5, 7].contains(&i) {
            heads.push(SignedHead::sign(key, "summit-1", i as u64, hash, at).unwrap());
        }
    }
    let file = RecordFile {
        format: FORMAT.into(),
        meeting: "summit-1".into(),
        key: key.verifying_key().to_text(),
        entries,
        heads: heads.clone(),
    };
    (file, heads)
}

fn bad_entry(r: Result<summit_record::Verified, VerifyError>) -> u64 {
    match r {
        Err(VerifyError::BadEntry { index, .. }) => index,
        other => panic!("expected a bad entry, got {other:?}"),
    }
}

#[test]
fn an_intact_record_verifies_with_and_without_a_kept_head() {
    let key = SigningKey::generate().unwrap();
    let (file, heads) = record(&key);
    let v = verify(&file, &key.verifying_key(), None).unwrap();
    assert_eq!((v.entries, v.signed_through), (8, Some(7)));
    let v = verify(&file, &key.verifying_key(), Some(&heads[1])).unwrap();
    assert_eq!(v.kept, Some(5));
    // The Markdown form carries the same record and reads as a timeline.
    let md = file.to_markdown().unwrap();
    assert!(
        md.contains("| 3 | 2026-11-28T10:00:03.000Z | Ada locked the meeting. |"),
        "{md}"
    );
    let back = RecordFile::parse(&md).unwrap();
    assert_eq!(back, file);
    assert!(verify(&back, &key.verifying_key(), None).is_ok());
    assert_eq!(RecordFile::parse(&file.to_json().unwrap()).unwrap(), file);
}

#[test]
fn a_changed_entry_is_named() {
    let key = SigningKey::generate().unwrap();
    let vk = key.verifying_key();
    for i in 0..8 {
        let (mut file, _) = record(&key);
        let line = file.entries[i].clone();
        // Change one character of what happened or when.
        file.entries[i] = if line.contains("Lin") {
            line.replacen("Lin", "Lyn", 1)
        } else {
            line.replacen(":0", ":1", 1)
        };
        assert_ne!(file.entries[i], line);
        assert_eq!(
            bad_entry(verify(&file, &vk, None)),
            i as u64,
            "changed entry {i}"
        );
    }
}

#[test]
fn dropped_and_reordered_entries_are_named() {
    let key = SigningKey::generate().unwrap();
    let vk = key.verifying_key();
    for i in 0..8 {
        let (mut file, _) = record(&key);
        file.entries.remove(i);
        let want = if i == 7 { None } else { Some(i as u64) };
        match verify(&file, &vk, None) {
            Err(VerifyError::BadEntry { index, .. }) => {
                assert_eq!(Some(index), want, "dropped {i}")
            }
            Err(VerifyError::Truncated {
                signed: 7,
                have: Some(6),
            }) => assert_eq!(i, 7),
            other => panic!("dropped {i}: {other:?}"),
        }
    }
    for i in 0..7 {
        let (mut file, _) = record(&key);
        file.entries.swap(i, i + 1);
        assert_eq!(bad_entry(verify(&file, &vk, None)), i as u64, "swapped {i}");
    }
}

#[test]
fn truncation_is_caught_by_the_heads_or_by_a_kept_head() {
    let key = SigningKey::generate().unwrap();
    let vk = key.verifying_key();
    let (mut file, heads) = record(&key);
    file.entries.truncate(6);
    assert_eq!(
        verify(&file, &vk, None),
        Err(VerifyError::Truncated {
            signed: 7,
            have: Some(5)
        })
    );
    // Whoever truncates can drop the later heads too; the head a participant kept still shows it.
    file.heads.truncate(1);
    file.entries.truncate(4);
    assert!(verify(&file, &vk, None).is_ok());
    assert_eq!(
        verify(&file, &vk, Some(&heads[1])),
        Err(VerifyError::Truncated {
            signed: 5,
            have: Some(3)
        })
    );
}

#[test]
fn another_key_or_a_forged_head_fails() {
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let (file, heads) = record(&key);
    assert!(matches!(
        verify(&file, &other.verifying_key(), None),
        Err(VerifyError::BadHead { seq: 2, .. })
    ));
    // A head made with another key for a rewritten chain is refused.
    let forged =
        SignedHead::sign(&other, "summit-1", 5, heads[1].hash, heads[1].at.clone()).unwrap();
    assert!(matches!(
        verify(&file, &key.verifying_key(), Some(&forged)),
        Err(VerifyError::BadHead { seq: 5, .. })
    ));
    let mut foreign = file.clone();
    foreign.format = "something/2".into();
    assert!(matches!(
        verify(&foreign, &key.verifying_key(), None),
        Err(VerifyError::Format(_))
    ));
}
