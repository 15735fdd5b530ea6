//! HTTP: the embedded web client, the meeting page and the WebSocket endpoint.

use axum::extract::ws::WebSocketUpgrade;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;
use summit_auth::{SigningKey, VerifyingKey};
use summit_proto::MeetingName;
use tokio::sync::mpsc;

use crate::registry::actor::Registry;
use crate::runtime::limits::{ConnectionCounts, Limits, ResumeFailures};
use crate::runtime::mailbox::Command;

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
    pub(crate) registry: Registry,
    pub(crate) limits: Limits,
    pub(crate) connections: ConnectionCounts,
    /// Held by every signaling task; shutdown waits until all are dropped.
    pub(crate) open: mpsc::Sender<()>,
    /// Resume tokens that took nothing back, per address.
    pub(crate) resume_failures: ResumeFailures,
    /// Served over TLS (browsers are then told to use nothing else).
    pub(crate) tls: bool,
    /// How long a lost session can be taken back (after a restart too).
    pub(crate) resume_window: std::time::Duration,
    /// The attacks this test build makes.
    #[cfg(feature = "danger-test-attacks")]
    pub(crate) attacks: Vec<summit_core::Attack>,
}

/// What pages may load and do: only Summit's own scripts, workers and WebSocket, no inline
/// script, never inside another site's frame.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     worker-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Every response carries the security headers; HSTS only over TLS (RFC 6797 ignores it in
/// the clear, and a plain deployment behind a proxy sets its own).
async fn security_headers(
    State(tls): State<bool>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    res
}

pub(crate) fn router(state: AppState) -> Router {
    let tls = state.tls;
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
        .layer(axum::middleware::from_fn_with_state(tls, security_headers))
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
        .on_upgrade(move |socket| crate::runtime::signaling::serve(socket, state, peer.ip()))
}
