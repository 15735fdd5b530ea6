//! Trust, over a real WebSocket against `summit serve`: a link cannot take over a live seat,
//! one link cannot flood the lobby or lock the hosts out, one member cannot make the server
//! amplify what it sends, pages carry security headers, and names and files stay in their place.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

mod common;
use common::ws::{
    closed, message, next_reply, ping_pong, recv_close, recv_json, recv_kind, send_json,
    waiting_list, Reply, Ws,
};
use common::{start, start_with, Server};

/// Everything `ws` receives within `d` (a quiet connection gives nothing).
async fn drain(ws: &mut Ws, d: Duration) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let end = tokio::time::Instant::now() + d;
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(end, ws.next()).await {
        if let Message::Text(t) = m {
            out.push(serde_json::from_str(t.as_str()).unwrap());
        }
    }
    out
}

/// Joins with `token`, presenting `resume` (a resume token) if given.
async fn join_resume(server: &Server, token: &str, resume: Option<&str>) -> (Ws, Reply) {
    let mut ws = server.connect().await;
    let mut join =
        serde_json::json!({"type": "join", "version": 2, "meeting": "m", "invite": token});
    if let Some(r) = resume {
        join["resume_token"] = r.into();
    }
    ws.send(Message::text(join.to_string())).await.unwrap();
    let reply = next_reply(&mut ws).await;
    (ws, reply)
}

#[tokio::test]
async fn a_used_up_link_cannot_take_over_a_live_seat() {
    let server = start();
    let (mut host, mut guest, token, welcome) = server.host_and_admitted_guest("m").await;
    let id = welcome["participant_id"].as_u64().unwrap();
    let resume = welcome["resume_token"].as_str().unwrap().to_owned();
    // 128 bits at least (32 random bytes in base64url here).
    assert!(resume.len() >= 43, "{resume}");

    // Someone else holding the forwarded, used-up link. Version 1's bare participant id is no
    // longer a way back in.
    let mut ws = server.connect().await;
    let old = serde_json::json!({"type": "join", "version": 2, "meeting": "m", "invite": token, "resume": id});
    ws.send(Message::text(old.to_string())).await.unwrap();
    assert_eq!(recv_close(&mut ws).await.0, 4000);
    // Guessed tokens take nothing back; after ten, the address is refused for a while.
    for n in 0..10 {
        let guess = format!("{n:0>43}");
        let (code, reason) = closed(join_resume(&server, &token, Some(&guess)).await.1);
        assert_eq!(code, 4001, "{reason}");
        assert!(reason.contains("used"), "{reason}");
    }
    let (code, reason) = closed(join_resume(&server, &token, Some(&resume)).await.1);
    assert_eq!(code, 4029, "even the right token waits now: {reason}");
    assert!(reason.contains("too many attempts"), "{reason}");

    // The live participant noticed nothing: still served, and nobody saw them leave.
    ping_pong(&mut guest).await;
    let seen = drain(&mut host, Duration::from_millis(500)).await;
    assert!(
        seen.iter().all(|m| m["type"] != "participant_left"),
        "{seen:?}"
    );
    assert!(drain(&mut guest, Duration::from_millis(200))
        .await
        .iter()
        .all(|m| m["type"] == "record_head"));
}

#[tokio::test]
async fn the_right_token_takes_the_seat_back_at_once_and_across_a_restart() {
    let mut server = start();
    let (mut host, mut guest, token, welcome) = server.host_and_admitted_guest("m").await;
    let id = welcome["participant_id"].clone();
    let resume = welcome["resume_token"].as_str().unwrap().to_owned();
    // A network change: the page comes back while its old connection still looks open. The
    // new one takes over at once (no lobby, no use: the link had only one), the old is closed.
    let (_new, reply) = join_resume(&server, &token, Some(&resume)).await;
    let back = message(reply);
    assert_eq!(
        (back["type"].as_str(), &back["participant_id"]),
        (Some("welcome"), &id)
    );
    let (code, reason) = recv_close(&mut guest).await;
    assert_eq!(code, 4010, "{reason}");
    assert!(reason.contains("replaced"), "{reason}");
    let newer = back["resume_token"].as_str().unwrap().to_owned();
    assert_ne!(newer, resume, "a resume rotates the token");
    drop(host.close(None).await);

    // The registry keeps only the token's hash, never the token.
    let kept = |s: &Server| -> Vec<(String, bool)> {
        s.db()
            .prepare("SELECT hash, admitted FROM resume_tokens")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !kept(&server).iter().any(|(_, admitted)| *admitted) {
        assert!(
            Instant::now() < deadline,
            "the admitted session's hash was never kept"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(kept(&server)
        .iter()
        .all(|(h, _)| h.len() == 64 && *h != newer));

    // The server restarts: within the window, the token still brings its holder back past the
    // lobby (admitted before), with the id it had, without a use.
    server.restart();
    let (mut again, reply) = join_resume(&server, &token, Some(&newer)).await;
    let m = message(reply);
    assert_eq!(m["type"], "welcome", "{m}");
    assert_eq!(m["participant_id"], id, "the same id after the restart");
    ping_pong(&mut again).await;
    // Someone new gets an id no one had before the restart.
    let (_new, reply) = server.join_with("m", &server.token("m", "Newcomer")).await;
    let fresh = message(reply)["participant_id"].as_u64().unwrap();
    assert!(
        fresh > id.as_u64().unwrap(),
        "{fresh} repeats an id of the last run"
    );
    // Spent: the same token does not work twice.
    drop(again);
    let (code, _) = closed(join_resume(&server, &token, Some(&newer)).await.1);
    assert_eq!(code, 4001);
}

#[tokio::test]
async fn one_leaked_link_cannot_flood_the_lobby_and_a_denial_blocks_the_link() {
    let server = start();
    let (leaked, leaked_id) = server.invite("m", "Leaked", &[]);
    // Unlimited uses, but at most three wait at once.
    let mut queued = Vec::new();
    for _ in 0..3 {
        let (ws, reply) = server.join_with("m", &leaked).await;
        assert_eq!(message(reply)["type"], "lobby");
        queued.push(ws);
    }
    for _ in 0..20 {
        let (code, reason) = closed(server.join_with("m", &leaked).await.1);
        assert_eq!(code, 4029, "{reason}");
        assert!(
            reason.contains("waiting in the lobby with this invitation"),
            "{reason}"
        );
    }
    // The hosts still get in.
    let (host_token, _) = server.invite("m", "Host", &["--role", "host"]);
    let (mut host, reply) = server.join_with("m", &host_token).await;
    assert_eq!(message(reply)["type"], "welcome");
    let list = waiting_list(&mut host).await;
    assert_eq!(list["waiting"].as_array().unwrap().len(), 3);
    // Denying one denies the link: all three leave, and the link cannot wait again.
    let first = list["waiting"][0]["id"].clone();
    send_json(
        &mut host,
        serde_json::json!({"type": "deny", "participant": first}),
    )
    .await;
    for ws in &mut queued {
        assert_eq!(recv_close(ws).await.0, 4003);
    }
    let (code, reason) = closed(server.join_with("m", &leaked).await.1);
    assert_eq!(code, 4003, "{reason}");
    assert!(reason.contains("allow it again"), "{reason}");
    let denied = loop {
        let m = recv_kind(&mut host, "lobby_changed").await;
        if !m["denied"].as_array().unwrap().is_empty() {
            break m;
        }
    };
    assert_eq!(denied["denied"][0]["invitation"], leaked_id.as_str());
    assert_eq!(denied["denied"][0]["by"], "Host");
    // A host lets it in again; the record names the denial and the allowance.
    let allow = serde_json::json!({"type": "allow_again", "invitation": leaked_id});
    send_json(&mut host, allow).await;
    let (_back, reply) = {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (ws, reply) = server.join_with("m", &leaked).await;
            match reply {
                Reply::Message(_) => break (ws, reply),
                // The host's message may still be on its way.
                Reply::Close(4003, _) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Reply::Close(code, r) => panic!("{code}: {r}"),
            }
        }
    };
    assert_eq!(message(reply)["type"], "lobby");
    let record = server.summit(&["record", "export", "m", "--format", "json"]);
    assert!(
        record.contains(r#"\"event\":\"denied\""#) || record.contains(r#""event":"denied""#),
        "{record}"
    );
    assert!(record.contains(&leaked_id));
    assert!(record.contains("allowed_again"), "{record}");
}

#[tokio::test]
async fn hosts_have_seats_in_a_full_meeting_and_a_leaked_host_link_stays_bounded() {
    let server = start_with(&["--max-participants", "3", "--host-seats", "2"]);
    let mut members = Vec::new();
    for n in 0..3 {
        members.push(server.join("m", &format!("D{n}")).await);
    }
    let (code, _) = closed(server.join_with("m", &server.token("m", "D3")).await.1);
    assert_eq!(code, 4009);
    let (host, _) = server.invite("m", "Host", &["--role", "host"]);
    for _ in 0..2 {
        let (ws, reply) = server.join_with("m", &host).await;
        assert_eq!(message(reply)["type"], "welcome");
        members.push(ws);
    }
    let (code, _) = closed(server.join_with("m", &host).await.1);
    assert_eq!(code, 4009, "the seats for hosts are bounded too");
}

/// A key message from member `me` to each of `to`: 300 bytes for all, 120 for each.
fn rekey(me: u64, to: &[u64]) -> serde_json::Value {
    let keys: serde_json::Map<String, serde_json::Value> = to
        .iter()
        .filter(|t| **t != me)
        .map(|t| (t.to_string(), format!("for-{t}-{}", "k".repeat(110)).into()))
        .collect();
    serde_json::json!({"type": "e2ee", "data": "d".repeat(300), "keys": keys})
}

#[tokio::test]
async fn a_rekey_of_50_fits_the_relay_budget_and_a_flood_is_cut_without_hurting_others() {
    let server = start();
    // One lobby-skipping link for all fifty.
    let token = server.token("m", "Member");
    let mut members = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..50 {
        let (ws, reply) = server.join_with("m", &token).await;
        let w = message(reply);
        ids.push(w["participant_id"].as_u64().unwrap());
        members.push(ws);
    }
    // Everyone rekeys at once (as after a departure): each recipient gets every other's
    // message with only its own entry, and nobody is refused.
    for (ws, me) in members.iter_mut().zip(&ids) {
        send_json(ws, rekey(*me, &ids)).await;
    }
    for (ws, me) in members.iter_mut().zip(&ids) {
        let mut got = 0;
        while got < 49 {
            let m = recv_json(ws).await;
            assert_ne!(m["type"], "error", "{m}");
            if m["type"] == "e2ee" {
                let key = m["key"].as_str().unwrap();
                assert!(key.starts_with(&format!("for-{me}-")), "{key}");
                assert_eq!(m["data"].as_str().unwrap().len(), 300);
                got += 1;
            }
        }
    }

    // One member floods the largest broadcast allowed, as fast as it can.
    let big = serde_json::json!({"type": "e2ee", "data": "x".repeat(4096)}).to_string();
    let start_at = Instant::now();
    let (flooder, rest) = members.split_first_mut().unwrap();
    for _ in 0..90 {
        flooder.send(Message::text(big.clone())).await.unwrap();
    }
    let refusals = drain(flooder, Duration::from_secs(1)).await;
    let limited: Vec<_> = refusals
        .iter()
        .filter(|m| m["code"] == "rate_limited")
        .collect();
    assert!(!limited.is_empty(), "no refusal: {refusals:?}");
    assert!(limited[0]["message"]
        .as_str()
        .unwrap()
        .contains("bytes per second"));
    let secs = start_at.elapsed().as_secs_f64();
    // What reached another member from the flooder: within the burst and the rate.
    let observer = &mut rest[0];
    let got: usize = drain(observer, Duration::from_millis(300))
        .await
        .iter()
        .filter(|m| m["type"] == "e2ee")
        .map(|m| m["data"].as_str().unwrap().len())
        .sum();
    assert!(
        got as f64 <= 256.0 * 1024.0 + 64.0 * 1024.0 * (secs + 0.3),
        "{got} bytes relayed in {secs:.1} s"
    );
    // Nobody else was disconnected.
    for ws in rest.iter_mut() {
        send_json(ws, serde_json::json!({"type": "ping"})).await;
        recv_kind(ws, "pong").await;
    }
}

/// The response head of `GET path`.
async fn head_of(server: &Server, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    text.split("\r\n\r\n").next().unwrap().to_lowercase()
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let server = start();
    for path in [
        "/",
        "/m/some-meeting",
        "/assets/app.js",
        "/assets/e2ee-worker.js",
        "/nope",
    ] {
        let head = head_of(&server, path).await;
        for want in [
            "content-security-policy: default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self';",
            "frame-ancestors 'none'",
            "referrer-policy: no-referrer",
            "x-content-type-options: nosniff",
        ] {
            assert!(head.contains(want), "{path}: no {want} in\n{head}");
        }
        assert!(!head.contains("unsafe-inline"), "{head}");
        // Not over plain HTTP (tls.rs checks HTTPS).
        assert!(!head.contains("strict-transport-security"), "{head}");
    }
}

#[test]
fn meeting_names_that_would_name_other_folders_are_refused() {
    let server = start();
    for bad in [".", "..", ".hidden"] {
        let out = server.summit_output(&["meeting", "create", bad]);
        assert!(!out.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("may not start with '.'"), "{err}");
        let out = server.summit_output(&["invite", "--meeting", bad, "--name", "X"]);
        assert!(!out.status.success(), "{bad} invited");
    }
}

#[tokio::test]
async fn the_data_directory_and_the_registry_are_the_owners_alone() {
    let server = start();
    // Something written: the registry's journal files exist.
    let _ws = server.join("m", "A").await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&server.data), 0o700);
    for f in [
        "summit.db",
        "summit.db-wal",
        "summit.db-shm",
        "invite-signing.key",
        "record-signing.key",
    ] {
        let p = server.data.join(f);
        assert_eq!(
            mode(&p) & 0o077,
            0,
            "{f} is readable by others: {:o}",
            mode(&p)
        );
    }
}

/// The claims of a token, unverified (as the page reads them).
fn claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[tokio::test]
async fn page_invitations_are_single_use_short_recorded_and_die_with_their_host() {
    let server = start();
    let (a_token, _) = server.invite("m", "Ada", &["--role", "host"]);
    let (mut ada, reply) = server.join_with("m", &a_token).await;
    let ada_id = message(reply)["participant_id"].clone();
    let (mut bea, _) = server
        .join_with("m", &server.invite("m", "Bea", &["--role", "host"]).0)
        .await;
    send_json(
        &mut ada,
        serde_json::json!({"type": "invite", "name": "Ivy", "role": "delegate"}),
    )
    .await;
    let inv = recv_kind(&mut ada, "invitation").await;
    let token = inv["token"].as_str().unwrap().to_owned();
    let c = claims(&token);
    assert_eq!(c["uses"], 1);
    assert_eq!(
        c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(),
        2 * 3600
    );
    assert_eq!(
        (c["name"].as_str(), c["role"].as_str()),
        (Some("Ivy"), Some("delegate"))
    );
    let record = server.summit(&["record", "export", "m", "--format", "md"]);
    assert!(record.contains("Ada invited Ivy (delegate)"), "{record}");

    // Ivy enters once; Bea admits her.
    let (mut ivy, reply) = server.join_with("m", &token).await;
    assert_eq!(message(reply)["type"], "lobby");
    let id = waiting_list(&mut bea).await["waiting"][0]["id"].clone();
    send_json(
        &mut bea,
        serde_json::json!({"type": "admit", "participant": id}),
    )
    .await;
    recv_kind(&mut ivy, "welcome").await;
    let (code, _) = closed(server.join_with("m", &token).await.1);
    assert_eq!(code, 4001, "a second entry is refused");

    // Bea removes Ada: Ada's invitation is revoked, and with it the one Ada made. Ivy leaves
    // within a second or so.
    send_json(
        &mut bea,
        serde_json::json!({"type": "remove", "participant": ada_id}),
    )
    .await;
    assert_eq!(recv_close(&mut ada).await.0, 4004);
    let (code, reason) = recv_close(&mut ivy).await;
    assert_eq!(code, 4001, "{reason}");
    assert!(reason.contains("revoked"), "{reason}");
}

#[tokio::test]
async fn the_record_says_who_did_not_come_back_after_a_restart() {
    let mut server = start_with(&["--resume-window", "2s"]);
    let (_host, guest, _token, welcome) = server.host_and_admitted_guest("m").await;
    let id = welcome["participant_id"].as_u64().unwrap();
    drop(guest);
    // Kept (by hash) for a restart: wait until the registry has both sessions.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n: i64 = server
            .db()
            .query_row(
                "SELECT COUNT(*) FROM resume_tokens WHERE admitted",
                [],
                |r| r.get(0),
            )
            .unwrap();
        if n == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "sessions not kept");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.crash_and_restart();
    // Nobody comes back within the window (2 s): the record says so, and the meeting ended.
    let deadline = Instant::now() + Duration::from_secs(10);
    let md = loop {
        let md = server.summit(&["record", "export", "m", "--format", "md"]);
        if md.contains("The meeting ended") || Instant::now() > deadline {
            break md;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(md.contains("The server restarted"), "{md}");
    assert!(
        md.contains(&format!(
            "Guest (#{id}) left: lost in the server's restart."
        )),
        "{md}"
    );
    assert!(
        md.contains("The meeting ended: the server restarted and nobody came back."),
        "{md}"
    );
    let file = server.data.join("m.json");
    std::fs::write(
        &file,
        server.summit(&["record", "export", "m", "--format", "json"]),
    )
    .unwrap();
    let out = server.summit(&["record", "verify", file.to_str().unwrap()]);
    assert!(out.starts_with("OK"), "{out}");
}

/// Someone new with a lobby-skipping link is refused: the meeting is locked.
async fn refused_as_locked(server: &Server, name: &str) {
    let (code, _) = closed(server.join_with("m", &server.token("m", name)).await.1);
    assert_eq!(code, 4005, "{name} was not refused as locked out");
}

/// Waits until the registry keeps meeting m's lock (or no longer does).
async fn lock_kept(server: &Server, kept: bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n: i64 = server
            .db()
            .query_row("SELECT COUNT(*) FROM locks WHERE meeting = 'm'", [], |r| {
                r.get(0)
            })
            .unwrap();
        if (n == 1) == kept {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the registry's lock is not {kept}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_locked_meeting_stays_locked_across_a_crash_and_a_meeting_that_emptied_starts_unlocked() {
    let mut server = start();
    let host_token = server.invite("m", "Host", &["--role", "host"]).0;
    let (mut host, reply) = server.join_with("m", &host_token).await;
    let resume = message(reply)["resume_token"].as_str().unwrap().to_owned();
    send_json(
        &mut host,
        serde_json::json!({"type": "lock", "locked": true}),
    )
    .await;
    recv_kind(&mut host, "meeting_locked").await;
    lock_kept(&server, true).await;
    server.crash_and_restart();
    // A newcomer arriving first after the crash finds it locked.
    refused_as_locked(&server, "Newcomer").await;
    // The host comes back by the token: the welcome says locked.
    let (mut host, reply) = join_resume(&server, &host_token, Some(&resume)).await;
    let w = message(reply);
    assert_eq!(
        (w["type"].as_str(), &w["locked"]),
        (Some("welcome"), &true.into()),
        "{w}"
    );
    refused_as_locked(&server, "Newcomer 2").await;
    // Everyone leaves: the next time the meeting meets, it is open.
    send_json(&mut host, serde_json::json!({"type": "leave"})).await;
    lock_kept(&server, false).await;
    let (_ws, reply) = server.join_with("m", &server.token("m", "Later")).await;
    assert_eq!(message(reply)["type"], "welcome");
}
