//! The store task: persists what the core decides (revocations, ended meetings, denials,
//! invitations made from the page, resume tokens by hash) and brings revocations made by
//! `summit revoke` to the running core.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use summit_core::SfuEvent;
use summit_proto::InvitationId;
use tokio::sync::mpsc;

use crate::registry::{DataDir, KeptSession};
use crate::runtime::mailbox::Command;

/// How often the registry is checked for revocations made from outside.
const REVOCATION_POLL: Duration = Duration::from_millis(500);

/// The data directory, shared by the signaling tasks (entry checks) and the store task.
#[derive(Clone)]
pub(crate) struct Store(Arc<Mutex<DataDir>>);

impl Store {
    pub(crate) fn new(dir: DataDir) -> Self {
        Self(Arc::new(Mutex::new(dir)))
    }

    /// The data directory. A poisoned lock (a panic elsewhere) still yields the connection:
    /// SQLite's own transactions keep the file consistent.
    pub(crate) fn lock(&self) -> MutexGuard<'_, DataDir> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(crate) async fn run(
    store: Store,
    mut events: mpsc::UnboundedReceiver<SfuEvent>,
    commands: mpsc::Sender<Command>,
    restore_window: Duration,
) {
    // Sessions the last run held that are not back when the window closes are lost: the
    // record says so.
    let lost_at = tokio::time::Instant::now() + restore_window;
    let mut lost_pending = true;
    // Revocations already on record are refused at entry; only newer ones concern live sessions.
    let start = store.lock().revocations_since(0);
    let mut last = start.map(|(_, newest)| newest).unwrap_or(0);
    let mut poll = tokio::time::interval(REVOCATION_POLL);
    loop {
        tokio::select! {
            e = events.recv() => {
                let Some(e) = e else { break };
                let result = match &e {
                    SfuEvent::InvitationRevoked(id) => {
                        store.lock().revoke(&id.0, "removed by a host").map(|_| ())
                    }
                    SfuEvent::MeetingEnded(m) => store.lock().end_meeting(m),
                    SfuEvent::LanguageAdded(m, l) => {
                        store.lock().add_languages(m, std::slice::from_ref(l)).map(|_| ())
                    }
                    SfuEvent::InvitationDenied(m, d) => store.lock().deny(m, d),
                    SfuEvent::InvitationAllowed(m, i) => store.lock().allow_again(m, i),
                    SfuEvent::InvitationMade { meeting, invitation, by } => {
                        store.lock().invitation_made(meeting, invitation, by)
                    }
                    SfuEvent::Resumable { hash, meeting, invitation, participant, name, admitted } => {
                        store.lock().keep_resume(&KeptSession {
                            hash: *hash,
                            meeting: meeting.clone(),
                            invitation: invitation.clone(),
                            participant: *participant,
                            name: name.clone(),
                            admitted: *admitted,
                        })
                    }
                    SfuEvent::ResumeEnded(hash) => store.lock().forget_resume(hash),
                    SfuEvent::LockChanged(m, locked) => store.lock().set_locked(m, *locked),
                    _ => Ok(()),
                };
                if let Err(err) = result {
                    tracing::error!("could not record {e:?}: {err:#}");
                }
            }
            _ = tokio::time::sleep_until(lost_at), if lost_pending => {
                lost_pending = false;
                let lost = store.lock().expire_restores();
                match lost {
                    Ok(lost) if !lost.is_empty() => {
                        if commands.send(Command::LostInRestart(lost)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(err) => tracing::error!("could not read the sessions lost in a restart: {err:#}"),
                }
            }
            _ = poll.tick() => {
                let found = store.lock().revocations_since(last);
                match found {
                    Ok((ids, newest)) => {
                        last = newest;
                        for id in ids {
                            if commands.send(Command::Revoked(InvitationId(id))).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(err) => tracing::error!("could not read revocations: {err:#}"),
                }
            }
        }
    }
}
