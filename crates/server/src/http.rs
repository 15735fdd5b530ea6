//! HTTP: the embedded web client, the meeting page and the WebSocket endpoint.

use axum::extract::ws::WebSocketUpgrade;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;
use summit_auth::{SigningKey, VerifyingKey};
use summit_proto::MeetingName;
use tokio::sync::mpsc;

use crate::limits::{ConnectionCounts, Limits};
use crate::media::Command;
use crate::store::Store;

/// The web client, embedded at build time.
#[derive(RustEmbed)]
#[folder = "../../web/"]
struct Assets;

/// What every request handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    /// Verifies invitations.
    pub(crate) key: VerifyingKey,
    /// Signs invitations made from the meeting page, when this server holds the private key.
    pub(crate) signing: Option<Arc<SigningKey>>,
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) store: Store,
    pub(crate) limits: Limits,
    pub(crate) connections: ConnectionCounts,
    /// Held by every signaling task; shutdown waits until all are dropped.
    pub(crate) open: mpsc::Sender<()>,
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| asset("index.html")))
        .route("/m/{meeting}", get(meeting_page))
        .route(
            "/assets/{*path}",
            get(|Path(p): Path<String>| asset_owned(p)),
        )
        .route("/ws", get(websocket))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state)
}

async fn meeting_page(Path(meeting): Path<String>) -> Response {
    if MeetingName::parse(&meeting).is_err() {
        return (StatusCode::NOT_FOUND, "No such meeting link.").into_response();
    }
    asset("meeting.html").await
}

async fn asset_owned(path: String) -> Response {
    asset(&path).await
}

async fn asset(path: &str) -> Response {
    match Assets::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            (
                [
                    (header::CONTENT_TYPE, mime.as_ref().to_owned()),
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
                file.data,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "Not found").into_response(),
    }
}

async fn websocket(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    // Frames a little over the limit still arrive, so the refusal can say why.
    let max = state
        .limits
        .max_message_bytes
        .saturating_mul(4)
        .max(64 * 1024);
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| crate::signaling::serve(socket, state, peer.ip()))
}
