//! One signaling connection: the join handshake (invitation check at the edge), then JSON
//! messages both ways until either side closes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use summit_auth::Invitation;
use summit_core::Identity;
use summit_proto::{
    ClientMessage, CloseCode, ErrorCode, ServerMessage, MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use tokio::sync::{mpsc, oneshot};

use crate::http::AppState;
use crate::media::{Command, ToClient, CLIENT_QUEUE};

/// Time allowed between connecting and a valid `join`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

enum Incoming {
    Message(ClientMessage),
    /// Not usable; the text says why.
    Invalid(ErrorCode, String),
    TooBig,
    Closed,
}

async fn next(ws: &mut WebSocket) -> Incoming {
    loop {
        match ws.recv().await {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Incoming::Closed,
            Some(Ok(Message::Text(t))) => {
                if t.len() > MAX_MESSAGE_BYTES {
                    return Incoming::TooBig;
                }
                return match serde_json::from_str::<ClientMessage>(t.as_str()) {
                    Ok(m) => Incoming::Message(m),
                    Err(e) => Incoming::Invalid(ErrorCode::InvalidMessage, e.to_string()),
                };
            }
            Some(Ok(Message::Binary(b))) => {
                if b.len() > MAX_MESSAGE_BYTES {
                    return Incoming::TooBig;
                }
                return Incoming::Invalid(
                    ErrorCode::InvalidMessage,
                    "binary messages are not used".into(),
                );
            }
            Some(Ok(_)) => continue,
        }
    }
}

async fn close(mut ws: WebSocket, code: CloseCode, reason: &str) {
    // A close reason is at most 123 bytes.
    let mut reason = reason.to_owned();
    while reason.len() > 120 {
        reason.pop();
    }
    let _ = ws
        .send(Message::Close(Some(CloseFrame {
            code: code.code(),
            reason: Utf8Bytes::from(reason),
        })))
        .await;
}

async fn send(ws: &mut WebSocket, msg: &ServerMessage) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => ws.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

/// Serves one WebSocket until it closes.
pub(crate) async fn serve(mut ws: WebSocket, state: AppState) {
    // 1. The first message must be a valid `join`.
    let first = match tokio::time::timeout(JOIN_TIMEOUT, next(&mut ws)).await {
        Err(_) => return close(ws, CloseCode::ProtocolError, "no join message in time").await,
        Ok(m) => m,
    };
    let (version, meeting, invite) = match first {
        Incoming::Message(ClientMessage::Join {
            version,
            meeting,
            invite,
        }) => (version, meeting, invite),
        Incoming::Closed => return,
        Incoming::TooBig => return close(ws, CloseCode::TooBig, "message over 64 KiB").await,
        Incoming::Invalid(_, why) => {
            return close(
                ws,
                CloseCode::ProtocolError,
                &format!("the first message must be a valid join: {why}"),
            )
            .await
        }
        Incoming::Message(_) => {
            return close(
                ws,
                CloseCode::ProtocolError,
                "the first message must be join",
            )
            .await
        }
    };
    if version != PROTOCOL_VERSION {
        let why = format!("protocol version {version} is not supported (this server speaks {PROTOCOL_VERSION}); reload the page");
        return close(ws, CloseCode::UnsupportedVersion, &why).await;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let invitation = match Invitation::verify(&invite, &state.key, &meeting, now) {
        Ok(i) => i,
        Err(e) => {
            tracing::info!(%meeting, "invitation refused: {e:?}");
            return close(ws, CloseCode::InvitationRefused, &e.to_string()).await;
        }
    };
    let identity = Identity {
        capabilities: invitation.capabilities(),
        name: invitation.claims.name,
        role: invitation.claims.role,
    };
    let (to_client, mut from_sfu) = mpsc::channel(CLIENT_QUEUE);
    let (reply, joined) = oneshot::channel();
    let join = Command::Join {
        meeting,
        identity,
        to_client,
        reply,
    };
    if state.commands.send(join).await.is_err() {
        return close(ws, CloseCode::GoingAway, "the server is shutting down").await;
    }
    let id = tokio::select! {
        r = joined => match r {
            Ok(id) => id,
            Err(_) => {
                let why = match from_sfu.try_recv() {
                    Ok(ToClient::Close(_, why)) => why,
                    _ => "could not join".to_owned(),
                };
                return close(ws, CloseCode::Refused, &why).await;
            }
        },
    };
    // 2. Relay both ways.
    loop {
        tokio::select! {
            out = from_sfu.recv() => match out {
                Some(ToClient::Message(m)) => {
                    if !send(&mut ws, &m).await { break; }
                }
                Some(ToClient::Close(code, why)) => {
                    return close(ws, code, &why).await;
                }
                None => return close(ws, CloseCode::Refused, "disconnected by the server").await,
            },
            inc = next(&mut ws) => match inc {
                Incoming::Message(m) => {
                    if state.commands.send(Command::Message(id, m)).await.is_err() { break; }
                }
                Incoming::Invalid(code, message) => {
                    if !send(&mut ws, &ServerMessage::Error { code, message }).await { break; }
                }
                Incoming::TooBig => {
                    let _ = state.commands.send(Command::Closed(id)).await;
                    return close(ws, CloseCode::TooBig, "message over 64 KiB").await;
                }
                Incoming::Closed => break,
            },
        }
    }
    let _ = state.commands.send(Command::Closed(id)).await;
}
