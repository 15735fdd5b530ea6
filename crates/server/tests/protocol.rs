//! Signaling protocol against a running `summit serve`: malformed input gets an error reply or a
//! close with a reason, and the server keeps serving everyone else.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Server {
    child: Child,
    url: String,
    data: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

fn start() -> Server {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let data = std::env::temp_dir().join(format!("summit-proto-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut child = Command::new(env!("CARGO_BIN_EXE_summit"))
        .args([
            "--data",
            data.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--udp",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(u) = line.split("Web and signaling: ").nth(1) {
            break u.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, url, data }
}

impl Server {
    fn token(&self, meeting: &str, name: &str) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_summit"))
            .args([
                "--data",
                self.data.to_str().unwrap(),
                "invite",
                "--meeting",
                meeting,
                "--name",
                name,
                "--json",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["url"]
            .as_str()
            .unwrap()
            .split("invite=")
            .nth(1)
            .unwrap()
            .to_owned()
    }

    async fn connect(&self) -> Ws {
        let ws_url = self.url.replace("http://", "ws://") + "/ws";
        tokio_tungstenite::connect_async(ws_url).await.unwrap().0
    }

    /// Connects and joins; returns the socket after `welcome`.
    async fn join(&self, meeting: &str, name: &str) -> Ws {
        let mut ws = self.connect().await;
        let join = serde_json::json!({"type": "join", "version": 1, "meeting": meeting, "invite": self.token(meeting, name)});
        ws.send(Message::text(join.to_string())).await.unwrap();
        let m = recv_json(&mut ws).await;
        assert_eq!(m["type"], "welcome", "{m}");
        ws
    }
}

/// The next JSON message, skipping participant notices.
async fn recv_json(ws: &mut Ws) -> serde_json::Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no message")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("participant_"))
            {
                continue;
            }
            return v;
        }
    }
}

/// The close code and reason the server sends next.
async fn recv_close(ws: &mut Ws) -> (u16, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no close")
        {
            Some(Ok(Message::Close(Some(f)))) => return (f.code.into(), f.reason.to_string()),
            Some(Ok(Message::Close(None))) | None | Some(Err(_)) => {
                panic!("closed without a reason")
            }
            Some(Ok(_)) => continue,
        }
    }
}

async fn ping_pong(ws: &mut Ws) {
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(recv_json(ws).await["type"], "pong");
}

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
        r#"{"type":"join","version":1,"meeting":"m","invite":"x"}"#.to_owned(),
    ];
    for bad in &error_replies {
        ws.send(Message::text(bad.clone())).await.unwrap();
        let m = recv_json(&mut ws).await;
        assert_eq!(m["type"], "error", "for {}: {m}", &bad[..bad.len().min(60)]);
        assert!(m["message"].as_str().is_some_and(|s| !s.is_empty()));
    }
    ping_pong(&mut ws).await;

    // Over 64 KiB: closed with a reason.
    ws.send(Message::text("x".repeat(70_000))).await.unwrap();
    let (code, reason) = recv_close(&mut ws).await;
    assert_eq!(code, 1009);
    assert!(reason.contains("64 KiB"), "{reason}");

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
            r#"{"type":"join","version":1,"meeting":"m","invite":"x.y.z"}"#,
            4001,
        ),
        (
            r#"{"type":"join","version":1,"meeting":"bad name","invite":"x"}"#,
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
    let join = serde_json::json!({"type": "join", "version": 1, "meeting": "m", "invite": server.token("n", "Eve")});
    ws.send(Message::text(join.to_string())).await.unwrap();
    let (code, reason) = recv_close(&mut ws).await;
    assert_eq!(code, 4001);
    assert!(reason.contains("not for this meeting"), "{reason}");
}

#[tokio::test]
async fn ctrl_c_closes_connections_with_a_reason_and_exits() {
    let mut server = start();
    let mut ws = server.join("m", "Ada").await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let (code, reason) = recv_close(&mut ws).await;
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.contains("shutting down"), "{reason}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server still running 5 s after Ctrl-C"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
