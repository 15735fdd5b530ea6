//! The registry actor: one thread owns the registry's connection and does all of the running
//! server's registry work on it, in the order it was asked for: requests (signaling and the
//! store task await their answers) and the record (the SFU task hands it events through its
//! `RecordWriter` and hears back once they are durable; events queued together are committed
//! together). Nobody holds a lock on the registry, no tokio worker waits on the disk, and the
//! SFU task never waits on it at all.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use summit_proto::MeetingName;
use summit_record::RecordEvent;
use tokio::sync::oneshot;

use crate::registry::recorder::{RecordWriter, Recorder, Ticket, MAX_BATCH};
use crate::registry::RegistryBackend;

/// One request: runs on the actor's thread with the backend.
type Job = Box<dyn FnOnce(&dyn RegistryBackend) + Send>;

/// What the actor is asked to do.
pub(crate) enum Work {
    /// A request, answered on its own channel.
    Call(Job),
    /// A record event to append (acknowledged by ticket).
    Record(Ticket, MeetingName, RecordEvent),
    /// Answer once everything queued before is done.
    Flush(mpsc::Sender<()>),
}

/// A handle on the registry actor, cloned by everyone who asks it something.
#[derive(Clone)]
pub(crate) struct Registry {
    work: mpsc::Sender<Work>,
}

impl Registry {
    /// Starts the actor on a thread of its own, owning `backend` and `recorder`; returns the
    /// handle for requests and the one for record events. It stops when every handle is gone.
    pub(crate) fn spawn(
        backend: impl RegistryBackend + 'static,
        mut recorder: Recorder,
    ) -> anyhow::Result<(Self, RecordWriter)> {
        let (work, queue) = mpsc::channel::<Work>();
        let (ack, acks) = tokio::sync::mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("summit-registry".into())
            .spawn(move || {
                let mut held = None;
                loop {
                    let next = match held.take() {
                        Some(w) => w,
                        None => match queue.recv() {
                            Ok(w) => w,
                            Err(_) => return,
                        },
                    };
                    match next {
                        Work::Call(job) => {
                            // A request that panics fails alone (its caller hears the registry
                            // stopped answering it); SQLite's transactions keep the file
                            // consistent.
                            if std::panic::catch_unwind(AssertUnwindSafe(|| job(&backend))).is_err()
                            {
                                tracing::error!("a registry request panicked");
                            }
                        }
                        Work::Record(ticket, meeting, event) => {
                            // A group commit: whatever record events queued up behind this one,
                            // up to the first other work (which comes next, in its turn).
                            let mut batch = vec![(ticket, meeting, event)];
                            while batch.len() < MAX_BATCH {
                                match queue.try_recv() {
                                    Ok(Work::Record(t, m, e)) => batch.push((t, m, e)),
                                    Ok(other) => {
                                        held = Some(other);
                                        break;
                                    }
                                    Err(_) => break,
                                }
                            }
                            recorder.commit(&backend, batch, &ack);
                        }
                        Work::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })?;
        let writer = RecordWriter::new(work.clone(), acks);
        Ok((Self { work }, writer))
    }

    /// Runs `f` on the registry in its turn and returns its answer. Callers each wait for
    /// their answer, so the queue holds at most one request per waiting caller.
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn RegistryBackend) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |backend| {
            // The caller may have gone (its connection closed): nobody to answer.
            let _ = tx.send(f(backend));
        });
        self.work
            .send(Work::Call(job))
            .map_err(|_| anyhow::anyhow!("the registry has stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the registry did not answer"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::DataDir;
    use summit_proto::MeetingName;

    #[tokio::test]
    async fn requests_run_in_turn_on_the_actor_and_answer_their_callers() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("summit-actor-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let data = DataDir::open(&dir)?;
        let recorder = Recorder::new(data.record_key()?);
        let (registry, _records) = Registry::spawn(data, recorder)?;
        let name = MeetingName::parse("actor-test")?;
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (registry, name) = (registry.clone(), name.clone());
                tokio::spawn(
                    async move { registry.call(move |r| r.create_meeting(&name, true)).await },
                )
            })
            .collect();
        let mut created = 0;
        for c in callers {
            created += usize::from(c.await??);
        }
        assert_eq!(created, 1, "one request registered it, in turn");
        let e2ee = registry.call(move |r| r.meeting_e2ee(&name)).await?;
        assert_eq!(e2ee, Some(true));
        // A request that panics fails alone.
        let failed = registry
            .call(|_| -> anyhow::Result<()> { panic!("a bug in one request") })
            .await;
        assert!(failed.is_err());
        let again = MeetingName::parse("actor-test-2")?;
        assert!(
            registry
                .call(move |r| r.create_meeting(&again, false))
                .await?
        );
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    }
}
