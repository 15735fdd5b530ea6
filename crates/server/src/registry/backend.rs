//! What a running Summit asks of its registry (meetings, invitations and their uses,
//! revocations, denials, locks, sessions kept for resumption), as one interface: SQLite
//! implements it today (`sqlite.rs`), and a PostgreSQL backend for the cluster can implement
//! it too. The running server reaches it only through the registry actor (`actor.rs`).

use summit_core::RecordingKey;
use summit_proto::{
    DeniedInvitation, InvitationId, Language, MeetingName, ParticipantId, ResumeHash,
};

use crate::registry::record_log::{ChainState, StoredEntry};
use crate::registry::{EntryRefusal, KeptSession, RegisteredMeeting};

/// The registry's operations. Each is one transaction of its own.
pub(crate) trait RegistryBackend: Send {
    /// Registers a meeting; false if it existed (its encryption setting is then unchanged).
    fn create_meeting(&self, name: &MeetingName, e2ee: bool) -> anyhow::Result<bool>;

    /// A registered meeting's interpretation channels (none if it is not registered).
    fn meeting_languages(&self, name: &MeetingName) -> anyhow::Result<Vec<Language>>;

    /// Adds interpretation channels to a registered meeting; returns those that were new.
    fn add_languages(
        &self,
        name: &MeetingName,
        languages: &[Language],
    ) -> anyhow::Result<Vec<Language>>;

    /// A registered meeting's recording key (public half) and the organizer's MAC over it.
    fn meeting_recording_key(&self, name: &MeetingName) -> anyhow::Result<Option<RecordingKey>>;

    /// Sets a registered meeting's recording key, with the organizer's MAC over it.
    fn set_recording_key(&self, name: &MeetingName, key: &str, mac: &str) -> anyhow::Result<()>;

    /// Whether a registered meeting is end-to-end encrypted; `None` if it is not registered.
    fn meeting_e2ee(&self, name: &MeetingName) -> anyhow::Result<Option<bool>>;

    /// Revokes an invitation, and every invitation made from the page by whoever entered with
    /// it (and so on down); false if it was revoked already.
    fn revoke(&self, invitation: &str, reason: &str) -> anyhow::Result<bool>;

    /// Remembers that a host (entered with `by`) made `invitation` from the meeting page.
    fn invitation_made(
        &self,
        meeting: &MeetingName,
        invitation: &InvitationId,
        by: &InvitationId,
    ) -> anyhow::Result<()>;

    /// A host denied an invitation: it may not wait in this meeting's lobby again.
    fn deny(&self, meeting: &MeetingName, d: &DeniedInvitation) -> anyhow::Result<()>;

    /// A host allowed a denied invitation again.
    fn allow_again(&self, meeting: &MeetingName, invitation: &InvitationId) -> anyhow::Result<()>;

    /// The invitations hosts denied in a meeting, oldest first.
    fn denials(&self, meeting: &MeetingName) -> anyhow::Result<Vec<DeniedInvitation>>;

    /// Keeps a session's resume token (by hash only) while it may take the session back, with
    /// what a restart needs to bring the session back as it was: its participant id (ids are
    /// counted past it, so that no id, and no SFrame key id, ever repeats) and name.
    fn keep_resume(&self, s: &KeptSession) -> anyhow::Result<()>;

    /// The first participant id this run may give: past every id given before (ids, and the
    /// SFrame key ids made from them, never repeat across restarts).
    fn next_participant_id(&self) -> anyhow::Result<u64>;

    /// Forgets a resume token.
    fn forget_resume(&self, hash: &ResumeHash) -> anyhow::Result<()>;

    /// At start: tokens still kept belong to sessions the last run of the server held when it
    /// stopped. They may come back within the window from `now` (Unix seconds); those of an
    /// earlier run, older than that, go. Returns the meetings that were running at the stop.
    fn orphan_resume_tokens(&self, now: u64) -> anyhow::Result<Vec<MeetingName>>;

    /// Sessions of the last run that did not come back within the window: forgotten now, and
    /// returned so that the record can say they were lost.
    fn expire_restores(&self) -> anyhow::Result<Vec<KeptSession>>;

    /// A session kept from before this server started, taken back by its token within the
    /// window: its participant id and whether it had been let in. The token is spent (a new
    /// one replaces it).
    fn restore_resume(
        &self,
        hash: &ResumeHash,
        meeting: &MeetingName,
        invitation: &InvitationId,
        now: u64,
        window_secs: u64,
    ) -> anyhow::Result<Option<(ParticipantId, bool)>>;

    /// A host locked (or unlocked) the meeting.
    fn set_locked(&self, meeting: &MeetingName, locked: bool) -> anyhow::Result<()>;

    /// Whether a host left the meeting locked.
    fn is_locked(&self, meeting: &MeetingName) -> anyhow::Result<bool>;

    /// Whether a host denied this invitation in this meeting.
    fn is_denied(&self, invitation: &str, meeting: &MeetingName) -> anyhow::Result<bool>;

    /// Why an invitation may not enter at all now (revoked, or its meeting ended), if so.
    fn check(
        &self,
        invitation: &str,
        meeting: &MeetingName,
    ) -> anyhow::Result<Result<(), EntryRefusal>>;

    /// Spends one of an invitation's uses; false when none is left.
    fn spend_use(&self, invitation: &str, max_uses: Option<u32>) -> anyhow::Result<bool>;

    /// Gives back a use spent by [`DataDir::spend_use`] (a resumed session, or a refused join).
    fn give_back(&self, invitation: &str) -> anyhow::Result<()>;

    /// Marks a meeting ended: its links say so from now on.
    fn end_meeting(&self, meeting: &MeetingName) -> anyhow::Result<()>;

    /// Revocations after `after` (a row id), with the newest row id.
    fn revocations_since(&self, after: i64) -> anyhow::Result<(Vec<String>, i64)>;

    /// Registered meetings, oldest first.
    fn meetings(&self) -> anyhow::Result<Vec<RegisteredMeeting>>;

    /// Where `meeting`'s record chain stands (empty if it has no entries).
    fn record_chain(&self, meeting: &MeetingName) -> anyhow::Result<ChainState>;

    /// Stores record entries (each with its signed head, if any) and what they tell the
    /// registry (meetings started, sessions), in one transaction: when this returns, every one
    /// survives a crash; on an error, none is stored.
    fn append_records(&self, batch: &[StoredEntry]) -> anyhow::Result<()>;
}
