//! The recorder: appends the core's record events to each meeting's chain in the registry as
//! the SFU task meets them, before it carries out anything the core decided after them, and
//! signs the head at every join, leave and end.

use std::collections::HashMap;
use std::time::SystemTime;

use summit_auth::SigningKey;
use summit_proto::{MeetingName, RecordHead};
use summit_record::{RecordEvent, SignedHead};

use crate::registry::record_log::ChainState;
use crate::registry::store::Store;

/// Appends record events and signs heads for the running server.
pub(crate) struct Recorder {
    store: Store,
    key: SigningKey,
    /// Chains of meetings seen since start; a meeting's is loaded from the registry once.
    chains: HashMap<MeetingName, ChainState>,
}

impl Recorder {
    /// A recorder writing to `store`, signing with its record key (created on first start).
    pub(crate) fn new(store: Store) -> anyhow::Result<Self> {
        let key = store.lock().record_key()?;
        Ok(Self {
            store,
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
        let mut dir = self.store.lock();
        let state = match self.chains.get_mut(meeting) {
            Some(s) => s,
            None => {
                let s = dir.record_chain(meeting.as_str())?;
                self.chains.entry(meeting.clone()).or_insert(s)
            }
        };
        // Never earlier than the entry before, even if the wall clock steps back.
        let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let at = now.max(state.last_at.clone());
        let signs = matches!(
            event,
            RecordEvent::Joined { .. }
                | RecordEvent::Left { .. }
                | RecordEvent::MeetingEnded { .. }
        );
        let ended = matches!(event, RecordEvent::MeetingEnded { .. });
        // Advance a copy: if the write fails, the chain stays where the registry is.
        let mut chain = state.chain.clone();
        let (entry, line, hash) = chain.append(at.clone(), event)?;
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
        dir.append_record(&entry, &line, hash, head.as_ref())?;
        state.chain = chain;
        state.last_at = at;
        if ended {
            // The next start reloads it; memory stays bounded by running meetings.
            self.chains.remove(meeting);
        }
        Ok(head.map(|h| RecordHead {
            meeting: h.meeting,
            seq: h.seq,
            hash: h.hash.to_string(),
            at: h.at,
            key: h.key,
            sig: h.sig,
        }))
    }
}
