//! Prometheus metrics on a listener of their own (127.0.0.1 by default: they reveal meeting
//! activity). Each scrape asks the SFU task for a snapshot; the `prometheus-client` crate
//! writes the text format.

use std::net::SocketAddr;

use crate::runtime::mailbox::MediaMetrics;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::runtime::mailbox::Command;

/// Serves `/metrics` on `listener` until `stop` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    commands: mpsc::Sender<Command>,
    mut stop: watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(commands);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.wait_for(|s| *s).await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!("the metrics listener stopped: {e}");
    }
}

/// Binds the metrics listener.
pub(crate) async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    use anyhow::Context;
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for metrics on {addr}"))
}

async fn scrape(State(commands): State<mpsc::Sender<Command>>) -> Response {
    let (tx, rx) = oneshot::channel();
    if commands.send(Command::Metrics(tx)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    }
    let Ok(m) = rx.await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    };
    match render(&m) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

type Labels = Vec<(String, String)>;

fn gauge(r: &mut Registry, name: &str, help: &str, v: usize) {
    let g: Gauge = Gauge::default();
    g.set(i64::try_from(v).unwrap_or(i64::MAX));
    r.register(name, help, g);
}

fn counter(r: &mut Registry, name: &str, help: &str, v: u64) {
    let c: Counter = Counter::default();
    c.inc_by(v);
    r.register(name, help, c);
}

/// The snapshot in the OpenMetrics text format.
fn render(media: &MediaMetrics) -> Result<String, std::fmt::Error> {
    let m = &media.core;
    let mut r = Registry::with_prefix("summit");
    gauge(
        &mut r,
        "meetings",
        "Meetings with someone in them",
        m.meetings.len(),
    );
    let sum = |f: fn(&summit_core::MeetingMetrics) -> usize| m.meetings.iter().map(f).sum();
    gauge(
        &mut r,
        "participants",
        "Admitted participants",
        sum(|x| x.participants),
    );
    gauge(
        &mut r,
        "waiting",
        "Participants waiting in a lobby",
        sum(|x| x.waiting),
    );
    gauge(&mut r, "tracks", "Published tracks", sum(|x| x.tracks));
    let t = &m.totals;
    counter(
        &mut r,
        "forwarded_packets",
        "RTP packets forwarded to subscribers",
        t.forwarded_packets,
    );
    counter(
        &mut r,
        "forwarded_bytes",
        "RTP payload bytes forwarded to subscribers",
        t.forwarded_bytes,
    );
    counter(
        &mut r,
        "keyframe_requests",
        "Keyframe requests sent to publishers",
        t.keyframe_requests,
    );
    counter(
        &mut r,
        "nacks_sent",
        "NACKs sent to publishers (losses on the way in)",
        t.nacks_sent,
    );
    counter(
        &mut r,
        "nacks_received",
        "NACKs received from subscribers (losses on the way out)",
        t.nacks_received,
    );
    counter(
        &mut r,
        "packets_lost",
        "Packets subscribers reported lost",
        t.packets_lost,
    );
    counter(
        &mut r,
        "dropped_datagrams",
        "Datagrams dropped before reaching a connection",
        m.dropped_datagrams,
    );
    counter(
        &mut r,
        "send_dropped_datagrams",
        "Packets dropped because the media socket's send buffer (or a media TCP connection's queue) was full",
        media.send_drops,
    );
    counter(
        &mut r,
        "media_task_stalls",
        "Turns of the media task over 5 ms, when no packet was forwarded (any cause)",
        media.load.stalls,
    );
    counter(
        &mut r,
        "media_task_registry_stalls",
        "Turns of the media task whose registry work alone took over 5 ms",
        media.load.registry_stalls,
    );
    let longest: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
    longest.set(media.load.longest.as_secs_f64());
    r.register(
        "media_task_longest_turn_seconds",
        "The media task's longest turn since it started",
        longest,
    );
    // Per meeting: rate() of the byte counter is the meeting's bitrate.
    let participants = Family::<Labels, Gauge>::default();
    let bytes = Family::<Labels, Counter>::default();
    let packets = Family::<Labels, Counter>::default();
    for x in &m.meetings {
        let l = vec![("meeting".to_owned(), x.name.as_str().to_owned())];
        participants
            .get_or_create(&l)
            .set(i64::try_from(x.participants).unwrap_or(i64::MAX));
        bytes.get_or_create(&l).inc_by(x.counters.forwarded_bytes);
        packets
            .get_or_create(&l)
            .inc_by(x.counters.forwarded_packets);
    }
    r.register(
        "meeting_participants",
        "Admitted participants per meeting",
        participants,
    );
    r.register(
        "meeting_forwarded_bytes",
        "Payload bytes forwarded per meeting",
        bytes,
    );
    r.register(
        "meeting_forwarded_packets",
        "RTP packets forwarded per meeting",
        packets,
    );
    let mut out = String::new();
    encode(&mut out, &r)?;
    Ok(out)
}
