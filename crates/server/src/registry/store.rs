//! The store task: persists what the core decides (revocations, ended meetings, denials,
//! invitations made from the page, resume tokens by hash) and brings revocations made by
//! `summit revoke` to the running core, all through the registry actor.

use std::time::Duration;

use anyhow::Context;

use summit_core::SfuEvent;
use summit_proto::InvitationId;
use tokio::sync::mpsc;

use crate::registry::actor::Registry;
use crate::registry::{KeptSession, RegistryBackend};
use crate::runtime::mailbox::Command;

/// How often the registry is checked for revocations made from outside.
const REVOCATION_POLL: Duration = Duration::from_millis(500);

/// Persists the core's events and polls for revocations and sessions lost in a restart, all
/// through the registry actor.
pub(crate) async fn run(
    registry: Registry,
    mut events: mpsc::UnboundedReceiver<SfuEvent>,
    commands: mpsc::Sender<Command>,
    restore_window: Duration,
) {
    // Sessions the last run held that are not back when the window closes are lost: the
    // record says so.
    let lost_at = tokio::time::Instant::now() + restore_window;
    let mut lost_pending = true;
    // Revocations already on record are refused at entry; only newer ones concern live sessions.
    let start = registry.call(|r| r.revocations_since(0)).await;
    let mut last = start.map(|(_, newest)| newest).unwrap_or(0);
    let mut poll = tokio::time::interval(REVOCATION_POLL);
    loop {
        tokio::select! {
            e = events.recv() => {
                let Some(e) = e else { break };
                let result = registry
                    .call(move |r| persist(r, &e).with_context(|| format!("{e:?}")))
                    .await;
                if let Err(err) = result {
                    tracing::error!("could not record {err:#}");
                }
            }
            _ = tokio::time::sleep_until(lost_at), if lost_pending => {
                lost_pending = false;
                let lost = registry.call(|r| r.expire_restores()).await;
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
                let found = registry.call(move |r| r.revocations_since(last)).await;
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

/// Makes one of the core's events durable in the registry (the events it keeps nothing of
/// are ignored).
fn persist(r: &dyn RegistryBackend, e: &SfuEvent) -> anyhow::Result<()> {
    match e {
        SfuEvent::InvitationRevoked(id) => r.revoke(&id.0, "removed by a host").map(|_| ()),
        SfuEvent::MeetingEnded(m) => r.end_meeting(m),
        SfuEvent::LanguageAdded(m, l) => r.add_languages(m, std::slice::from_ref(l)).map(|_| ()),
        SfuEvent::InvitationDenied(m, d) => r.deny(m, d),
        SfuEvent::InvitationAllowed(m, i) => r.allow_again(m, i),
        SfuEvent::InvitationMade {
            meeting,
            invitation,
            by,
        } => r.invitation_made(meeting, invitation, by),
        SfuEvent::Resumable {
            hash,
            meeting,
            invitation,
            participant,
            name,
            admitted,
        } => r.keep_resume(&KeptSession {
            hash: *hash,
            meeting: meeting.clone(),
            invitation: invitation.clone(),
            participant: *participant,
            name: name.clone(),
            admitted: *admitted,
        }),
        SfuEvent::ResumeEnded(hash) => r.forget_resume(hash),
        SfuEvent::LockChanged(m, locked) => r.set_locked(m, *locked),
        _ => Ok(()),
    }
}
