//! The media TCP port (ICE over TCP) against a running `summit serve`: garbage, broken framing,
//! silent and half-open connections neither crash the server nor hold it, and its connections
//! are bounded per address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

mod common;
use common::start_with;
use common::ws::ping_pong;

/// Frames `packets` as RFC 4571 does: a 16-bit length, then the packet.
fn framed(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Whether the server closed `s` within `d` (a read returns end of stream or an error).
fn closed_within(s: &mut TcpStream, d: Duration) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut b = [0u8; 64];
    let end = Instant::now() + d;
    while Instant::now() < end {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

#[tokio::test]
async fn garbage_on_the_media_tcp_port_leaves_the_server_serving() {
    let server = start_with(&["--max-connections-per-ip", "20"]);
    let tcp = server.media_tcp.expect("media over TCP is on by default");
    let mut a = server.join("m", "A").await;
    let mut seed = 3u64;
    let mut byte = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 56) as u8
    };
    // Well-framed garbage of every kind the port sees (STUN, DTLS, RTP heads), then a raw
    // stream of bytes whose "lengths" are whatever they happen to be.
    for round in 0..10 {
        let mut s = TcpStream::connect(tcp).unwrap();
        let packets: Vec<Vec<u8>> = (1..200usize)
            .map(|len| {
                let mut d: Vec<u8> = (0..len * 7).map(|_| byte()).collect();
                let head: &[u8] = match len % 4 {
                    0 => &[0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42],
                    1 => &[22, 0xfe, 0xfd],
                    2 => &[0x80, 96],
                    _ => &[],
                };
                let n = head.len().min(d.len());
                d[..n].copy_from_slice(&head[..n]);
                d
            })
            .collect();
        let _ = s.write_all(&framed(&packets));
        let raw: Vec<u8> = (0..20_000).map(|_| byte()).collect();
        let _ = s.write_all(&raw);
        if round % 2 == 0 {
            // An empty frame is not RFC 4571 WebRTC: the connection is closed.
            let mut s = TcpStream::connect(tcp).unwrap();
            s.write_all(&[0, 0]).unwrap();
            assert!(closed_within(&mut s, Duration::from_secs(5)));
        }
    }
    ping_pong(&mut a).await;
    // More connections from one address than it may hold: the extra ones are closed at once,
    // and the server keeps serving.
    let held: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(tcp).unwrap()).collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(tcp).unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(2)),
        "a 21st connection from one address is refused"
    );
    drop(held);
    ping_pong(&mut a).await;
    let mut b = server.join("m", "B").await;
    ping_pong(&mut b).await;
}

#[tokio::test]
async fn a_silent_media_tcp_connection_is_closed() {
    let server = start_with(&[]);
    let mut s = TcpStream::connect(server.media_tcp.unwrap()).unwrap();
    // Nothing sent: after the time a page has to start ICE (10 s), it is closed.
    assert!(!closed_within(&mut s, Duration::from_secs(2)));
    assert!(closed_within(&mut s, Duration::from_secs(15)));
}

#[test]
fn no_tcp_offers_none() {
    let server = start_with(&["--no-tcp"]);
    assert_eq!(server.media_tcp, None);
}
