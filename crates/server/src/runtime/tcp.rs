//! ICE over TCP (RFC 6544): the media TCP listener. Pages whose network drops UDP connect to the
//! passive TCP candidate every offer carries. Each connection carries STUN, DTLS, RTP and RTCP
//! as RFC 4571 frames (a 16-bit length, then the packet). A task per connection reads and
//! unframes, handing the SFU task whole batches; the SFU task writes back through a bounded
//! queue per connection, which drops packets when full, as a full UDP buffer would (media
//! over TCP must not wait behind a slow reader).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::runtime::limits::ConnectionCounts;

/// Packets queued towards one connection before more are dropped (about a second of a full
/// meeting's media for one page).
const WRITE_QUEUE: usize = 512;
/// Events queued towards the SFU task.
const EVENT_QUEUE: usize = 1024;
/// Bytes read at once from one connection.
const READ_CHUNK: usize = 16 * 1024;
/// A connection that has sent no frame this long after opening is closed (ICE checks start
/// at once).
const FIRST_FRAME: Duration = Duration::from_secs(10);
/// A connection silent this long is closed (ICE consent checks come every few seconds).
const IDLE: Duration = Duration::from_secs(30);

/// Limits on media TCP connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpLimits {
    /// In all.
    pub(crate) max_connections: usize,
    /// From one address.
    pub(crate) max_per_ip: usize,
}

/// What the connections tell the SFU task.
pub(crate) enum TcpEvent {
    /// A connection opened from this address; packets for it go into this queue.
    Opened(SocketAddr, mpsc::Sender<Vec<u8>>),
    /// Packets arrived on a connection, unframed, in order.
    Packets(SocketAddr, Vec<Vec<u8>>),
    /// The connection closed.
    Closed(SocketAddr),
}

/// The SFU task's side: the events, and the write queue of each open connection.
pub(crate) struct TcpMedia {
    events: mpsc::Receiver<TcpEvent>,
    writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    /// Packets dropped because a connection's queue was full (or it had closed).
    pub(crate) send_drops: u64,
}

impl TcpMedia {
    /// Starts accepting on `listener`.
    pub(crate) fn spawn(listener: TcpListener, limits: TcpLimits) -> Self {
        let (tx, events) = mpsc::channel(EVENT_QUEUE);
        tokio::spawn(accept_loop(listener, limits, tx));
        Self {
            events,
            writers: HashMap::new(),
            send_drops: 0,
        }
    }

    /// The next event; `None` once the listener is gone.
    pub(crate) async fn next(&mut self) -> Option<TcpEvent> {
        self.events.recv().await
    }

    /// Keeps track of connections; returns the packets of a `Packets` event.
    pub(crate) fn handle(&mut self, event: TcpEvent) -> Option<(SocketAddr, Vec<Vec<u8>>)> {
        match event {
            TcpEvent::Opened(from, writer) => {
                self.writers.insert(from, writer);
                None
            }
            TcpEvent::Closed(from) => {
                self.writers.remove(&from);
                None
            }
            TcpEvent::Packets(from, packets) => Some((from, packets)),
        }
    }

    /// Queues one packet towards `to`, framed; dropped (and counted) when the queue is full.
    pub(crate) fn send(&mut self, to: SocketAddr, packet: &[u8]) {
        let Some(w) = self.writers.get(&to) else {
            self.send_drops += 1;
            return;
        };
        let Ok(len) = u16::try_from(packet.len()) else {
            self.send_drops += 1;
            return;
        };
        let mut framed = Vec::with_capacity(packet.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(packet);
        if w.try_send(framed).is_err() {
            self.send_drops += 1;
        }
    }
}

async fn accept_loop(listener: TcpListener, limits: TcpLimits, events: mpsc::Sender<TcpEvent>) {
    let counts = ConnectionCounts::default();
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors, for instance: wait rather than spin.
                tracing::warn!("media TCP accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            continue; // dropped: closes the connection
        };
        let Some(slot) = counts.acquire(from.ip(), limits.max_per_ip) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let events = events.clone();
        tokio::spawn(async move {
            serve(stream, from, events).await;
            drop((permit, slot));
        });
    }
}

/// Serves one connection until it closes, misbehaves or falls silent.
async fn serve(stream: TcpStream, from: SocketAddr, events: mpsc::Sender<TcpEvent>) {
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
    if events.send(TcpEvent::Opened(from, tx)).await.is_err() {
        return;
    }
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if wr.write_all(&frame).await.is_err() {
                break;
            }
        }
    });
    let mut frames = Frames::default();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut timeout = FIRST_FRAME;
    loop {
        let n = match tokio::time::timeout(timeout, rd.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => break,
        };
        let Some(data) = chunk.get(..n) else { break };
        let packets = match frames.push(data) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(%from, "media TCP connection closed: {e}");
                break;
            }
        };
        if packets.is_empty() {
            continue;
        }
        timeout = IDLE;
        if events.send(TcpEvent::Packets(from, packets)).await.is_err() {
            break;
        }
    }
    writer.abort();
    let _ = events.send(TcpEvent::Closed(from)).await;
}

/// Why a stream is not RFC 4571 framing Summit takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    /// A frame of length 0 (nothing WebRTC sends).
    #[error("an empty frame")]
    Empty,
}

/// Unframes a byte stream: whole packets out, a partial one kept for the next read. Holds at
/// most one frame's bytes (64 KiB) between reads.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    buf: Vec<u8>,
}

impl Frames {
    /// Adds bytes read; returns the packets they complete.
    pub(crate) fn push(&mut self, data: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(head) = self.buf.get(at..at + 2) {
            let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
            if len == 0 {
                return Err(FrameError::Empty);
            }
            let Some(packet) = self.buf.get(at + 2..at + 2 + len) else {
                break;
            };
            out.push(packet.to_vec());
            at += 2 + len;
        }
        self.buf.drain(..at);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(packets: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in packets {
            out.extend_from_slice(&(p.len() as u16).to_be_bytes());
            out.extend_from_slice(p);
        }
        out
    }

    #[test]
    fn frames_split_anywhere_come_out_whole_and_in_order() {
        let packets: Vec<Vec<u8>> = (1..40u8).map(|n| vec![n; usize::from(n) * 37]).collect();
        let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
        let stream = framed(&refs);
        for step in [1, 2, 3, 7, 100, 1500, stream.len()] {
            let mut f = Frames::default();
            let mut got = Vec::new();
            for chunk in stream.chunks(step) {
                got.extend(f.push(chunk).unwrap());
            }
            assert_eq!(got, packets, "read {step} bytes at a time");
            assert!(f.buf.is_empty());
        }
    }

    #[test]
    fn a_frame_of_any_length_up_to_64_kib_and_no_empty_one() {
        let big = vec![7u8; 65_535];
        let mut f = Frames::default();
        assert_eq!(f.push(&framed(&[&big])).unwrap(), vec![big]);
        assert_eq!(f.push(&[0, 0]), Err(FrameError::Empty));
    }

    #[test]
    fn garbage_never_panics_and_keeps_at_most_one_frame() {
        let mut f = Frames::default();
        let mut seed = 7u64;
        for _ in 0..2000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let n = (seed >> 33) as usize % 3000;
            let chunk: Vec<u8> = (0..n).map(|i| (seed >> (i % 56)) as u8).collect();
            if f.push(&chunk).is_err() {
                f = Frames::default();
            }
            assert!(f.buf.len() < 2 + 65_536 + 3000);
        }
    }
}
