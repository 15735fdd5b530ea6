//! The recorder: appends record events to each meeting's chain in the registry and signs the
//! head at every join, leave and end. While the server runs it lives on the registry actor's
//! thread (`actor.rs`), beside the registry's one connection: the SFU task hands events to its
//! `RecordWriter` in order and goes on forwarding; the actor commits whatever has queued up in
//! one transaction (a group commit) and acknowledges each event once it is durable, with its
//! signed head. The SFU task holds back the signaling that followed an event until then, and
//! never waits on the disk or a lock.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant, SystemTime};

use summit_auth::SigningKey;
use summit_proto::{MeetingName, RecordHead};
use summit_record::{RecordEvent, SignedHead};
use tokio::sync::mpsc;

use super::actor::Work;
use super::record_log::{ChainState, StoredEntry};
use super::RegistryBackend;

/// Events committed in one transaction at most: a storm of joins is a few commits, and one
/// commit does not hold the registry's write lock for long.
pub(crate) const MAX_BATCH: usize = 256;

/// Appends record events and signs heads.
pub(crate) struct Recorder {
    key: SigningKey,
    /// Chains of meetings seen since start; a meeting's is loaded from the registry once.
    chains: HashMap<MeetingName, ChainState>,
}

impl Recorder {
    /// A recorder signing with the server's record key (`DataDir::record_key`).
    pub(crate) fn new(key: SigningKey) -> Self {
        Self {
            key,
            chains: HashMap::new(),
        }
    }

    /// Appends `event` to `meeting`'s chain, durably. Returns the signed head to hand the
    /// participants when the event is a join, a leave or the end.
    pub(crate) fn append(
        &mut self,
        registry: &dyn RegistryBackend,
        meeting: &MeetingName,
        event: RecordEvent,
    ) -> anyhow::Result<Option<RecordHead>> {
        let mut heads = self.append_batch(registry, vec![(meeting.clone(), event)])?;
        Ok(heads.pop().flatten())
    }

    /// Appends every event in order, in one transaction: all are durable when this returns,
    /// or none is (and the chains stay where the registry is). One head per event.
    pub(crate) fn append_batch(
        &mut self,
        registry: &dyn RegistryBackend,
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
                        None => registry.record_chain(&meeting)?,
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
        registry.append_records(&stored)?;
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

    /// Commits what the actor took from its queue (in order, as one group where it can) and
    /// acknowledges every ticket, durable or not: what waits for them must not wait for ever.
    pub(crate) fn commit(
        &mut self,
        registry: &dyn RegistryBackend,
        batch: Vec<(Ticket, MeetingName, RecordEvent)>,
        ack: &mpsc::UnboundedSender<Acked>,
    ) {
        let tickets: Vec<(Ticket, MeetingName)> =
            batch.iter().map(|(t, m, _)| (*t, m.clone())).collect();
        let events: Vec<_> = batch.into_iter().map(|(_, m, e)| (m, e)).collect();
        let heads = std::panic::catch_unwind(AssertUnwindSafe(|| self.write(registry, events)))
            .unwrap_or_else(|_| {
                tracing::error!("recording a group of events panicked; they are not recorded");
                Vec::new()
            });
        let mut heads = heads.into_iter();
        for (ticket, meeting) in tickets {
            let head = heads.next().flatten().map(|h| (meeting, h));
            // The SFU task may be gone (the server stopping): nobody to tell.
            let _ = ack.send(Acked { ticket, head });
        }
    }

    /// Appends a group, falling back to one at a time if the group fails.
    fn write(
        &mut self,
        registry: &dyn RegistryBackend,
        events: Vec<(MeetingName, RecordEvent)>,
    ) -> Vec<Option<RecordHead>> {
        match self.append_batch(registry, events.clone()) {
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
                        self.append(registry, &m, ev).unwrap_or_else(|e| {
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
        }
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

/// The SFU task's handle for handing record events to the registry actor.
pub(crate) struct RecordWriter {
    to_actor: Option<std_mpsc::Sender<Work>>,
    acks: mpsc::UnboundedReceiver<Acked>,
    /// The last ticket given out, and the last acknowledged.
    given: Ticket,
    acked: Ticket,
    /// Time spent in `append` since the last `take_busy`.
    busy: Duration,
}

impl RecordWriter {
    /// A writer into the actor's queue `to_actor`, hearing back on `acks`.
    pub(crate) fn new(
        to_actor: std_mpsc::Sender<Work>,
        acks: mpsc::UnboundedReceiver<Acked>,
    ) -> Self {
        Self {
            to_actor: Some(to_actor),
            acks,
            given: 0,
            acked: 0,
            busy: Duration::ZERO,
        }
    }

    /// Hands `event` to the actor; its ticket comes back acknowledged once it is durable.
    pub(crate) fn append(&mut self, meeting: MeetingName, event: RecordEvent) -> Ticket {
        let start = Instant::now();
        self.given += 1;
        let work = Work::Record(self.given, meeting, event);
        let sent = match &self.to_actor {
            Some(t) => t.send(work),
            None => Err(std_mpsc::SendError(work)),
        };
        if let Err(std_mpsc::SendError(Work::Record(_, meeting, _))) = sent {
            tracing::error!(%meeting, "the registry has stopped; an event is not recorded");
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
                // The actor is gone: nothing more will be durable, and what waits for it must
                // not wait for ever.
                self.acked = self.given;
                Acked {
                    ticket: self.given,
                    head: None,
                }
            }
        }
    }

    /// Waits until every event handed over is durable (or the actor is gone); hands over no
    /// more after.
    pub(crate) fn finish(&mut self) {
        let Some(to_actor) = self.to_actor.take() else {
            return;
        };
        let (done, wait) = std_mpsc::channel();
        if to_actor.send(Work::Flush(done)).is_ok() {
            // The actor answers once what was queued before is committed; an error means it
            // stopped.
            let _ = wait.recv();
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
    use crate::registry::actor::Registry;
    use crate::registry::DataDir;

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
        let data = DataDir::open(&path).unwrap();
        let recorder = Recorder::new(data.record_key().unwrap());
        let key = recorder.key.verifying_key();
        let (registry, mut writer) = Registry::spawn(data, recorder).unwrap();
        assert_eq!(writer.pending(), None);
        // Handed over at once, as a join storm does: they commit in groups.
        let mut tickets = vec![writer.append(meeting.clone(), RecordEvent::MeetingStarted {})];
        for p in 1..=300 {
            let m = if p % 3 == 0 { &other } else { &meeting };
            tickets.push(writer.append(m.clone(), joined(p)));
            if p == 150 {
                // A request between record events is answered in its turn: after the events
                // queued before it are durable (the record's start made the meeting known).
                let known = meeting.clone();
                let e2ee = registry
                    .call(move |r| r.meeting_e2ee(&known))
                    .await
                    .unwrap();
                assert!(
                    e2ee.is_some(),
                    "the events before the request were committed"
                );
            }
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
        let data = DataDir::open(&path).unwrap();
        let mut recorder = Recorder::new(data.record_key().unwrap());
        recorder
            .append_batch(
                &data,
                vec![
                    (meeting.clone(), RecordEvent::MeetingStarted {}),
                    (meeting.clone(), joined(1)),
                ],
            )
            .unwrap();
        recorder.append(&data, &meeting, joined(2)).unwrap();
        let key = recorder.key.verifying_key();
        drop((recorder, data));
        // A new server on the same data picks the chain up where it stands.
        let data = DataDir::open(&path).unwrap();
        let mut recorder = Recorder::new(data.record_key().unwrap());
        let head = recorder
            .append(&data, &meeting, RecordEvent::ServerRestarted {})
            .unwrap();
        assert!(head.is_none());
        let head = recorder
            .append(&data, &meeting, joined(3))
            .unwrap()
            .unwrap();
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
