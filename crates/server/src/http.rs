//! HTTP: the embedded web client, the meeting page and the WebSocket endpoint.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;
use summit_auth::VerifyingKey;
use summit_proto::{MeetingName, MAX_MESSAGE_BYTES};
use tokio::sync::mpsc;

use crate::media::Command;

/// The web client, embedded at build time.
#[derive(RustEmbed)]
#[folder = "../../web/"]
struct Assets;

/// What every request handler shares.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) key: VerifyingKey,
    pub(crate) commands: mpsc::Sender<Command>,
}

impl AppState {
    pub(crate) fn new(key: VerifyingKey, commands: mpsc::Sender<Command>) -> Self {
        Self { key, commands }
    }
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

async fn websocket(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    // Frames a little over the protocol limit still arrive, so the refusal can say why.
    ws.max_message_size(MAX_MESSAGE_BYTES * 4)
        .max_frame_size(MAX_MESSAGE_BYTES * 4)
        .on_upgrade(move |socket| crate::signaling::serve(socket, state))
}
