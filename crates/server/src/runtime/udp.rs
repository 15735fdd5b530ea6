//! The media socket with batched I/O: up to 32 datagrams per `recvmmsg` (and GRO), and the
//! consecutive datagrams to one destination (a frame's packets to one subscriber) sent as one
//! GSO `sendmsg`. quinn-udp does the system calls and falls back where the kernel cannot.

use std::io::IoSliceMut;
use std::net::SocketAddr;

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState, BATCH_SIZE};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Room for one receive slot: a GRO batch is at most a 64 KiB datagram.
const RX_SLOT: usize = 64 * 1024;
/// Largest GSO send (UDP payload limit, rounded down).
const MAX_GSO_BYTES: usize = 64_000;
/// Socket buffers the media socket asks for: a frame's burst to many subscribers fits, yet an
/// overloaded server drops rather than queueing seconds of media (the kernel doubles the
/// figure for its bookkeeping: about 1,000 small packets, a third of a second of a
/// 50-speaker meeting's audio).
const RECV_BUFFER: usize = 512 * 1024;
const SEND_BUFFER: usize = 4 * 1024 * 1024;

/// The SFU's UDP socket.
pub(crate) struct MediaSocket {
    socket: UdpSocket,
    state: UdpSocketState,
    rx: Vec<Vec<u8>>,
    meta: Vec<RecvMeta>,
    tx: Vec<u8>,
    tx_to: Option<SocketAddr>,
    /// Size of each segment in `tx`; a shorter one may only come last.
    tx_segment: usize,
    tx_count: usize,
    /// The last segment was shorter: nothing more joins this send.
    tx_closed: bool,
    /// Datagrams a full socket buffer refused.
    pub(crate) send_drops: u64,
}

impl MediaSocket {
    /// Wraps a bound socket, enlarging its buffers where allowed.
    pub(crate) fn new(socket: UdpSocket) -> std::io::Result<Self> {
        let state = UdpSocketState::new(UdpSockRef::from(&socket))?;
        grow_buffers(&socket, &state);
        Ok(Self {
            socket,
            state,
            rx: (0..BATCH_SIZE).map(|_| vec![0u8; RX_SLOT]).collect(),
            meta: vec![RecvMeta::default(); BATCH_SIZE],
            tx: Vec::with_capacity(MAX_GSO_BYTES),
            tx_to: None,
            tx_segment: 0,
            tx_count: 0,
            tx_closed: false,
            send_drops: 0,
        })
    }

    /// Waits until datagrams are waiting.
    pub(crate) async fn readable(&self) -> std::io::Result<()> {
        self.socket.readable().await
    }

    /// Reads one batch of waiting datagrams and hands each to `f`; returns how many there were.
    pub(crate) fn receive(&mut self, mut f: impl FnMut(SocketAddr, &[u8])) -> usize {
        let Self {
            socket,
            state,
            rx,
            meta,
            ..
        } = self;
        // On the stack: no allocation per batch (`rx` holds exactly BATCH_SIZE slots).
        let mut slots = rx.iter_mut();
        let mut iovs: [IoSliceMut<'_>; BATCH_SIZE] = std::array::from_fn(|_| {
            IoSliceMut::new(slots.next().map_or(&mut [][..], |b| &mut b[..]))
        });
        let read = socket.try_io(Interest::READABLE, || {
            state.recv(UdpSockRef::from(&*socket), &mut iovs, meta)
        });
        let Ok(n) = read else { return 0 };
        let mut count = 0;
        for (m, buf) in meta.iter().zip(iovs.iter()).take(n) {
            let data = buf.get(..m.len).unwrap_or_default();
            // GRO joins datagrams of one source into one buffer, `stride` bytes each.
            for d in data.chunks(m.stride.max(1)) {
                f(m.addr, d);
                count += 1;
            }
        }
        count
    }

    /// Queues a datagram; consecutive ones to the same address leave in one GSO send.
    pub(crate) fn send(&mut self, to: SocketAddr, data: &[u8]) {
        let joins = self.tx_to == Some(to)
            && !self.tx_closed
            && data.len() <= self.tx_segment
            && self.tx_count < self.state.max_gso_segments()
            && self.tx.len() + data.len() <= MAX_GSO_BYTES;
        if !joins {
            self.flush();
            self.tx_to = Some(to);
            self.tx_segment = data.len();
        }
        self.tx.extend_from_slice(data);
        self.tx_count += 1;
        self.tx_closed = data.len() < self.tx_segment;
    }

    /// Sends what is queued.
    pub(crate) fn flush(&mut self) {
        let Some(destination) = self.tx_to.take() else {
            return;
        };
        let transmit = Transmit {
            destination,
            ecn: None,
            contents: &self.tx,
            segment_size: (self.tx_count > 1).then_some(self.tx_segment),
            src_ip: None,
        };
        // UDP: a full socket buffer drops the datagrams, as the network would. Other errors
        // are logged by quinn-udp (which also stops using GSO where the kernel refuses it).
        if let Err(e) = self.state.send(UdpSockRef::from(&self.socket), &transmit) {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                self.send_drops += self.tx_count as u64;
            }
        }
        self.tx.clear();
        self.tx_count = 0;
        self.tx_closed = false;
    }
}

/// Asks for large socket buffers: beyond the system limit where the process may (root),
/// otherwise up to it (raise net.core.rmem_max and wmem_max for big servers).
fn grow_buffers(socket: &UdpSocket, state: &UdpSocketState) {
    use nix::sys::socket::{setsockopt, sockopt};
    if setsockopt(socket, sockopt::RcvBufForce, &RECV_BUFFER).is_err() {
        let _ = state.set_recv_buffer_size(UdpSockRef::from(socket), RECV_BUFFER);
    }
    if setsockopt(socket, sockopt::SndBufForce, &SEND_BUFFER).is_err() {
        let _ = state.set_send_buffer_size(UdpSockRef::from(socket), SEND_BUFFER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_frame_to_one_address_arrives_whole_and_in_order_whatever_the_batching() {
        let server = UdpSocket::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let peer_a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let peer_b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (
            peer_a.local_addr().unwrap_or_else(|e| panic!("{e}")),
            peer_b.local_addr().unwrap_or_else(|e| panic!("{e}")),
        );
        let mut io = MediaSocket::new(server).unwrap_or_else(|e| panic!("{e}"));
        // A frame of three full packets and a short one to A, audio to B, another frame to A.
        let sent: Vec<(SocketAddr, Vec<u8>)> = vec![
            (a, vec![1; 1100]),
            (a, vec![2; 1100]),
            (a, vec![3; 1100]),
            (a, vec![4; 300]),
            (a, vec![5; 1100]),
            (b, vec![6; 120]),
            (a, vec![7; 1100]),
        ];
        for (to, d) in &sent {
            io.send(*to, d);
        }
        io.flush();
        let recv_all = |s: &std::net::UdpSocket, n: usize| {
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .ok();
            let mut buf = [0u8; 2048];
            (0..n)
                .map(|_| {
                    let len = s.recv(&mut buf).unwrap_or(0);
                    buf[..len].to_vec()
                })
                .collect::<Vec<_>>()
        };
        let got_a = recv_all(&peer_a, 6);
        let want_a: Vec<Vec<u8>> = sent
            .iter()
            .filter(|(t, _)| *t == a)
            .map(|(_, d)| d.clone())
            .collect();
        assert_eq!(got_a, want_a);
        assert_eq!(recv_all(&peer_b, 1), vec![vec![6u8; 120]]);
        assert_eq!(io.send_drops, 0);

        // And back: several datagrams from one peer are read in one batch, each whole.
        let server_addr = io.socket.local_addr().unwrap_or_else(|e| panic!("{e}"));
        for i in 0..5u8 {
            peer_a
                .send_to(&[i; 900], server_addr)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < 5 && std::time::Instant::now() < deadline {
            let _ = io.readable().await;
            io.receive(|from, d| got.push((from, d.to_vec())));
        }
        assert_eq!(got, (0..5u8).map(|i| (a, vec![i; 900])).collect::<Vec<_>>());
    }
}
