//! One signaling connection: the join handshake (invitation and registry checks at the edge),
//! then JSON messages both ways until either side closes.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use summit_auth::{new_resume_token, resume_hash, Invitation, InvitationClaims};
use summit_core::{Identity, JoinRequest, PageInvitation, SfuError};
use summit_proto::{
    Capability, ClientMessage, CloseCode, EdgeMessage, ErrorCode, LanguagePair, MeetingName,
    ResumeToken, Role, ServerMessage, CLOSE_PAGE_RECONNECTING, PROTOCOL_VERSION,
};
use tokio::sync::{mpsc, oneshot};

use crate::runtime::entry::{self, Entry, EntryAsk};
use crate::runtime::http::AppState;
use crate::runtime::limits::{RateLimit, JOIN_TIMEOUT};
use crate::runtime::mailbox::{Command, ConnId, Departure, ToClient, CLIENT_QUEUE};

/// How long an invitation made from the meeting page is valid: long enough to pass it on
/// and use it today, short enough that a forgotten link soon stops working.
const PAGE_INVITE_VALIDITY: Duration = Duration::from_secs(2 * 3600);
/// How many times an invitation made from the meeting page enters: once, by its person.
const PAGE_INVITE_USES: u32 = 1;

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

enum Incoming {
    Message(ClientMessage),
    /// Not usable; the text says why.
    Invalid(ErrorCode, String),
    TooBig,
    /// The connection ended: `by_page` when the page closed it (a close frame), not when it was
    /// lost.
    Closed {
        by_page: bool,
    },
}

async fn next(ws: &mut WebSocket, max: usize) -> Incoming {
    loop {
        match ws.recv().await {
            Some(Ok(Message::Close(frame))) => {
                // A page replacing a connection it lost track of is not leaving.
                let replacing = frame.is_some_and(|f| f.code == CLOSE_PAGE_RECONNECTING);
                return Incoming::Closed {
                    by_page: !replacing,
                };
            }
            None | Some(Err(_)) => return Incoming::Closed { by_page: false },
            Some(Ok(Message::Text(t))) => {
                if t.len() > max {
                    return Incoming::TooBig;
                }
                return match serde_json::from_str::<ClientMessage>(t.as_str()) {
                    Ok(m) => Incoming::Message(m),
                    Err(e) => Incoming::Invalid(ErrorCode::InvalidMessage, e.to_string()),
                };
            }
            Some(Ok(Message::Binary(b))) => {
                if b.len() > max {
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
    // A close reason is at most 123 bytes; cut at a character boundary.
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

fn too_big(max: usize) -> String {
    format!("message over the limit of {max} bytes")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Serves one WebSocket from `ip` until it closes.
pub(crate) async fn serve(mut ws: WebSocket, state: AppState, ip: IpAddr) {
    let _open = state.open.clone();
    let limits = state.limits;
    let Some(_slot) = state.connections.acquire(ip, limits.max_connections_per_ip) else {
        return close(
            ws,
            CloseCode::RateLimited,
            "too many connections from your address",
        )
        .await;
    };
    // 1. The first message must be a valid `join`.
    let first =
        match tokio::time::timeout(JOIN_TIMEOUT, next(&mut ws, limits.max_message_bytes)).await {
            Err(_) => return close(ws, CloseCode::ProtocolError, "no join message in time").await,
            Ok(m) => m,
        };
    let first = match first {
        Incoming::Message(ClientMessage::Edge(m)) => Some(m),
        // Any other message is not a join either: refused below.
        Incoming::Message(_) => None,
        Incoming::Closed { .. } => return,
        Incoming::TooBig => {
            return close(ws, CloseCode::TooBig, &too_big(limits.max_message_bytes)).await
        }
        Incoming::Invalid(_, why) => {
            return close(
                ws,
                CloseCode::ProtocolError,
                &format!("the first message must be a valid join: {why}"),
            )
            .await
        }
    };
    let Some(EdgeMessage::Join {
        version,
        meeting,
        invite,
        resume_token: resume,
        keep_media,
        video_slots,
    }) = first
    else {
        return close(
            ws,
            CloseCode::ProtocolError,
            "the first message must be join",
        )
        .await;
    };
    if version != PROTOCOL_VERSION {
        let why = format!("protocol version {version} is not supported (this server speaks {PROTOCOL_VERSION}); reload the page");
        return close(ws, CloseCode::UnsupportedVersion, &why).await;
    }
    let invitation = match Invitation::verify(&invite, &state.key, &meeting, unix_now()) {
        Ok(i) => i,
        Err(e) => {
            tracing::info!(%meeting, "invitation refused: {e:?}");
            return close(ws, CloseCode::InvitationRefused, &e.to_string()).await;
        }
    };
    let claims = invitation.claims.clone();
    let jti = claims.jti.clone();
    // A resume token takes back only what it was given for; one that fails counts against
    // its address, so that nobody can guess at them. It never appears in a log.
    let resume = match resume {
        Some(t) if t.as_str().len() > ResumeToken::MAX_LEN => {
            return close(
                ws,
                CloseCode::ProtocolError,
                "that resume token is not one of ours",
            )
            .await
        }
        Some(t) if !state.resume_failures.may_try(ip, Instant::now()) => {
            drop(t);
            return close(
                ws,
                CloseCode::RateLimited,
                "too many attempts to resume a session from your address; join without one or wait a minute",
            )
            .await;
        }
        Some(t) => Some(resume_hash(&t)),
        None => None,
    };
    let moderator = invitation.capabilities().has(Capability::Moderate);
    // 2. The registry, in one request: revoked or ended refuse at once. A use is spent now and
    // given back if the join fails or resumes a session; with none left, only a resume may
    // enter.
    let ask = EntryAsk {
        meeting: meeting.clone(),
        invitation: jti.clone(),
        uses: claims.uses,
        resume,
        lobby_applies: !moderator && !claims.skip_lobby,
        now: unix_now(),
        resume_window: state.resume_window.as_secs(),
    };
    let entry = state
        .registry
        .call(move |r| Ok(entry::check_and_spend(r, &ask)))
        .await
        .unwrap_or_else(|e| Err(entry::registry_failed(&e)));
    let Entry {
        restored,
        spent,
        settings,
    } = match entry {
        Ok(entry) => entry,
        Err((code, why)) => return close(ws, code, &why).await,
    };
    let give_back = |state: &AppState| {
        let (registry, invitation) = (state.registry.clone(), jti.0.clone());
        async move {
            if !spent {
                return;
            }
            if let Err(e) = registry.call(move |r| r.give_back(&invitation)).await {
                tracing::error!("could not give back a use: {e:#}");
            }
        }
    };
    let identity = Identity {
        capabilities: invitation.capabilities(),
        name: claims.name.clone(),
        role: claims.role,
        invitation: jti.clone(),
        skip_lobby: claims.skip_lobby,
        e2ee: !claims.no_e2ee,
        interprets: claims.interprets.clone(),
    };
    let Ok(token) = new_resume_token() else {
        give_back(&state).await;
        return close(
            ws,
            CloseCode::Refused,
            "the server could not make a session token; try again",
        )
        .await;
    };
    let conn = ConnId(NEXT_CONN.fetch_add(1, Ordering::Relaxed));
    let (to_client, mut from_sfu) = mpsc::channel(CLIENT_QUEUE);
    let (reply, joined) = oneshot::channel();
    let request = JoinRequest {
        meeting: meeting.clone(),
        identity,
        settings,
        resume,
        keep_media,
        video_slots,
        token_hash: resume_hash(&token),
        token,
        allow_new: spent,
        restored,
    };
    let join = Command::Join {
        conn,
        request: Box::new(request),
        to_client,
        reply,
    };
    if state.commands.send(join).await.is_err() {
        give_back(&state).await;
        return close(ws, CloseCode::GoingAway, "the server is shutting down").await;
    }
    let joined = match joined.await {
        Ok(Ok(j)) => j,
        Ok(Err(e)) => {
            give_back(&state).await;
            if resume.is_some() {
                state.resume_failures.failed(ip, Instant::now());
            }
            let (code, why) = match e {
                SfuError::Locked => (CloseCode::Locked, e.to_string()),
                SfuError::MeetingFull => (CloseCode::MeetingFull, e.to_string()),
                SfuError::Denied => (CloseCode::Denied, e.to_string()),
                SfuError::LobbyFull => (CloseCode::RateLimited, e.to_string()),
                SfuError::EncryptionMismatch => (CloseCode::InvitationRefused, e.to_string()),
                SfuError::NotResumable => {
                    (CloseCode::InvitationRefused, entry::used_up(claims.uses))
                }
                _ => (CloseCode::Refused, e.to_string()),
            };
            return close(ws, code, &why).await;
        }
        Err(_) => {
            give_back(&state).await;
            return close(ws, CloseCode::GoingAway, "the server is shutting down").await;
        }
    };
    if joined.resumed {
        give_back(&state).await;
    } else if resume.is_some() {
        state.resume_failures.failed(ip, Instant::now());
    }
    let id = joined.id;
    // 3. Relay both ways.
    let mut rate = RateLimit::new(&limits, Instant::now());
    // Unless the page closes the connection, it was lost: the participant stays, reconnecting.
    let mut how = Departure::Lost;
    loop {
        tokio::select! {
            out = from_sfu.recv() => match out {
                Some(ToClient::Message(m)) => {
                    if !send(&mut ws, &m).await { break; }
                }
                Some(ToClient::Close(code, why)) => {
                    let _ = state.commands.send(Command::Closed(conn, id, Departure::Closed)).await;
                    return close(ws, code, &why).await;
                }
                None => return close(ws, CloseCode::Refused, "disconnected by the server").await,
            },
            inc = next(&mut ws, limits.max_message_bytes) => {
                if !rate.allow(Instant::now()) {
                    let _ = state.commands.send(Command::Closed(conn, id, Departure::Closed)).await;
                    return close(ws, CloseCode::RateLimited, "too many messages; slow down").await;
                }
                match inc {
                    Incoming::Message(ClientMessage::Edge(EdgeMessage::Join { .. })) => {
                        let (code, message) = (ErrorCode::UnexpectedMessage, "already joined".to_owned());
                        if !send(&mut ws, &ServerMessage::Error { code, message }).await { break; }
                    }
                    Incoming::Message(ClientMessage::Edge(EdgeMessage::Invite { name, role, interprets })) => {
                        // Signed here (the key stays at the edge); the core records it and
                        // hands the host the link.
                        match page_invite(&state, &invitation, &meeting, name, role, interprets).await {
                            Ok(made) => {
                                if state.commands.send(Command::Invited(conn, id, Box::new(made))).await.is_err() { break; }
                            }
                            Err((code, message)) => {
                                if !send(&mut ws, &ServerMessage::Error { code, message }).await { break; }
                            }
                        }
                    }
                    Incoming::Message(ClientMessage::Meeting(m)) => {
                        if state.commands.send(Command::Message(conn, id, m)).await.is_err() { break; }
                    }
                    Incoming::Invalid(code, message) => {
                        if !send(&mut ws, &ServerMessage::Error { code, message }).await { break; }
                    }
                    Incoming::TooBig => {
                        let _ = state.commands.send(Command::Closed(conn, id, Departure::Closed)).await;
                        return close(ws, CloseCode::TooBig, &too_big(limits.max_message_bytes)).await;
                    }
                    Incoming::Closed { by_page } => {
                        if by_page { how = Departure::Closed; }
                        break;
                    }
                }
            }
        }
    }
    let _ = state.commands.send(Command::Closed(conn, id, how)).await;
}

/// A host's "Invite" from the meeting page: signed here, at the edge, with the server's key,
/// for one entry within two hours. Why not, when it cannot be made.
async fn page_invite(
    state: &AppState,
    inviter: &Invitation,
    meeting: &MeetingName,
    name: String,
    role: Role,
    interprets: Option<LanguagePair>,
) -> Result<PageInvitation, (ErrorCode, String)> {
    let error = |code, message: &str| Err((code, message.to_owned()));
    if !inviter.capabilities().has(Capability::Moderate) {
        return error(ErrorCode::NotAllowed, "only a host may invite");
    }
    let Some(key) = &state.signing else {
        return error(
            ErrorCode::NotAllowed,
            "this server holds only the public key; ask the organizer for invitations",
        );
    };
    match (&interprets, role) {
        (None, Role::Interpreter) => {
            return error(
                ErrorCode::InvalidMessage,
                "an interpreter works between two languages: give the pair, e.g. ru-zh",
            )
        }
        (Some(_), r) if r != Role::Interpreter => {
            return error(
                ErrorCode::InvalidMessage,
                "only an interpreter has a language pair",
            )
        }
        _ => {}
    }
    if let Some(pair) = &interprets {
        let langs = [pair.a.clone(), pair.b.clone()];
        let m = meeting.clone();
        let added = state
            .registry
            .call(move |r| r.add_languages(&m, &langs))
            .await;
        if let Err(e) = added {
            tracing::error!(%meeting, "cannot record the pair's channels: {e:#}");
        }
    }
    let now = unix_now();
    let mut claims = InvitationClaims::new(
        meeting.clone(),
        name,
        role,
        now,
        PAGE_INVITE_VALIDITY.as_secs(),
    );
    // The invitee joins the same meeting: encrypted if the inviter's is.
    claims.no_e2ee = inviter.claims.no_e2ee;
    claims.interprets = interprets;
    claims.uses = Some(PAGE_INVITE_USES);
    #[cfg(feature = "danger-test-attacks")]
    if state
        .attacks
        .contains(&summit_core::Attack::ForgeInvitation)
    {
        tracing::warn!("attack: signing a page invitation for an unencrypted meeting");
        claims.no_e2ee = true;
        claims.skip_lobby = true;
    }
    match claims.sign(key) {
        Ok(token) => Ok(PageInvitation {
            invitation: claims.jti.clone(),
            name: claims.name,
            role: claims.role,
            uses: claims.uses,
            expires: humantime::format_rfc3339_seconds(
                UNIX_EPOCH + Duration::from_secs(claims.exp),
            )
            .to_string(),
            token,
        }),
        Err(e) => error(ErrorCode::InvalidMessage, &e.to_string()),
    }
}
