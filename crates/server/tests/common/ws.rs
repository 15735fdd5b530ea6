//! WebSocket helpers for the integration tests: join, read the next message of a kind, send.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::Server;

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Server {
    /// Connects and sends a join with `token`; returns the socket and the first reply.
    pub(crate) async fn join_with(&self, meeting: &str, token: &str) -> (Ws, Reply) {
        let mut ws = self.connect().await;
        let join =
            serde_json::json!({"type": "join", "version": 2, "meeting": meeting, "invite": token});
        ws.send(Message::text(join.to_string())).await.unwrap();
        let reply = next_reply(&mut ws).await;
        (ws, reply)
    }

    pub(crate) async fn connect(&self) -> Ws {
        let ws_url = self.url.replace("http://", "ws://") + "/ws";
        tokio_tungstenite::connect_async(ws_url).await.unwrap().0
    }

    /// A host in `meeting`, and a guest with a one-use link whom the host admitted from the
    /// lobby: (host, guest, the guest's link token, the guest's welcome).
    pub(crate) async fn host_and_admitted_guest(
        &self,
        meeting: &str,
    ) -> (Ws, Ws, String, serde_json::Value) {
        let host_token = self.invite(meeting, "Host", &["--role", "host"]).0;
        let mut host = self.join_with(meeting, &host_token).await.0;
        let (token, _) = self.invite(meeting, "Guest", &["--uses", "1"]);
        let (mut guest, reply) = self.join_with(meeting, &token).await;
        assert_eq!(message(reply)["type"], "lobby");
        let id = waiting_list(&mut host).await["waiting"][0]["id"].clone();
        send_json(
            &mut host,
            serde_json::json!({"type": "admit", "participant": id}),
        )
        .await;
        let welcome = recv_kind(&mut guest, "welcome").await;
        (host, guest, token, welcome)
    }

    /// Connects and joins; returns the socket after `welcome`.
    pub(crate) async fn join(&self, meeting: &str, name: &str) -> Ws {
        let mut ws = self.connect().await;
        let join = serde_json::json!({"type": "join", "version": 2, "meeting": meeting, "invite": self.token(meeting, name)});
        ws.send(Message::text(join.to_string())).await.unwrap();
        let m = recv_json(&mut ws).await;
        assert_eq!(m["type"], "welcome", "{m}");
        ws
    }
}

/// What the server answered first.
#[derive(Debug)]
pub(crate) enum Reply {
    Message(serde_json::Value),
    Close(u16, String),
}

pub(crate) async fn next_reply(ws: &mut Ws) -> Reply {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no reply")
        {
            Some(Ok(Message::Text(t))) => {
                return Reply::Message(serde_json::from_str(t.as_str()).unwrap())
            }
            Some(Ok(Message::Close(Some(f)))) => {
                return Reply::Close(f.code.into(), f.reason.to_string())
            }
            Some(Ok(_)) => continue,
            other => panic!("connection ended without a reason: {other:?}"),
        }
    }
}

/// The next JSON message, whatever it is.
pub(crate) async fn recv_any(ws: &mut Ws) -> serde_json::Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no message")
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// The next JSON message, skipping notices (participants' comings and goings, record heads,
/// who speaks, and the offer of a page's speaker slots, which these pages never answer).
pub(crate) async fn recv_json(ws: &mut Ws) -> serde_json::Value {
    loop {
        let v = recv_any(ws).await;
        let notice = v["type"].as_str().is_some_and(|t| {
            t.starts_with("participant_")
                || [
                    "record_head",
                    "active_speakers",
                    "speaker_slots",
                    "subscribe_offer",
                ]
                .contains(&t)
        });
        if !notice {
            return v;
        }
    }
}

/// The close code and reason the server sends next.
pub(crate) async fn recv_close(ws: &mut Ws) -> (u16, String) {
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

pub(crate) async fn ping_pong(ws: &mut Ws) {
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(recv_json(ws).await["type"], "pong");
}

/// The next message of `kind`, skipping others.
pub(crate) async fn recv_kind(ws: &mut Ws, kind: &str) -> serde_json::Value {
    loop {
        let m = recv_any(ws).await;
        if m["type"] == kind {
            return m;
        }
    }
}

pub(crate) async fn send_json(ws: &mut Ws, v: serde_json::Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next `lobby_changed` that names someone waiting.
pub(crate) async fn waiting_list(host: &mut Ws) -> serde_json::Value {
    loop {
        let m = recv_json(host).await;
        if m["type"] == "lobby_changed" && m["waiting"].as_array().is_some_and(|w| !w.is_empty()) {
            return m;
        }
    }
}

/// The close a reply was; panics if it was a message.
pub(crate) fn closed(reply: Reply) -> (u16, String) {
    match reply {
        Reply::Close(code, reason) => (code, reason),
        Reply::Message(m) => panic!("expected a close, got {m}"),
    }
}

/// The message a reply was; panics if it was a close.
pub(crate) fn message(reply: Reply) -> serde_json::Value {
    match reply {
        Reply::Message(m) => m,
        Reply::Close(code, reason) => panic!("closed {code}: {reason}"),
    }
}
