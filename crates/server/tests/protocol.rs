//! Signaling protocol against a running `summit serve`: malformed input gets an error reply or a
//! close with a reason, and the server keeps serving everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::ws::{
    closed, message, next_reply, ping_pong, recv_close, recv_json, recv_kind, send_json,
    waiting_list,
};
use common::{start, start_with, Server};

#[tokio::test]
async fn malformed_signaling_is_answered_and_others_keep_being_served() {
    let server = start();
    let mut bystander = server.join("other-meeting", "Bystander").await;
    let mut peer = server.join("m", "Peer").await;
    let mut ws = server.join("m", "Mallory").await;

    let error_replies = [
        "not json".to_owned(),
        r#"{"type":"teleport"}"#.to_owned(),
        r#"{"type":"chat","text":42}"#.to_owned(),
        r#"{"type":"mute","source":"nose","muted":true}"#.to_owned(),
        r#"{"type":"subscribe_answer","sdp":"v=0"}"#.to_owned(),
        r#"{"type":"publish","sdp":"garbage","tracks":[]}"#.to_owned(),
        serde_json::json!({"type": "publish", "sdp": "x".repeat(50_000), "tracks": []}).to_string(),
        serde_json::json!({"type": "chat", "text": "x".repeat(5000)}).to_string(),
        r#"{"type":"join","version":2,"meeting":"m","invite":"x"}"#.to_owned(),
        r#"{"type":"display","tiles":[{"participant":1,"source":"camera","width":-1,"height":0}]}"#
            .to_owned(),
        r#"{"type":"display","tiles":[{"participant":1,"source":"camera"}]}"#.to_owned(),
        serde_json::json!({"type": "display", "tiles": vec![
            serde_json::json!({"participant": 1, "source": "camera", "width": 1, "height": 1}); 300]})
        .to_string(),
    ];
    for bad in &error_replies {
        ws.send(Message::text(bad.clone())).await.unwrap();
        let m = recv_json(&mut ws).await;
        assert_eq!(m["type"], "error", "for {}: {m}", &bad[..bad.len().min(60)]);
        assert!(m["message"].as_str().is_some_and(|s| !s.is_empty()));
    }
    ping_pong(&mut ws).await;
    // Simulcast layers are checked before the offer is looked at.
    let layers = [
        (
            serde_json::json!([{"rid": "q", "width": 320, "height": 180}, {"rid": "h", "width": 640, "height": 360},
                {"rid": "f", "width": 1280, "height": 720}, {"rid": "x", "width": 1920, "height": 1080}]),
            "at most 3 layers",
        ),
        (
            serde_json::json!([{"rid": "a b", "width": 320, "height": 180}]),
            "bad rid",
        ),
        (
            serde_json::json!([{"rid": "f", "width": 1280, "height": 720}, {"rid": "q", "width": 320, "height": 180}]),
            "lowest to highest",
        ),
        (
            serde_json::json!([{"rid": "q", "width": 99_999, "height": 180}]),
            "16384",
        ),
        (
            serde_json::json!([{"rid": "q", "width": 320, "height": 180}, {"rid": "q", "width": 320, "height": 180}]),
            "each rid at most once",
        ),
    ];
    for (l, why) in layers {
        let msg = serde_json::json!({"type": "publish", "sdp": "v=0",
            "tracks": [{"mid": "0", "source": "camera", "layers": l}]});
        send_json(&mut ws, msg).await;
        let m = recv_json(&mut ws).await;
        assert_eq!(m["type"], "error", "{m}");
        assert!(m["message"].as_str().unwrap().contains(why), "{why}: {m}");
    }
    // Sizes of tiles it does not receive (yet) are no error: reports race renegotiation.
    let display = r#"{"type":"display","tiles":[{"participant":99,"source":"screen","width":640,"height":360}]}"#;
    ws.send(Message::text(display)).await.unwrap();
    ping_pong(&mut ws).await;

    // Over 512 KiB: closed with a reason.
    ws.send(Message::text("x".repeat(600_000))).await.unwrap();
    let (code, reason) = recv_close(&mut ws).await;
    assert_eq!(code, 1009);
    assert!(reason.contains("524288 bytes"), "{reason}");

    // Everyone else is still served, and newcomers still get in.
    ping_pong(&mut peer).await;
    ping_pong(&mut bystander).await;
    let mut late = server.join("m", "Late").await;
    ping_pong(&mut late).await;
}

#[tokio::test]
async fn a_bad_first_message_or_invitation_is_closed_with_a_reason() {
    let server = start();
    let cases = [
        ("{", 4000),
        (r#"{"type":"ping"}"#, 4000),
        (
            r#"{"type":"join","version":99,"meeting":"m","invite":"x"}"#,
            4002,
        ),
        (
            r#"{"type":"join","version":2,"meeting":"m","invite":"x.y.z"}"#,
            4001,
        ),
        (
            r#"{"type":"join","version":2,"meeting":"bad name","invite":"x"}"#,
            4000,
        ),
    ];
    for (first, want) in cases {
        let mut ws = server.connect().await;
        ws.send(Message::text(first)).await.unwrap();
        let (code, reason) = recv_close(&mut ws).await;
        assert_eq!(code, want, "{first}: {reason}");
        assert!(!reason.is_empty());
    }
    // A valid invitation for another meeting than the one joined.
    let mut ws = server.connect().await;
    let join = serde_json::json!({"type": "join", "version": 2, "meeting": "m", "invite": server.token("n", "Eve")});
    ws.send(Message::text(join.to_string())).await.unwrap();
    let (code, reason) = recv_close(&mut ws).await;
    assert_eq!(code, 4001);
    assert!(reason.contains("not for this meeting"), "{reason}");
}

#[tokio::test]
async fn ctrl_c_or_sigterm_closes_connections_with_a_reason_and_exits() {
    for signal in ["-INT", "-TERM"] {
        let mut server = start();
        let mut ws = server.join("m", "Ada").await;
        let pid = server.child.id().to_string();
        assert!(Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success());
        let (code, reason) = recv_close(&mut ws).await;
        assert_eq!(code, 1001, "{signal}: {reason}");
        assert!(reason.contains("shutting down"), "{reason}");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                assert!(status.success(), "{signal}: exit status {status}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "server still running 5 s after kill {signal}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A token signed with this server's key, with claims changed by `f`.
fn forged(
    server: &Server,
    meeting: &str,
    f: impl FnOnce(&mut summit_auth::InvitationClaims),
) -> String {
    let pem = std::fs::read_to_string(server.data.join("invite-signing.key")).unwrap();
    let key = summit_auth::SigningKey::from_pem(&pem).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = summit_auth::InvitationClaims::new(
        meeting.parse().unwrap(),
        "Forger".into(),
        summit_proto::Role::Delegate,
        now,
        3600,
    );
    f(&mut claims);
    claims.sign(&key).unwrap()
}

#[tokio::test]
async fn refused_invitations_say_why_and_reveal_nothing_of_the_meeting() {
    let server = start();
    let mut host = server.join("summit-x", "Secret Host").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let other_key = summit_auth::SigningKey::generate().unwrap();
    let foreign = summit_auth::InvitationClaims::new(
        "summit-x".parse().unwrap(),
        "Mallory".into(),
        summit_proto::Role::Host,
        now,
        3600,
    )
    .sign(&other_key)
    .unwrap();
    let (revoked, revoked_id) = server.invite("summit-x", "Revoked", &["--skip-lobby"]);
    server.summit(&["revoke", &revoked_id]);
    // A genuine token with its claims edited (delegate to host), or re-headed with `none`/HS256.
    let genuine = server.invite("summit-x", "Genuine", &[]).0;
    let parts: Vec<&str> = genuine.split('.').collect();
    let b64 = |v: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v)
    };
    let unb64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let mut claims: serde_json::Value = serde_json::from_slice(&unb64(parts[1])).unwrap();
    claims["role"] = "host".into();
    let altered = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let hs256 = format!(
        "{}.{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        parts[1],
        parts[2]
    );
    let cases = [
        ("claims altered", altered, "altered"),
        ("alg none", none, "not signed the way Summit signs"),
        ("HS256", hs256, "not signed the way Summit signs"),
        (
            "not yet valid",
            forged(&server, "summit-x", |c| c.nbf = now + 3600),
            "not valid yet",
        ),
        (
            "expired",
            forged(&server, "summit-x", |c| c.exp = now - 3600),
            "expired",
        ),
        ("another key", foreign, "not issued for this server"),
        (
            "another meeting",
            server.token("elsewhere", "Eve"),
            "not for this meeting",
        ),
        ("revoked", revoked, "revoked"),
    ];
    for (what, token, expect) in cases {
        let (code, reason) = closed(server.join_with("summit-x", &token).await.1);
        assert_eq!(code, 4001, "{what}: {reason}");
        assert!(reason.contains(expect), "{what}: {reason}");
        assert!(
            !reason.contains("Secret Host") && !reason.contains("summit-x"),
            "{what} leaks: {reason}"
        );
    }
    ping_pong(&mut host).await;
}

#[tokio::test]
async fn an_invitation_enters_only_as_often_as_it_allows() {
    let server = start();
    let (token, _) = server.invite("m", "Once", &["--uses", "1", "--skip-lobby"]);
    let (mut ws, reply) = server.join_with("m", &token).await;
    assert_eq!(message(reply)["type"], "welcome");
    ws.send(Message::text(r#"{"type":"leave"}"#)).await.unwrap();
    let _ = recv_close(&mut ws).await;
    let (code, reason) = closed(server.join_with("m", &token).await.1);
    assert_eq!(code, 4001);
    assert!(reason.contains("used 1 times"), "{reason}");
}

#[tokio::test]
async fn observers_hand_crafted_publish_and_chat_are_refused() {
    let server = start();
    let (token, _) = server.invite("m", "Watcher", &["--role", "observer", "--skip-lobby"]);
    let (mut ws, reply) = server.join_with("m", &token).await;
    let welcome = message(reply);
    assert_eq!(welcome["can_publish"], false);
    assert_eq!(welcome["can_chat"], false);
    for crafted in [
        r#"{"type":"publish","sdp":"v=0","tracks":[{"mid":"0","source":"camera"}]}"#,
        r#"{"type":"publish","sdp":"v=0","tracks":[{"mid":"0","source":"microphone"}]}"#,
        r#"{"type":"chat","text":"let me in"}"#,
        r#"{"type":"lock","locked":true}"#,
    ] {
        ws.send(Message::text(crafted)).await.unwrap();
        let m = recv_json(&mut ws).await;
        assert_eq!(m["type"], "error", "{crafted}: {m}");
        assert_eq!(m["code"], "not_allowed", "{crafted}: {m}");
    }
}

#[tokio::test]
async fn the_lobby_admits_and_denies_over_the_wire() {
    let server = start();
    let (host_token, _) = server.invite("m", "Host", &["--role", "host"]);
    let (mut host, reply) = server.join_with("m", &host_token).await;
    assert_eq!(message(reply)["type"], "welcome");
    let (mut guest, reply) = server
        .join_with("m", &server.invite("m", "Guest", &[]).0)
        .await;
    let lobby = message(reply);
    assert_eq!(
        (lobby["type"].as_str(), lobby["host_present"].as_bool()),
        (Some("lobby"), Some(true))
    );
    let waiting = waiting_list(&mut host).await;
    assert_eq!(waiting["waiting"][0]["name"], "Guest");
    let guest_id = waiting["waiting"][0]["id"].clone();
    host.send(Message::text(
        serde_json::json!({"type": "admit", "participant": guest_id}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(recv_json(&mut guest).await["type"], "welcome");

    let (mut other, reply) = server
        .join_with("m", &server.invite("m", "Other", &[]).0)
        .await;
    assert_eq!(message(reply)["type"], "lobby");
    let waiting = waiting_list(&mut host).await;
    let other_id = waiting["waiting"][0]["id"].clone();
    host.send(Message::text(
        serde_json::json!({"type": "deny", "participant": other_id}).to_string(),
    ))
    .await
    .unwrap();
    let (code, reason) = recv_close(&mut other).await;
    assert_eq!(code, 4003, "{reason}");
}

#[tokio::test]
async fn lock_end_and_revoke_are_honoured_at_once() {
    let server = start();
    let mut host = server
        .join_with("m", &server.invite("m", "Host", &["--role", "host"]).0)
        .await
        .0;
    let (token, id) = server.invite("m", "Guest", &["--skip-lobby"]);
    let (mut guest, _) = server.join_with("m", &token).await;
    // `summit revoke` while the server runs: the guest is out within a second or so.
    server.summit(&["revoke", &id]);
    let (code, reason) = recv_close(&mut guest).await;
    assert_eq!(code, 4001);
    assert!(reason.contains("revoked"), "{reason}");

    host.send(Message::text(r#"{"type":"lock","locked":true}"#))
        .await
        .unwrap();
    let (code, reason) = closed(server.join_with("m", &server.token("m", "Late")).await.1);
    assert_eq!(code, 4005, "{reason}");
    assert!(reason.contains("locked"), "{reason}");

    host.send(Message::text(r#"{"type":"end_meeting"}"#))
        .await
        .unwrap();
    let (code, _) = recv_close(&mut host).await;
    assert_eq!(code, 4006);
    let (code, reason) = closed(server.join_with("m", &server.token("m", "After")).await.1);
    assert_eq!(code, 4006);
    assert!(reason.contains("ended"), "{reason}");
}

#[tokio::test]
async fn limits_close_with_a_reason_and_spare_the_others() {
    let server = start_with(&["--max-connections-per-ip", "3", "--max-participants", "2"]);
    let mut a = server.join("m", "A").await;
    let _b = server.join("m", "B").await;
    // A third participant: the meeting is full.
    let (code, reason) = closed(server.join_with("m", &server.token("m", "C")).await.1);
    assert_eq!(code, 4009, "{reason}");
    // Connections from this address: a and b, then two more for the one place left. The
    // server takes each place after the WebSocket handshake, so which of the two gets it is a
    // race: the other is refused.
    let mut one = server.connect().await;
    let mut two = server.connect().await;
    let (code, reason) = tokio::select! {
        r = recv_close(&mut one) => r,
        r = recv_close(&mut two) => r,
    };
    assert_eq!(code, 4029, "{reason}");
    ping_pong(&mut a).await;
}

#[tokio::test]
async fn a_message_flood_closes_that_connection_only() {
    let server = start_with(&["--messages-per-second", "1", "--message-burst", "5"]);
    let mut calm = server.join("m", "Calm").await;
    let mut flood = server.join("m", "Flood").await;
    // The burst allows five; the sixth, sent within a second, is one too many.
    for _ in 0..6 {
        flood
            .feed(Message::text(r#"{"type":"ping"}"#))
            .await
            .unwrap();
    }
    flood.flush().await.unwrap();
    let (code, reason) = recv_close(&mut flood).await;
    assert_eq!(code, 4029, "{reason}");
    assert!(reason.contains("too many messages"), "{reason}");
    ping_pong(&mut calm).await;
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn garbage_datagrams_on_the_media_port_leave_the_server_serving() {
    let server = start();
    let mut a = server.join("m", "A").await;
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut seed = 1u64;
    let mut byte = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 56) as u8
    };
    let send_sweep = |byte: &mut dyn FnMut() -> u8| {
        for len in 0..=1500usize {
            for head in [
                &[0x00u8, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42][..],
                &[22, 0xfe, 0xfd],
                &[0x80, 96],
                &[0x80, 200],
                &[],
            ] {
                let mut d: Vec<u8> = (0..len).map(|_| byte()).collect();
                let n = head.len().min(len);
                d[..n].copy_from_slice(&head[..n]);
                let _ = sock.send_to(&d, server.media);
            }
        }
    };
    send_sweep(&mut byte);
    ping_pong(&mut a).await;
    let rss = rss_kib(server.child.id());
    for _ in 0..3 {
        send_sweep(&mut byte);
    }
    ping_pong(&mut a).await;
    let grown = rss_kib(server.child.id()).saturating_sub(rss);
    assert!(
        grown < 8 * 1024,
        "memory grew by {grown} KiB during 22,515 garbage datagrams"
    );
    let mut b = server.join("m", "B").await;
    ping_pong(&mut b).await;
}

#[tokio::test]
async fn a_dropped_connection_resumes_without_the_lobby_or_a_use() {
    let server = start();
    let (_host, guest, token, welcome) = server.host_and_admitted_guest("m").await;
    let id = welcome["participant_id"].clone();
    let resume = welcome["resume_token"].as_str().unwrap().to_owned();
    assert!(resume.len() >= 22, "at least 128 bits: {resume}");
    // The network drops: no close frame, the TCP connection just goes.
    drop(guest);
    let mut ws = server.connect().await;
    let join = serde_json::json!({"type": "join", "version": 2, "meeting": "m", "invite": token, "resume_token": resume});
    ws.send(Message::text(join.to_string())).await.unwrap();
    let m = message(next_reply(&mut ws).await);
    assert_eq!(m["type"], "welcome", "{m}");
    assert_eq!(m["participant_id"], id);
}

#[tokio::test]
async fn meetings_are_end_to_end_encrypted_unless_made_without() {
    let server = start();
    // Default: the link carries a 43-character secret in its fragment, from a private file in
    // the organizer's working directory; the token (what the server sees) does not contain it.
    let out = server.summit(&["invite", "--meeting", "enc", "--name", "A", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["e2ee"], true);
    let url = v["url"].as_str().unwrap();
    let (before, secret) = url.split_once('#').expect("a fragment with the secret");
    assert_eq!(secret.len(), 43, "{url}");
    assert!(!before.contains(secret));
    let file = server.data.join("summit-secrets");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("enc {secret}")), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // A second invitation carries the same secret.
    let again: serde_json::Value = serde_json::from_str(&server.summit(&[
        "invite",
        "--meeting",
        "enc",
        "--name",
        "B",
        "--json",
    ]))
    .unwrap();
    assert!(again["url"].as_str().unwrap().ends_with(secret));
    let mut a = server.join("enc", "A").await;
    let mut b = server.join("enc", "B").await;
    // Key exchange is relayed as is, with the sender's id; plain chat is refused.
    b.send(Message::text(r#"{"type":"e2ee","data":"hello"}"#))
        .await
        .unwrap();
    let m = recv_json(&mut a).await;
    assert_eq!(
        (m["type"].as_str(), m["data"].as_str()),
        (Some("e2ee"), Some("hello")),
        "{m}"
    );
    a.send(Message::text(r#"{"type":"chat","text":"plain"}"#))
        .await
        .unwrap();
    let m = recv_json(&mut a).await;
    assert_eq!(m["type"], "error", "{m}");

    // --no-e2ee: no secret, a welcome that says so, plain chat.
    let out = server.summit(&["meeting", "create", "open", "--no-e2ee"]);
    assert!(out.contains("not end-to-end encrypted"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&server.summit(&[
        "invite",
        "--meeting",
        "open",
        "--name",
        "C",
        "--skip-lobby",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["e2ee"], false);
    assert!(!v["url"].as_str().unwrap().contains('#'));
    let token = v["url"].as_str().unwrap().split("invite=").nth(1).unwrap();
    let (_, reply) = server.join_with("open", token).await;
    let welcome = message(reply);
    assert_eq!(
        (welcome["type"].as_str(), welcome["e2ee"].as_bool()),
        (Some("welcome"), Some(false))
    );
    let list = server.summit(&["meeting", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with("enc\t") && l.ends_with("\te2ee")),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.starts_with("open\t") && l.ends_with("no e2ee")),
        "{list}"
    );
}

#[tokio::test]
async fn meetings_have_interpretation_channels_and_interpreters_a_pair() {
    let server = start();
    let out = server.summit(&["meeting", "create", "summit-2", "--languages", "ru,zh"]);
    assert!(out.contains("channels added: ru, zh"), "{out}");
    // An interpreter names the pair they work between; the invitation carries it.
    let v: serde_json::Value = serde_json::from_str(&server.summit(&[
        "invite",
        "--meeting",
        "summit-2",
        "--name",
        "Anna",
        "--role",
        "interpreter",
        "--interprets",
        "zh-en",
        "--json",
    ]))
    .unwrap();
    assert_eq!(v["interprets"], "zh-en");
    let list = server.summit(&["meeting", "list"]);
    assert!(
        list.contains("summit-2\t") && list.contains("channels ru,zh,en"),
        "{list}"
    );
    let fails = |args: &[&str]| {
        let out = server.summit_output(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let base = ["invite", "--meeting", "summit-2", "--name", "X"];
    let err = fails(&[&base[..], &["--role", "interpreter"]].concat());
    assert!(err.contains("--interprets"), "{err}");
    let err = fails(&[&base[..], &["--interprets", "ru-zh"]].concat());
    assert!(err.contains("--role interpreter"), "{err}");
    let err = fails(
        &[
            &base[..],
            &["--role", "interpreter", "--interprets", "ru-ru"],
        ]
        .concat(),
    );
    assert!(err.contains("language pair"), "{err}");
    let err = fails(&["meeting", "create", "m3", "--languages", "Russian"]);
    assert!(err.contains("not a language code"), "{err}");
}

#[tokio::test]
async fn interpretation_over_the_wire_from_registry_to_page_invitations() {
    let server = start();
    server.summit(&[
        "meeting",
        "create",
        "bi",
        "--languages",
        "ru,zh",
        "--no-e2ee",
    ]);
    let (token, _) = server.invite("bi", "Host", &["--role", "host"]);
    let (mut host, reply) = server.join_with("bi", &token).await;
    assert_eq!(message(reply)["type"], "welcome");
    // The registry's channels reach the running meeting.
    let st = recv_kind(&mut host, "interpretation").await;
    assert_eq!(st["languages"], serde_json::json!(["ru", "zh"]), "{st}");
    assert_eq!(st["hearing"], serde_json::Value::Null);
    // A page invitation for an interpreter needs the pair, and only an interpreter has one.
    send_json(
        &mut host,
        serde_json::json!({"type": "invite", "name": "Dora", "role": "interpreter"}),
    )
    .await;
    let e = recv_kind(&mut host, "error").await;
    assert!(e["message"].as_str().unwrap().contains("pair"), "{e}");
    send_json(&mut host, serde_json::json!({"type": "invite", "name": "Lin", "role": "delegate", "interprets": "ru-zh"})).await;
    let e = recv_kind(&mut host, "error").await;
    assert!(
        e["message"].as_str().unwrap().contains("interpreter"),
        "{e}"
    );
    send_json(&mut host, serde_json::json!({"type": "invite", "name": "Dora", "role": "interpreter", "interprets": "de-fr"})).await;
    let inv = recv_kind(&mut host, "invitation").await;
    let list = server.summit(&["meeting", "list"]);
    assert!(list.contains("channels ru,zh,de,fr"), "{list}");
    // Dora enters (the host admits her) and sits in the de-fr booth.
    let (mut dora, reply) = server.join_with("bi", inv["token"].as_str().unwrap()).await;
    assert_eq!(message(reply)["type"], "lobby");
    let waiting = waiting_list(&mut host).await;
    let dora_id = waiting["waiting"][0]["id"].clone();
    send_json(
        &mut host,
        serde_json::json!({"type": "admit", "participant": dora_id}),
    )
    .await;
    assert_eq!(recv_json(&mut dora).await["type"], "welcome");
    let st = recv_kind(&mut dora, "interpretation").await;
    assert_eq!(st["booths"][0]["pair"], "de-fr", "{st}");
    assert_eq!(
        st["booths"][0]["interpreters"],
        serde_json::json!([dora_id])
    );
    send_json(&mut dora, serde_json::json!({"type": "take_mic"})).await;
    // The host's states arrive in order: Dora's seat in the booth, then her microphone.
    let mut st = recv_kind(&mut host, "interpretation").await;
    while st["booths"][0]["holder"].is_null() {
        st = recv_kind(&mut host, "interpretation").await;
    }
    assert_eq!(st["booths"][0]["holder"], dora_id, "{st}");
    // Requests outside one's role or pair are refused with a reason; the connection stays.
    send_json(&mut host, serde_json::json!({"type": "take_mic"})).await;
    let e = recv_kind(&mut host, "error").await;
    assert_eq!(e["code"], "not_allowed", "{e}");
    send_json(
        &mut dora,
        serde_json::json!({"type": "set_direction", "into": "ru"}),
    )
    .await;
    let e = recv_kind(&mut dora, "error").await;
    assert!(e["message"].as_str().unwrap().contains("de-fr"), "{e}");
    // A host's new channel is kept in the registry for later entries.
    send_json(
        &mut host,
        serde_json::json!({"type": "add_language", "language": "en"}),
    )
    .await;
    let st = recv_kind(&mut host, "interpretation").await;
    assert!(
        st["languages"].as_array().unwrap().contains(&"en".into()),
        "{st}"
    );
    let mut list = String::new();
    for _ in 0..50 {
        list = server.summit(&["meeting", "list"]);
        if list.contains("channels ru,zh,de,fr,en") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(list.contains("channels ru,zh,de,fr,en"), "{list}");
    // Dora's connection still serves (states she was sent meanwhile come first).
    send_json(&mut dora, serde_json::json!({"type": "ping"})).await;
    recv_kind(&mut dora, "pong").await;
}
