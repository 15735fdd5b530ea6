//! The recorder: appends record events to each meeting's chain in the registry and signs the
//! head at every join, leave and end. While the server runs it lives on a thread of its own
//! (`RecordWriter`) with its own registry connection: the SFU task hands it events in order and
//! goes on forwarding; the thread commits whatever has queued up in one transaction (a group
//! commit) and acknowledges each event once it is durable, with its signed head. The SFU task
//! holds back the signaling that followed an event until then, and never waits on the disk or
//! a lock.

use std::collections::HashMap;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use summit_auth::SigningKey;
use summit_proto::{MeetingName, RecordHead};
use summit_record::{RecordEvent, SignedHead};
use tokio::sync::mpsc;

use super::record_log::{ChainState, StoredEntry};
use super::DataDir;

/// Events committed in one transaction at most: a storm of joins is a few commits, and one
/// commit does not hold the registry's write lock for long.
const MAX_BATCH: usize = 256;

/// Appends record events and signs heads.
pub(crate) struct Recorder {
    dir: DataDir,
    key: SigningKey,
    /// Chains of meetings seen since start; a meeting's is loaded from the registry once.
    chains: HashMap<MeetingName, ChainState>,
}

impl Recorder {
    /// A recorder writing to `dir`, signing with its record key (created on first start).
    pub(crate) fn new(dir: DataDir) -> anyhow::Result<Self> {
        let key = dir.record_key()?;
        Ok(Self {
            dir,
            key,
            chains: HashMap::new(),
        })
    }

    /// Appends `event` to `meeting`'s chain, durably. Returns the signed head to hand the
    /// participants when the event is a join, a leave or the end.
    pub(crate) fn append(
        &mut self,
        meeting: &MeetingName,
        event: RecordEvent,
    ) -> anyhow::Result<Option<RecordHead>> {
        let mut heads = self.append_batch(vec![(meeting.clone(), event)])?;
        Ok(heads.pop().flatten())
    }

    /// Appends every event in order, in one transaction: all are durable when this returns,
    /// or none is (and the chains stay where the registry is). One head per event.
    pub(crate) fn append_batch(
        &mut self,
        events: Vec<(MeetingName, RecordEvent)>,
    ) -> anyhow::Result<Vec<Option<RecordHead>>> {
        // Advance copies: they replace the chains only once the batch is committed.
        let mut advanced: HashMap<MeetingName, ChainState> = HashMap::new();
        let mut stored = Vec::with_capacity(events.len());
        let mut ended = Vec::new();
        for (meeting, event) in events {
            let state = match advanced.get_mut(&meeting) {
                Some(s) => s,
                None => {
                    let s = match self.chains.get(&meeting) {
                        Some(s) => s.clone(),
                        None => self.dir.record_chain(meeting.as_str())?,
                    };
                    advanced.entry(meeting.clone()).or_insert(s)
                }
            };
            // Never earlier than the entry before, even if the wall clock steps back.
            let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
            let at = now.max(state.last_at.clone());
            let signs = event.signs_head();
            if matches!(event, RecordEvent::MeetingEnded { .. }) {
                ended.push(meeting.clone());
            }
            let (entry, line, hash) = state.chain.append(at.clone(), event)?;
            let head = if signs {
                Some(SignedHead::sign(
                    &self.key,
                    meeting.as_str(),
                    entry.seq,
                    hash,
                    at.clone(),
                )?)
            } else {
                None
            };
            state.last_at = at;
            stored.push(StoredEntry {
                entry,
                line,
                hash,
                head,
            });
        }
        self.dir.append_records(&stored)?;
        for (meeting, state) in advanced {
            self.chains.insert(meeting, state);
        }
        // The next start reloads an ended meeting's chain; memory stays bounded by running
        // meetings.
        for m in ended {
            self.chains.remove(&m);
        }
        Ok(stored
            .into_iter()
            .map(|e| {
                e.head.map(|h| RecordHead {
                    meeting: h.meeting,
                    seq: h.seq,
                    hash: h.hash.to_string(),
                    at: h.at,
                    key: h.key,
                    sig: h.sig,
                })
            })
            .collect())
    }
}

/// Names one event handed to the writer; tickets count up from 1 in the order given.
pub(crate) type Ticket = u64;

/// Every event up to `ticket` is durable (or failed to be: the error is logged); with the signed
/// head of that event's meeting, if the event is signed.
#[derive(Debug)]
pub(crate) struct Acked {
    pub(crate) ticket: Ticket,
    pub(crate) head: Option<(MeetingName, RecordHead)>,
}

/// The SFU task's handle on the recorder's thread.
pub(crate) struct RecordWriter {
    to_thread: Option<std_mpsc::Sender<(Ticket, MeetingName, RecordEvent)>>,
    acks: mpsc::UnboundedReceiver<Acked>,
    thread: Option<JoinHandle<()>>,
    /// The last ticket given out, and the last acknowledged.
    given: Ticket,
    acked: Ticket,
    /// Time spent in `append` since the last `take_busy`.
    busy: Duration,
}

impl RecordWriter {
    /// Moves `recorder` to a thread of its own.
    pub(crate) fn spawn(mut recorder: Recorder) -> anyhow::Result<Self> {
        let (to_thread, queue) = std_mpsc::channel::<(Ticket, MeetingName, RecordEvent)>();
        let (ack, acks) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("summit-record".into())
            .spawn(move || write_until_closed(&mut recorder, &queue, &ack))
            .context("cannot start the record writer's thread")?;
        Ok(Self {
            to_thread: Some(to_thread),
            acks,
            thread: Some(thread),
            given: 0,
            acked: 0,
            busy: Duration::ZERO,
        })
    }

    /// Hands `event` to the thread; its ticket comes back acknowledged once it is durable.
    pub(crate) fn append(&mut self, meeting: MeetingName, event: RecordEvent) -> Ticket {
        let start = Instant::now();
        self.given += 1;
        let sent = match &self.to_thread {
            Some(t) => t.send((self.given, meeting, event)),
            None => Err(std_mpsc::SendError((self.given, meeting, event))),
        };
        if let Err(std_mpsc::SendError((_, meeting, _))) = sent {
            tracing::error!(%meeting, "the record writer has stopped; an event is not recorded");
        }
        self.busy += start.elapsed();
        self.given
    }

    /// The time the caller's thread has spent in this writer since the last call: what the
    /// registry cost the SFU task (a channel send per entry, never the disk).
    pub(crate) fn take_busy(&mut self) -> Duration {
        std::mem::take(&mut self.busy)
    }

    /// The last ticket given out while any is not yet acknowledged: what signaling decided
    /// now waits for.
    pub(crate) fn pending(&self) -> Option<Ticket> {
        (self.acked < self.given).then_some(self.given)
    }

    /// The next acknowledgement, or never while none is pending.
    pub(crate) async fn acked(&mut self) -> Acked {
        if self.pending().is_none() {
            std::future::pending::<()>().await;
        }
        match self.acks.recv().await {
            Some(a) => {
                self.acked = self.acked.max(a.ticket);
                a
            }
            None => {
                // The thread is gone (it logged why): nothing more will be durable, and what
                // waits for it must not wait for ever.
                self.acked = self.given;
                Acked {
                    ticket: self.given,
                    head: None,
                }
            }
        }
    }

    /// Waits until every event handed over is durable, and stops the thread.
    pub(crate) fn finish(&mut self) {
        self.to_thread = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writer thread: takes what has queued up (up to [`MAX_BATCH`]), commits it in one
/// transaction and acknowledges each event, until the SFU task's handle is gone.
fn write_until_closed(
    recorder: &mut Recorder,
    queue: &std_mpsc::Receiver<(Ticket, MeetingName, RecordEvent)>,
    ack: &mpsc::UnboundedSender<Acked>,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let tickets: Vec<(Ticket, MeetingName)> =
            batch.iter().map(|(t, m, _)| (*t, m.clone())).collect();
        let events: Vec<_> = batch.into_iter().map(|(_, m, e)| (m, e)).collect();
        let heads = match recorder.append_batch(events.clone()) {
            Ok(heads) => heads,
            // One event the registry refuses must not cost the others their
            // place in the record: one at a time, then.
            Err(e) if events.len() > 1 => {
                tracing::warn!(
                    "a group of {} record events failed ({e:#}); appending one at a time",
                    events.len()
                );
                events
                    .into_iter()
                    .map(|(m, ev)| {
                        recorder.append(&m, ev).unwrap_or_else(|e| {
                            tracing::error!(meeting = %m, "could not record an event: {e:#}");
                            None
                        })
                    })
                    .collect()
            }
            Err(e) => {
                tracing::error!("could not record an event: {e:#}");
                Vec::new()
            }
        };
        let mut heads = heads.into_iter();
        for (ticket, meeting) in tickets {
            let head = heads.next().flatten().map(|h| (meeting, h));
            if ack.send(Acked { ticket, head }).is_err() {
                return;
            }
        }
    }
}

impl Drop for RecordWriter {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn data_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("summit-recorder-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn joined(p: u64) -> RecordEvent {
        RecordEvent::Joined {
            participant: p,
            name: format!("P{p}"),
            role: "delegate".into(),
            invitation: format!("inv-{p}"),
        }
    }

    #[tokio::test]
    async fn a_group_commit_keeps_every_event_in_order_and_the_record_verifies() {
        let path = data_dir("group");
        let meeting = MeetingName::parse("summit-1").unwrap();
        let other = MeetingName::parse("summit-2").unwrap();
        let recorder = Recorder::new(DataDir::open(&path).unwrap()).unwrap();
        let key = recorder.key.verifying_key();
        let mut writer = RecordWriter::spawn(recorder).unwrap();
        assert_eq!(writer.pending(), None);
        // Handed over at once, as a join storm does: they commit in groups.
        let mut tickets = vec![writer.append(meeting.clone(), RecordEvent::MeetingStarted {})];
        for p in 1..=300 {
            let m = if p % 3 == 0 { &other } else { &meeting };
            tickets.push(writer.append(m.clone(), joined(p)));
        }
        assert_eq!(writer.pending(), tickets.last().copied());
        let mut acked = Vec::new();
        while writer.pending().is_some() {
            let a = tokio::time::timeout(std::time::Duration::from_secs(20), writer.acked())
                .await
                .expect("every event is acknowledged");
            // Each join is signed; the start is not.
            assert_eq!(a.head.is_some(), a.ticket != 1, "{a:?}");
            acked.push(a.ticket);
        }
        assert_eq!(acked, tickets, "acknowledged in the order handed over");
        writer.finish();

        let dir = DataDir::open(&path).unwrap();
        let file = dir.record_file(meeting.as_str()).unwrap().unwrap();
        let verified = summit_record::verify(&file, &key, None).unwrap();
        assert_eq!(verified.entries, 201);
        assert_eq!(verified.signed_through, Some(200));
        let file = dir.record_file(other.as_str()).unwrap().unwrap();
        assert_eq!(
            summit_record::verify(&file, &key, None).unwrap().entries,
            100
        );
        let _ = std::fs::remove_dir_all(&path);
    }

    #[test]
    fn a_chain_continues_across_batches_and_restarts() {
        let path = data_dir("continue");
        let meeting = MeetingName::parse("summit-1").unwrap();
        let mut recorder = Recorder::new(DataDir::open(&path).unwrap()).unwrap();
        recorder
            .append_batch(vec![
                (meeting.clone(), RecordEvent::MeetingStarted {}),
                (meeting.clone(), joined(1)),
            ])
            .unwrap();
        recorder.append(&meeting, joined(2)).unwrap();
        let key = recorder.key.verifying_key();
        drop(recorder);
        // A new server on the same data picks the chain up where it stands.
        let mut recorder = Recorder::new(DataDir::open(&path).unwrap()).unwrap();
        let head = recorder
            .append(&meeting, RecordEvent::ServerRestarted {})
            .unwrap();
        assert!(head.is_none());
        let head = recorder.append(&meeting, joined(3)).unwrap().unwrap();
        assert_eq!(head.seq, 4);
        let file = DataDir::open(&path)
            .unwrap()
            .record_file(meeting.as_str())
            .unwrap()
            .unwrap();
        assert_eq!(summit_record::verify(&file, &key, None).unwrap().entries, 5);
        let _ = std::fs::remove_dir_all(&path);
    }
}
