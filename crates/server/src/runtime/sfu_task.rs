//! The SFU task: owns the core and the media sockets; signaling tasks talk to it through its
//! mailbox (`mailbox.rs`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use str0m::net::Protocol;
use summit_core::{Disconnect, Output, RecordingControl, Sfu, SfuConfig, SfuError, SfuEvent};
use summit_proto::{CloseCode, MeetingName, ParticipantId, ServerMessage};
use summit_record::RecordEvent;
use tokio::sync::{mpsc, watch};

use super::mailbox::{Command, ConnId, Departure, MediaMetrics, ToClient};
use super::task_load::TaskLoad;
use super::tcp::{TcpEvent, TcpMedia};
use super::udp::MediaSocket;
use crate::registry::recorder::{Acked, RecordWriter, Ticket};
use summit_recording::Recordings;

/// Receive batches per wake-up before the core's outputs are drained.
const RECV_BATCHES: usize = 4;

/// Signaling held back past this many messages goes out (all of it, in order) before its record
/// entry is durable: a registry that stalls must not grow the task without bound.
const MAX_HELD: usize = 65_536;

/// Signaling held this long for its record entry is slow enough for a person to notice (a
/// closed tab's tile lingers, a removal's words are late): said in the log, at most every
/// `SLOW_RECORD_REPEAT`.
const SLOW_RECORD: Duration = Duration::from_millis(500);
const SLOW_RECORD_REPEAT: Duration = Duration::from_secs(10);

/// A participant's live signaling connection.
struct Client {
    conn: ConnId,
    tx: mpsc::Sender<ToClient>,
}

/// What the core told a participant after a record event: it goes out once that event is
/// durable.
enum Held {
    /// Boxed as `ToClient` carries it.
    Signal(ParticipantId, Box<ServerMessage>),
    Disconnect(ParticipantId, Disconnect),
}

/// The participants' signaling connections, and what waits for the record.
#[derive(Default)]
struct Clients {
    live: HashMap<ParticipantId, Client>,
    /// In the order the core decided them, each behind the record entry it followed.
    held: VecDeque<(Ticket, Instant, Held)>,
    /// `held` is full and signaling goes out before the record (warned once until it drains).
    overflowing: bool,
    /// When a slow record was last said in the log.
    slow_said: Option<Instant>,
}

impl Clients {
    /// Carries `out` out now, or holds it while a record entry before it is not yet durable.
    fn send(&mut self, sfu: &mut Sfu, records: &RecordWriter, out: Held) {
        match records.pending() {
            Some(ticket) if self.held.len() < MAX_HELD => {
                self.held.push_back((ticket, Instant::now(), out))
            }
            Some(_) => {
                if !self.overflowing {
                    self.overflowing = true;
                    tracing::warn!(
                        "the record is far behind; signaling goes out before its entry is durable"
                    );
                }
                // In order still: what waited goes first.
                while let Some((_, _, held)) = self.held.pop_front() {
                    self.deliver(sfu, held);
                }
                self.deliver(sfu, out);
            }
            None => {
                self.overflowing = false;
                self.deliver(sfu, out);
            }
        }
    }

    /// An entry is durable: what waited for it goes out, then its signed head, if any, to the
    /// meeting (so a newcomer's `welcome` comes first). The head itself waits behind later
    /// entries still on their way: a page back meanwhile has its `welcome` held behind them.
    fn acked(&mut self, sfu: &mut Sfu, records: &RecordWriter, acked: Acked) {
        let now = Instant::now();
        let mut waited = Duration::ZERO;
        while self
            .held
            .front()
            .is_some_and(|(t, _, _)| *t <= acked.ticket)
        {
            if let Some((_, since, out)) = self.held.pop_front() {
                waited = waited.max(now.saturating_duration_since(since));
                self.deliver(sfu, out);
            }
        }
        let quiet = self
            .slow_said
            .is_some_and(|t| now.saturating_duration_since(t) < SLOW_RECORD_REPEAT);
        if waited >= SLOW_RECORD && !quiet {
            self.slow_said = Some(now);
            tracing::warn!(
                waited_ms = waited.as_millis() as u64,
                "signaling waited for its record entry to be durable (a slow disk or a busy registry)"
            );
        }
        if let Some((meeting, head)) = acked.head {
            for id in sfu.members(&meeting) {
                if self.live.contains_key(&id) {
                    let msg = ServerMessage::RecordHead { head: head.clone() };
                    self.send(sfu, records, Held::Signal(id, Box::new(msg)));
                }
            }
        }
    }

    fn deliver(&mut self, sfu: &mut Sfu, out: Held) {
        match out {
            Held::Signal(id, msg) => {
                let stuck = match self.live.get(&id) {
                    Some(c) => c.tx.try_send(ToClient::Message(msg)).is_err(),
                    None => false,
                };
                if stuck {
                    tracing::warn!(participant = %id, "signaling connection is not keeping up; closing it");
                    if let Some(c) = self.live.remove(&id) {
                        let _ =
                            c.tx.try_send(ToClient::Close(CloseCode::Refused, "too slow".into()));
                    }
                    sfu.handle_closed(Instant::now(), id);
                }
            }
            Held::Disconnect(id, why) => {
                if let Some(c) = self.live.remove(&id) {
                    let _ = c.tx.try_send(ToClient::Close(why.code, why.reason));
                }
            }
        }
    }
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The next event of the media TCP listener, or never when there is none.
async fn next_tcp(tcp: &mut Option<(TcpMedia, SocketAddr)>) -> Option<TcpEvent> {
    match tcp {
        Some((t, _)) => t.next().await,
        None => std::future::pending().await,
    }
}

/// What woke the SFU task.
enum Wake {
    /// The record writer made entries durable.
    Acked(Acked),
    /// The UDP socket is readable (`false`: polling it failed).
    Readable(bool),
    /// An event of the ICE-over-TCP listener (`None`: it stopped).
    Tcp(Option<TcpEvent>),
    /// A command from another task (`None`: all senders are gone).
    Command(Option<Command>),
    /// The core's timer.
    Timeout,
}

/// How media reaches the server: the UDP socket, and the TCP listener (with the address it is
/// announced at) unless it is off.
pub(crate) struct Transports {
    pub(crate) udp: MediaSocket,
    pub(crate) tcp: Option<(TcpMedia, SocketAddr)>,
}

pub(crate) async fn run(
    transports: Transports,
    config: SfuConfig,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::UnboundedSender<SfuEvent>,
    mut records: RecordWriter,
    mut recordings: Recordings,
    mut stop: watch::Receiver<bool>,
) {
    let local = config.public_addr;
    let Transports {
        udp: mut socket,
        mut tcp,
    } = transports;
    let mut sfu = Sfu::new(config, Instant::now());
    let mut clients = Clients::default();
    let mut load = TaskLoad::default();
    let mut woke = Instant::now();
    loop {
        let deadline = drain(
            &mut sfu,
            &mut socket,
            &mut tcp,
            &mut clients,
            &events,
            &mut records,
            &mut recordings,
        );
        load.turn(woke.elapsed(), records.take_busy());
        // Wait first, then handle what woke the task: a turn is timed from here.
        let wake = tokio::select! {
            acked = records.acked() => Wake::Acked(acked),
            r = socket.readable() => Wake::Readable(r.is_ok()),
            ev = next_tcp(&mut tcp) => Wake::Tcp(ev),
            cmd = commands.recv() => Wake::Command(cmd),
            _ = tokio::time::sleep_until(deadline.into()) => Wake::Timeout,
            _ = stop.changed() => break,
        };
        woke = Instant::now();
        match wake {
            Wake::Acked(acked) => clients.acked(&mut sfu, &records, acked),
            Wake::Readable(false) => {}
            Wake::Readable(true) => {
                for _ in 0..RECV_BATCHES {
                    // Packets of one batch share a clock reading: they arrived together.
                    let now = Instant::now();
                    if socket.receive(|source, d| {
                        sfu.handle_receive(now, Protocol::Udp, source, local, d)
                    }) == 0
                    {
                        break;
                    }
                }
                // str0m stamps a packet's send time, which a subscriber's congestion feedback
                // is measured against, with the clock of the connection's last drive. What the
                // batches forwarded leaves now, not when they were read: under load the
                // difference varies by milliseconds and reads as queueing on the link.
                sfu.handle_timeout(Instant::now());
            }
            Wake::Tcp(None) => tcp = None,
            Wake::Tcp(Some(ev)) => {
                let Some((t, local_tcp)) = tcp.as_mut() else {
                    continue;
                };
                if let Some((from, packets)) = t.handle(ev) {
                    let now = Instant::now();
                    for p in &packets {
                        sfu.handle_receive(now, Protocol::Tcp, from, *local_tcp, p);
                    }
                    // As for UDP: what they forwarded leaves now.
                    sfu.handle_timeout(Instant::now());
                }
            }
            Wake::Command(None) => break,
            Wake::Command(Some(cmd)) => {
                let now = woke;
                match cmd {
                    Command::Join {
                        conn,
                        request,
                        to_client,
                        reply,
                    } => {
                        let joined = sfu.join(now, *request);
                        if let Ok(j) = &joined {
                            // A resumed session replaces its old connection, if still open.
                            if let Some(old) = clients.live.insert(
                                j.id,
                                Client {
                                    conn,
                                    tx: to_client,
                                },
                            ) {
                                let _ = old.tx.try_send(ToClient::Close(
                                    CloseCode::Refused,
                                    "replaced by a new connection".into(),
                                ));
                            }
                        }
                        let _ = reply.send(joined);
                    }
                    Command::Revoked(id) => sfu.handle_revoked(now, &id),
                    Command::LostInRestart(lost) => {
                        record_lost_in_restart(&sfu, &mut records, lost);
                    }
                    Command::Metrics(reply) => {
                        let tcp_drops = tcp.as_ref().map_or(0, |(t, _)| t.send_drops);
                        let send_drops = socket.send_drops + tcp_drops;
                        let _ = reply.send(MediaMetrics {
                            core: sfu.metrics(),
                            send_drops,
                            load,
                        });
                    }
                    Command::Message(conn, id, msg) => {
                        if clients.live.get(&id).is_none_or(|c| c.conn != conn) {
                            continue;
                        }
                        let result = sfu.handle_message(now, id, msg, wall_ms());
                        reply_error(&clients.live, id, result);
                    }
                    Command::Invited(conn, id, made) => {
                        if clients.live.get(&id).is_none_or(|c| c.conn != conn) {
                            continue;
                        }
                        let result = sfu.handle_invited(now, id, *made);
                        reply_error(&clients.live, id, result);
                    }
                    Command::Closed(conn, id, how) => {
                        if clients.live.get(&id).is_some_and(|c| c.conn == conn) {
                            clients.live.remove(&id);
                            match how {
                                Departure::Closed => sfu.handle_closed(now, id),
                                Departure::Lost => sfu.handle_lost(now, id),
                            }
                        }
                    }
                }
            }
            Wake::Timeout => sfu.handle_timeout(woke),
        }
    }
    for (_, c) in clients.live.drain() {
        let _ = c.tx.try_send(ToClient::Close(
            CloseCode::GoingAway,
            "the server is shutting down".into(),
        ));
    }
    // Recordings in progress end with the server, as playable files; the record has every
    // event handed over.
    tokio::task::block_in_place(|| {
        recordings.finish();
        records.finish();
    });
}

/// The record says who did not come back after a restart, and that a meeting nobody came back
/// to has ended. Heads go to those who are back, once the entries are durable.
fn record_lost_in_restart(
    sfu: &Sfu,
    records: &mut RecordWriter,
    lost: Vec<crate::registry::KeptSession>,
) {
    let mut meetings: Vec<MeetingName> = Vec::new();
    for s in lost {
        if !meetings.contains(&s.meeting) {
            meetings.push(s.meeting.clone());
        }
        if !s.admitted {
            continue; // the record never had them in the meeting
        }
        let event = RecordEvent::Left {
            participant: s.participant.0,
            name: s.name,
            reason: "lost in the server's restart".into(),
        };
        records.append(s.meeting, event);
    }
    for m in meetings {
        if sfu.members(&m).is_empty() {
            let reason = "the server restarted and nobody came back".to_owned();
            records.append(m, RecordEvent::MeetingEnded { reason });
        }
    }
}

/// Tells a participant why their request was refused, if it was.
fn reply_error(
    clients: &HashMap<ParticipantId, Client>,
    id: ParticipantId,
    result: Result<(), SfuError>,
) {
    if let (Err(e), Some(c)) = (result, clients.get(&id)) {
        let _ =
            c.tx.try_send(ToClient::Message(Box::new(ServerMessage::Error {
                code: e.code(),
                message: e.to_string(),
            })));
    }
}

/// Carries out the core's outputs until it asks for a timeout, which is returned. Record
/// events go to the record writer; signaling decided after one waits until it is durable.
fn drain(
    sfu: &mut Sfu,
    socket: &mut MediaSocket,
    tcp: &mut Option<(TcpMedia, SocketAddr)>,
    clients: &mut Clients,
    events: &mpsc::UnboundedSender<SfuEvent>,
    records: &mut RecordWriter,
    recordings: &mut Recordings,
) -> Instant {
    loop {
        match sfu.poll_output() {
            Output::Timeout(t) => {
                socket.flush();
                return t;
            }
            Output::Event(SfuEvent::Record(meeting, event)) => {
                records.append(meeting, event);
            }
            Output::Recording(c) => match c {
                RecordingControl::Start { meeting, sealed } => recordings.start(meeting, sealed),
                RecordingControl::Stop(meeting) => recordings.stop(meeting),
                RecordingControl::Name {
                    participant,
                    meeting,
                    name,
                } => recordings.name(participant, meeting, name),
                RecordingControl::Forget(participant) => recordings.forget(participant),
            },
            Output::Event(e) => {
                let _ = events.send(e);
            }
            Output::Recorded(p) => recordings.packet(summit_recording::Packet {
                publisher: p.publisher,
                source: p.source,
                seq: p.seq,
                timestamp: p.timestamp,
                clock_rate: p.clock_rate,
                marker: p.marker,
                red: p.red,
                payload: p.payload,
            }),
            Output::RecordingKey(id, data) => recordings.key(id, data),
            Output::Transmit(t) => match (t.proto, tcp.as_mut()) {
                (Protocol::Tcp, Some((conns, _))) => conns.send(t.destination, &t.contents),
                _ => socket.send(t.destination, &t.contents),
            },
            Output::Signal(id, msg) => clients.send(sfu, records, Held::Signal(id, Box::new(msg))),
            Output::Disconnect(id, why) => clients.send(sfu, records, Held::Disconnect(id, why)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::registry::actor::Registry;
    use crate::registry::recorder::Recorder;
    use crate::registry::DataDir;

    /// A core, a record writer on a fresh data directory (removed when the test ends), and one
    /// live client, participant 1.
    fn setup(name: &str) -> (Sfu, RecordWriter, Clients, mpsc::Receiver<ToClient>) {
        let path = std::env::temp_dir().join(format!("summit-held-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        let data = DataDir::open(&path).unwrap();
        let recorder = Recorder::new(data.record_key().unwrap());
        // SQLite keeps its file open; on Linux the directory can go now.
        let _ = std::fs::remove_dir_all(&path);
        let (_registry, records) = Registry::spawn(data, recorder).unwrap();
        let sfu = Sfu::new(
            SfuConfig::new("127.0.0.1:7881".parse().unwrap()),
            Instant::now(),
        );
        let (tx, rx) = mpsc::channel(CLIENT_QUEUE_FOR_TESTS);
        let mut clients = Clients::default();
        clients.live.insert(
            ParticipantId(1),
            Client {
                conn: ConnId(1),
                tx,
            },
        );
        (sfu, records, clients, rx)
    }

    const CLIENT_QUEUE_FOR_TESTS: usize = 100_000;

    fn chat(n: u64) -> Held {
        let msg = ServerMessage::Chat(summit_proto::ChatMessage {
            from: ParticipantId(2),
            name: "B".into(),
            text: n.to_string(),
            sealed: false,
            at_ms: n,
        });
        Held::Signal(ParticipantId(1), Box::new(msg))
    }

    fn texts(rx: &mut mpsc::Receiver<ToClient>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(ToClient::Message(m)) = rx.try_recv() {
            if let ServerMessage::Chat(c) = *m {
                out.push(c.text);
            }
        }
        out
    }

    #[tokio::test]
    async fn signaling_after_a_record_entry_waits_until_it_is_durable() {
        let (mut sfu, mut records, mut clients, mut rx) = setup("wait");
        let meeting = MeetingName::parse("m").unwrap();
        clients.send(&mut sfu, &records, chat(1));
        assert_eq!(texts(&mut rx), ["1"], "nothing pending: out at once");
        records.append(meeting.clone(), RecordEvent::MeetingStarted {});
        clients.send(&mut sfu, &records, chat(2));
        records.append(meeting, RecordEvent::ServerRestarted {});
        clients.send(&mut sfu, &records, chat(3));
        assert!(texts(&mut rx).is_empty(), "held behind the entries");
        let first = records.acked().await;
        clients.acked(&mut sfu, &records, first);
        assert_eq!(texts(&mut rx), ["2"], "only what followed the first entry");
        let second = records.acked().await;
        clients.acked(&mut sfu, &records, second);
        assert_eq!(texts(&mut rx), ["3"]);
        assert_eq!(records.pending(), None);
    }

    #[tokio::test]
    async fn a_record_writer_that_stopped_holds_nothing_back() {
        let (mut sfu, mut records, mut clients, mut rx) = setup("stopped");
        let meeting = MeetingName::parse("m").unwrap();
        records.finish();
        records.append(meeting, RecordEvent::MeetingStarted {});
        clients.send(&mut sfu, &records, chat(1));
        assert!(texts(&mut rx).is_empty());
        let acked = tokio::time::timeout(std::time::Duration::from_secs(5), records.acked())
            .await
            .expect("released, not held for ever");
        clients.acked(&mut sfu, &records, acked);
        assert_eq!(texts(&mut rx), ["1"]);
    }

    #[tokio::test]
    async fn a_record_far_behind_lets_signaling_go_in_order() {
        let (mut sfu, mut records, mut clients, mut rx) = setup("overflow");
        let meeting = MeetingName::parse("m").unwrap();
        records.append(meeting, RecordEvent::MeetingStarted {});
        // The writer may be quick: hold on to its acknowledgement to keep the entry pending.
        for n in 0..=MAX_HELD as u64 {
            clients.send(&mut sfu, &records, chat(n));
        }
        let got = texts(&mut rx);
        assert_eq!(got.len(), MAX_HELD + 1, "all out once the limit is passed");
        assert!(
            got.iter().enumerate().all(|(i, t)| *t == i.to_string()),
            "in order"
        );
        assert!(clients.held.is_empty());
        let acked = records.acked().await;
        clients.acked(&mut sfu, &records, acked);
        clients.send(&mut sfu, &records, chat(7));
        assert_eq!(texts(&mut rx), ["7"]);
    }
}
