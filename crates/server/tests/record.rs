//! The meeting record against a running `summit serve`: participants get signed heads, the
//! export verifies offline (JSON and Markdown) with the key `summit key show` prints, any
//! tampering is named, nothing acknowledged is lost when the server is killed, and meetings
//! are found by who took part.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

mod common;
use common::start;
use common::ws::{recv_json, recv_kind, send_json, Ws};

/// The next signed head this connection gets.
async fn head(ws: &mut Ws) -> serde_json::Value {
    recv_kind(ws, "record_head").await["head"].clone()
}

#[tokio::test]
async fn heads_reach_participants_and_the_export_verifies_offline() {
    let server = start();
    server.summit(&["meeting", "create", "rec", "--no-e2ee"]);
    let (token, _) = server.invite("rec", "Ada", &["--role", "host"]);
    let (mut host, _) = server.join_with("rec", &token).await;
    let first = head(&mut host).await;
    assert_eq!(
        (first["meeting"].as_str(), first["seq"].as_u64()),
        (Some("rec"), Some(1))
    );
    let mut lin = server.join("rec", "Lin").await;
    // Lin's page gets the head that covers her own entry.
    let kept = head(&mut lin).await;
    assert_eq!(kept["seq"], 2, "{kept}");
    send_json(
        &mut host,
        serde_json::json!({"type": "lock", "locked": true}),
    )
    .await;
    // The lock is in before Lin leaves (two connections: their order is otherwise free).
    recv_kind(&mut lin, "meeting_locked").await;
    send_json(&mut lin, serde_json::json!({"type": "leave"})).await;
    // The host sees the heads of Lin's join (2) and leave (4; the lock, 3, is not signed).
    assert_eq!(head(&mut host).await["seq"], 2);
    assert_eq!(head(&mut host).await["seq"], 4);
    send_json(&mut host, serde_json::json!({"type": "end_meeting"})).await;
    drop(host);
    let dir = &server.data;
    std::fs::write(dir.join("kept.json"), kept.to_string()).unwrap();
    // The export verifies with the server's record key, and contains Lin's kept head.
    let key_out = server.summit(&["key", "show"]);
    let key = key_out
        .lines()
        .find_map(|l| l.strip_prefix("Record key (checks meeting records offline): "))
        .unwrap()
        .to_owned();
    assert_eq!(key, kept["key"].as_str().unwrap());
    let mut exported = String::new();
    for _ in 0..50 {
        exported = server.summit(&["record", "export", "rec"]);
        if exported.contains("meeting_ended") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::fs::write(dir.join("rec.json"), &exported).unwrap();
    let out = server.summit(&[
        "record",
        "verify",
        "rec.json",
        "--head",
        "kept.json",
        &format!("--key={key}"),
    ]);
    assert!(
        out.contains("OK: the record of 'rec' has 7 entries"),
        "{out}"
    );
    assert!(
        out.contains("contains everything up to the head you kept (entry 2)"),
        "{out}"
    );
    // The Markdown export reads as a timeline and verifies too.
    server.summit(&["record", "export", "rec", "--format", "md", "-o", "rec.md"]);
    let md = std::fs::read_to_string(dir.join("rec.md")).unwrap();
    for line in [
        "Ada locked the meeting.",
        "Lin (delegate, #2) joined",
        "The meeting ended: Ada ended the meeting.",
    ] {
        assert!(md.contains(line), "{line} missing in {md}");
    }
    assert!(server
        .summit(&["record", "verify", "rec.md"])
        .starts_with("OK"));
    // Changing one name in one entry is caught and named.
    let tampered = exported.replacen(r#"\"name\":\"Lin\""#, r#"\"name\":\"Lyn\""#, 1);
    assert_ne!(tampered, exported);
    std::fs::write(dir.join("bad.json"), tampered).unwrap();
    let out = server.summit_output(&["record", "verify", "bad.json", &format!("--key={key}")]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FAILED: entry 2: was changed"), "{err}");
    // Another server's key does not verify it.
    let other = common::start();
    let other_key = other.summit(&["key", "show"]);
    let other_key = other_key
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    // `--key=`: a base64url key may begin with '-', which would read as an option.
    let other_key = format!("--key={other_key}");
    let out = server.summit_output(&["record", "verify", "rec.json", &other_key]);
    assert!(!out.status.success());
    // Meetings are found by who took part; the timeline shows who was present when.
    let list = server.summit(&["meetings", "list", "--with", "lin", "--with", "Ada"]);
    assert!(
        list.starts_with("rec\t") && list.contains("\tstarted ") && list.contains("\tended "),
        "{list}"
    );
    assert_eq!(server.summit(&["meetings", "list", "--with", "Nobody"]), "");
    assert_eq!(
        server.summit(&["meetings", "list", "--since", "2999-01-01"]),
        ""
    );
    let show = server.summit(&["meetings", "show", "rec"]);
    assert!(show.contains("Lin\tdelegate\tfrom "), "{show}");
    assert!(show.contains("Ada locked the meeting."), "{show}");
}

#[tokio::test]
async fn a_killed_server_loses_no_acknowledged_event() {
    let mut server = start();
    let mut a = server.join("crash", "Ada").await;
    let mut b = server.join("crash", "Lin").await;
    // Welcomes arrived: both entries were durable before they were sent.
    send_json(&mut a, serde_json::json!({"type": "ping"})).await;
    assert_eq!(recv_kind(&mut a, "pong").await["type"], "pong");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop((a, b.close(None).await));
    let exported = server.summit(&["record", "export", "crash"]);
    assert!(
        exported.contains(r#"\"name\":\"Ada\""#) && exported.contains(r#"\"name\":\"Lin\""#),
        "{exported}"
    );
    std::fs::write(server.data.join("crash.json"), &exported).unwrap();
    assert!(server
        .summit(&["record", "verify", "crash.json"])
        .starts_with("OK"));
    let _ = recv_json;
}
