//! The registry actor: one thread owns the registry's connection and runs every request of the
//! running server on it, one after another. Signaling and the store task await its answers;
//! nobody holds a lock on the registry, no tokio worker waits on the disk, and the SFU task
//! never calls it at all (the record has a writer thread of its own, `recorder.rs`).

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::registry::RegistryBackend;

/// One request: runs on the actor's thread with the backend.
type Job = Box<dyn FnOnce(&dyn RegistryBackend) + Send>;

/// A handle on the registry actor, cloned by everyone who asks it something.
#[derive(Clone)]
pub(crate) struct Registry {
    jobs: mpsc::Sender<Job>,
}

impl Registry {
    /// Starts the actor on a thread of its own, owning `backend`. It stops when the last
    /// handle is dropped.
    pub(crate) fn spawn(backend: impl RegistryBackend + 'static) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("summit-registry".into())
            .spawn(move || {
                while let Ok(job) = queue.recv() {
                    // A request that panics fails alone (its caller hears the registry stopped
                    // answering it); SQLite's transactions keep the file consistent.
                    if std::panic::catch_unwind(AssertUnwindSafe(|| job(&backend))).is_err() {
                        tracing::error!("a registry request panicked");
                    }
                }
            })?;
        Ok(Self { jobs })
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
        self.jobs
            .send(job)
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
        let registry = Registry::spawn(DataDir::open(&dir)?)?;
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
