//! Signaling messages (protocol version 1): JSON objects tagged by `"type"`, one per WebSocket text frame.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    InvitationId, Language, LanguagePair, MeetingName, Opaque, ParticipantId, RecordPublicKey,
    RecordSignature, RecordingKeyMac, RecordingPublicKey, ResumeToken, Role, TrackSource,
};

/// The signaling protocol version this build speaks (2: random resume tokens, key messages
/// split per recipient).
pub const PROTOCOL_VERSION: u32 = 2;
/// Largest signaling message accepted by default, in bytes (`summit serve
/// --max-message-bytes`): room for the largest SDP.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;
/// Largest SDP accepted inside a message, in bytes. A page answers the server's offer with an
/// m-line per camera it receives, about 2.5 KB each from Chromium (54 KB for 21 cameras): a
/// meeting of 100 needs about 270 KB, until video is received through a bounded number of
/// slots as audio is.
pub const MAX_SDP_BYTES: usize = 384 * 1024;
/// Largest end-to-end encryption payload (sealed chat, a sealed recording key) accepted, in bytes.
pub const MAX_SEALED_BYTES: usize = 24 * 1024;
/// Largest `data` of an `e2ee` message, the part every recipient gets, in bytes.
pub const MAX_E2EE_DATA_BYTES: usize = 4 * 1024;
/// Largest per-recipient entry of an `e2ee` message (one wrapped key), in bytes.
pub const MAX_E2EE_KEY_BYTES: usize = 512;

/// A message from the page to the server, as it comes off the wire: the edge (signaling, where
/// invitations are verified and signed) handles an [`EdgeMessage`] itself and hands a
/// [`MeetingMessage`] to the meeting. On the wire both are one JSON object tagged by `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// Entering a meeting, or making an invitation: the edge's.
    Edge(EdgeMessage),
    /// Everything else: the meeting's.
    Meeting(MeetingMessage),
}

/// What the edge handles itself: entering a meeting with an invitation, and (a host) signing a
/// new invitation with the server's key, which the core never holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EdgeMessage {
    /// First message: enter `meeting` with an invitation token.
    Join {
        /// Protocol version the page speaks.
        version: u32,
        /// Set when reconnecting: the token the server gave this page, to resume that session.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_token: Option<ResumeToken>,
        /// With `resume_token`: the page still has its media connections (it lost only the
        /// signaling, or its network changed), so the server keeps its side of them too.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        keep_media: bool,
        /// The page receives cameras through video slots, pointed by its `view`, rather than
        /// an m-line per camera: a join or a new camera then costs its page no offer.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        video_slots: bool,
        /// The meeting named by the page's link.
        meeting: MeetingName,
        /// The invitation token from the link.
        invite: String,
    },
    /// Host: make an invitation to this meeting.
    Invite {
        /// The invitee's display name.
        name: String,
        /// The invitee's role.
        role: Role,
        /// For an interpreter: the pair they work between (required for that role).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interprets: Option<LanguagePair>,
    },
}

impl Serialize for ClientMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ClientMessage::Edge(m) => m.serialize(s),
            ClientMessage::Meeting(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ClientMessage {
    /// Reads the `type` first, then the message of that kind, so that errors name the field at
    /// fault (serde's untagged fallback would only say that nothing matched).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let edge = matches!(
            value.get("type").and_then(serde_json::Value::as_str),
            Some("join" | "invite")
        );
        let parsed = if edge {
            EdgeMessage::deserialize(value).map(ClientMessage::Edge)
        } else {
            MeetingMessage::deserialize(value).map(ClientMessage::Meeting)
        };
        parsed.map_err(serde::de::Error::custom)
    }
}

impl From<MeetingMessage> for ClientMessage {
    fn from(m: MeetingMessage) -> Self {
        ClientMessage::Meeting(m)
    }
}

/// A message from a page in a meeting (or its lobby) to the meeting: everything the core
/// handles. The edge takes the rest ([`EdgeMessage`]), so the core's type has no case it must
/// refuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MeetingMessage {
    /// An SDP offer for the publishing connection, with what each sending m-line carries.
    Publish {
        /// The offer.
        sdp: String,
        /// Which source each `mid` carries.
        tracks: Vec<PublishedTrackInfo>,
    },
    /// The answer to the server's last `subscribe_offer`.
    SubscribeAnswer {
        /// The answer.
        sdp: String,
    },
    /// The page muted or unmuted one of its sources (shown to others).
    Mute {
        /// Which source.
        source: TrackSource,
        /// Whether it is now muted (camera: off).
        muted: bool,
    },
    /// A chat message to everyone in the meeting.
    Chat {
        /// The text, at most 4,000 characters; when `sealed`, its end-to-end ciphertext.
        text: String,
        /// The text is encrypted end to end (required in an encrypted meeting).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        sealed: bool,
    },
    /// End-to-end key exchange, opaque to the server. With `keys`, each member listed gets
    /// `data` and its own entry; otherwise `data` goes to `to`, or to everyone else.
    E2ee {
        /// The recipient; everyone else in the meeting when absent (ignored with `keys`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<ParticipantId>,
        /// The part every recipient gets (the web client's key exchange message).
        data: Opaque,
        /// One entry per recipient (a media key wrapped for them): each gets only its own.
        #[serde(
            default,
            skip_serializing_if = "BTreeMap::is_empty",
            deserialize_with = "keys_by_id"
        )]
        keys: BTreeMap<ParticipantId, Opaque>,
    },
    /// Heartbeat; the server answers `pong`.
    Ping {},
    /// The page's network changed: the server offers the subscribing connection again with new
    /// ICE credentials (the page restarts ICE on its publishing one with its own offer).
    IceRestart {},
    /// Host: let a waiting participant in.
    Admit {
        /// Who.
        participant: ParticipantId,
    },
    /// Host: turn a waiting participant away; their invitation cannot wait in this meeting's
    /// lobby again until a host allows it.
    Deny {
        /// Who.
        participant: ParticipantId,
    },
    /// Host: let an invitation that was denied wait in the lobby again.
    AllowAgain {
        /// The invitation.
        invitation: InvitationId,
    },
    /// Host: stop forwarding a participant's microphone (they may unmute themselves).
    MuteParticipant {
        /// Who.
        participant: ParticipantId,
    },
    /// Host: remove a participant and revoke their invitation.
    Remove {
        /// Who.
        participant: ParticipantId,
    },
    /// Host: lock (no one new enters) or unlock the meeting.
    Lock {
        /// Whether the meeting is now locked.
        locked: bool,
    },
    /// Host: end the meeting for everyone.
    EndMeeting {},
    /// Pick what to hear: a language channel over the floor, or the floor alone (`null`).
    Listen {
        /// The channel, or none for the floor (the original sound).
        channel: Option<Language>,
    },
    /// Interpreter: take the booth's microphone (refused while a partner holds it).
    TakeMic {},
    /// Interpreter: give the microphone to a booth partner, at once.
    HandOver {
        /// The partner.
        to: ParticipantId,
    },
    /// Interpreter: let go of the microphone.
    ReleaseMic {},
    /// Interpreter: speak into this language of the pair from now on.
    SetDirection {
        /// The channel the booth now feeds.
        into: Language,
    },
    /// Host: start recording the meeting (every track, as it arrives).
    StartRecording {},
    /// While an encrypted meeting is recorded: one of this page's media keys, sealed to the
    /// meeting's recording key (opaque to the server, kept beside the recording).
    RecordingKey {
        /// The sealed key (docs/record.md).
        data: Opaque,
    },
    /// Host: stop recording.
    StopRecording {},
    /// Host: add a language channel to the meeting.
    AddLanguage {
        /// The new channel.
        language: Language,
    },
    /// How big this page shows other participants' video: the server sends each the simulcast
    /// layer that fits, and nothing for video shown nowhere. Tiles not listed keep their last
    /// report; a tile never reported gets the best layer the link carries.
    Display {
        /// One entry per tile that changed.
        tiles: Vec<TileDisplay>,
    },
    /// Which cameras this page shows now, in the order it shows them (a page that joined
    /// with `video_slots`): its video slots carry them, at most [`MAX_VIEW_TILES`].
    View {
        /// Whose camera tiles are on screen.
        tiles: Vec<ParticipantId>,
        /// How many video slots the page wants: the most tiles its layout shows at once (so
        /// that paging never needs an offer); at least `tiles`, at most [`MAX_VIEW_TILES`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slots: Option<u32>,
    },
    /// Leave the meeting.
    Leave {},
}

/// Most camera tiles one `view` may show (a gallery page of 5 by 5).
pub const MAX_VIEW_TILES: usize = 25;

/// A JSON object keyed by participant ids (object keys are strings in JSON; inside an
/// internally tagged enum serde no longer turns them into numbers by itself).
fn keys_by_id<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<ParticipantId, Opaque>, D::Error> {
    let raw = BTreeMap::<String, Opaque>::deserialize(d)?;
    raw.into_iter()
        .map(|(k, v)| {
            let id = k
                .parse::<u64>()
                .map_err(|_| serde::de::Error::custom(format!("'{k}' is not a participant id")))?;
            Ok((ParticipantId(id), v))
        })
        .collect()
}

/// How big one remote video is shown, in device pixels; 0 by 0 means not shown (paused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileDisplay {
    /// Whose video.
    pub participant: ParticipantId,
    /// Which of their sources (camera or screen).
    pub source: TrackSource,
    /// Shown width in device pixels.
    pub width: u32,
    /// Shown height in device pixels.
    pub height: u32,
}

/// Most simulcast layers one published track may declare.
pub const MAX_LAYERS: usize = 3;

/// One simulcast layer of a published video track, as the page encodes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerInfo {
    /// The RTP stream id (`a=rid`) the layer is sent with.
    pub rid: String,
    /// Encoded width in pixels.
    pub width: u32,
    /// Encoded height in pixels.
    pub height: u32,
}

/// What one m-line of a publishing offer carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedTrackInfo {
    /// The m-line's mid.
    pub mid: String,
    /// The source it carries.
    pub source: TrackSource,
    /// Simulcast layers, lowest first; empty when the track is sent as one stream.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<LayerInfo>,
}

/// A participant as others see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    /// Their id.
    pub id: ParticipantId,
    /// Display name from their invitation.
    pub name: String,
    /// Role from their invitation.
    pub role: Role,
    /// Microphone muted (or not published).
    pub microphone_muted: bool,
    /// Camera off (or not published).
    pub camera_off: bool,
    /// Sharing their screen.
    pub screen_sharing: bool,
    /// How their connection to the server is doing.
    #[serde(default)]
    pub connection: ConnectionState,
    /// What the server saw of their uplink when it last judged it (with `poor`, and on the way
    /// back to `good`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uplink: Option<Uplink>,
}

/// Loss and jitter of what a participant sends, as the server receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uplink {
    /// Packets lost, in percent.
    pub loss_percent: u8,
    /// Interarrival jitter, in milliseconds.
    pub jitter_ms: u16,
}

/// A TURN server and this participant's time-limited credentials for it, as the browser's
/// `RTCIceServer` takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `turn:` or `turns:` URLs (`?transport=tcp` for TURN over TCP).
    pub urls: Vec<String>,
    /// `<expiry unix seconds>:<participant>`.
    pub username: String,
    /// base64(HMAC-SHA1(shared secret, username)).
    pub credential: String,
}

/// A participant's connection to the server, as the server sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Connected.
    #[default]
    Good,
    /// Connected, but what they send reaches the server with heavy loss or jitter: others
    /// see and hear them break up because of their connection.
    Poor,
    /// Lost, and not back yet: they stay in the meeting (and keep their keys) until the resume
    /// window ends.
    Reconnecting,
}

/// One m-line of the subscribing connection and the track it currently carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribedTrack {
    /// The m-line's mid.
    pub mid: String,
    /// Whose track.
    pub participant: ParticipantId,
    /// Which of their sources.
    pub source: TrackSource,
}

/// One switched slot (a speaker slot or a video slot) and whose track it carries now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchedSlot {
    /// The m-line's mid.
    pub mid: String,
    /// Whose microphone (a speaker slot) or camera (a video slot); nobody's while there is
    /// no one for it.
    pub participant: Option<ParticipantId>,
}

/// An invitation a host turned away from the lobby.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeniedInvitation {
    /// The invitation.
    pub invitation: InvitationId,
    /// The name it carries.
    pub name: String,
    /// The host who denied it.
    pub by: String,
}

/// A chat message as delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Sender.
    pub from: ParticipantId,
    /// Sender's display name.
    pub name: String,
    /// The text; when `sealed`, its end-to-end ciphertext.
    pub text: String,
    /// The text is encrypted end to end.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sealed: bool,
    /// When the server received it, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// The interpretation state of a meeting, as one participant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterpretationState {
    /// The language channels besides the floor.
    pub languages: Vec<Language>,
    /// The interpreter booths.
    pub booths: Vec<BoothInfo>,
    /// Each channel and whose microphone feeds it now.
    pub channels: Vec<ChannelInfo>,
    /// What this participant hears: a channel, or the floor (`null`).
    pub hearing: Option<Language>,
}

/// Interpreters who share one language pair and one microphone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothInfo {
    /// The pair.
    pub pair: LanguagePair,
    /// The channel the booth speaks into now.
    pub into: Language,
    /// Its interpreters, in order of entry.
    pub interpreters: Vec<ParticipantId>,
    /// Who holds the microphone.
    pub holder: Option<ParticipantId>,
}

/// A language channel and its current source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// The channel.
    pub language: Language,
    /// The interpreter whose microphone feeds it now, if any.
    pub source: Option<ParticipantId>,
}

/// A signed head of a meeting's record (docs/record.md has how to check it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHead {
    /// The meeting.
    pub meeting: String,
    /// The last entry covered.
    pub seq: u64,
    /// The SHA-256 of that entry's line, in hex.
    pub hash: String,
    /// When it was signed (RFC 3339).
    pub at: String,
    /// The server's record key.
    pub key: RecordPublicKey,
    /// The signature over the head.
    pub sig: RecordSignature,
}

/// A message from the server to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The join succeeded.
    Welcome {
        /// Protocol version of the server.
        version: u32,
        /// The joiner's own id.
        participant_id: ParticipantId,
        /// The meeting.
        meeting: MeetingName,
        /// The joiner's display name.
        name: String,
        /// The joiner's role.
        role: Role,
        /// Whether the joiner may publish media.
        can_publish: bool,
        /// Whether the joiner may publish video (otherwise audio only).
        can_publish_video: bool,
        /// Whether the joiner may chat.
        can_chat: bool,
        /// Whether the joiner may moderate (admit, remove, mute others, lock, end, invite).
        can_moderate: bool,
        /// Whether the meeting is locked.
        locked: bool,
        /// Whether media and chat are end-to-end encrypted (the page needs the meeting secret).
        e2ee: bool,
        /// Whether the meeting is being recorded.
        #[serde(default)]
        recording: bool,
        /// Who started the recording running now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recording_by: Option<String>,
        /// A recording that ran when the server last stopped was cut there, and no host has
        /// started one since (told to hosts only, who may start it again).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        recording_interrupted: bool,
        /// Whether to send the microphone as RED (RFC 2198) where the browser can: every page
        /// in the meeting can receive it. See `audio_redundancy`.
        #[serde(default)]
        audio_redundancy: bool,
        /// The public key recordings of this encrypted meeting are sealed to, if it has one
        /// (base64url of an uncompressed P-256 point).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recording_key: Option<RecordingPublicKey>,
        /// The organizer's proof that `recording_key` is theirs: HMAC-SHA256 under a key
        /// derived from the meeting secret, which the server never holds (docs/e2ee.md).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recording_key_mac: Option<RecordingKeyMac>,
        /// Everyone else already present.
        participants: Vec<ParticipantInfo>,
        /// Recent chat, oldest first.
        chat: Vec<ChatMessage>,
        /// How often the page should send `ping`, in milliseconds.
        heartbeat_ms: u64,
        /// Presented in `join` after a lost connection, it resumes this session.
        resume_token: ResumeToken,
        /// The session went on while the page was away, with its media connections: the page
        /// keeps its own, and the messages it missed follow this one.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        resumed: bool,
        /// TURN servers with credentials for this participant (as `RTCIceServer`s), when the
        /// server has any; renewed by `ice_servers` before they expire.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    /// New TURN credentials before the last ones expire; the page takes them on with an ICE
    /// restart.
    IceServers {
        /// As in `welcome`.
        ice_servers: Vec<IceServer>,
    },
    /// The answer to a `publish` offer.
    PublishAnswer {
        /// The answer.
        sdp: String,
    },
    /// An offer for the subscribing connection; answer with `subscribe_answer`.
    SubscribeOffer {
        /// The offer.
        sdp: String,
        /// Every active m-line and what it carries.
        tracks: Vec<SubscribedTrack>,
        /// The m-line carrying the language channel this page listens to (its source changes
        /// at handovers without a new offer), once the page has picked one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel_mid: Option<String>,
        /// The m-lines that carry the meeting's loudest speakers (their sources change without
        /// a new offer: `speaker_slots` says to whom). Those carrying someone now are in
        /// `tracks` too.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        speaker_mids: Vec<String>,
        /// The m-lines that carry the cameras this page shows (a page that joined with
        /// `video_slots`; their sources change without a new offer: `video_slots` says to
        /// whom). Those carrying someone now are in `tracks` too.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        video_mids: Vec<String>,
        /// The m-line that carries the meeting's shared screen (with video slots; its source
        /// changes without a new offer, told in `video_slots`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        screen_mid: Option<String>,
    },
    /// Whom each video slot (and the screen slot) of this page carries now, after a change
    /// (no new offer).
    VideoSlots {
        /// Every video slot the last offer made, and the screen slot.
        slots: Vec<SwitchedSlot>,
    },
    /// Whom each speaker slot of this page carries now, after a change (no new offer).
    SpeakerSlots {
        /// Every speaker slot the last offer made.
        slots: Vec<SwitchedSlot>,
    },
    /// Who is heard in the meeting now (the loudest speakers, in the order they took the
    /// floor), and who speaks most: for the speaker view. In an encrypted meeting this is the
    /// server's word: pages show someone speaking only from the sound they decoded.
    ActiveSpeakers {
        /// Those heard now.
        speakers: Vec<ParticipantId>,
        /// The dominant speaker, once anyone spoke.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dominant: Option<ParticipantId>,
    },
    /// Someone entered.
    ParticipantJoined {
        /// Who.
        participant: ParticipantInfo,
    },
    /// Someone's state changed (mute, camera, screen share).
    ParticipantUpdated {
        /// Their new state.
        participant: ParticipantInfo,
    },
    /// Someone left.
    ParticipantLeft {
        /// Who.
        participant_id: ParticipantId,
        /// Why, in words.
        reason: String,
    },
    /// A chat message.
    Chat(ChatMessage),
    /// End-to-end key exchange from another member, relayed unread.
    E2ee {
        /// The sender.
        from: ParticipantId,
        /// The payload as sent.
        data: Opaque,
        /// The sender's entry for this recipient, if it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<Opaque>,
    },
    /// Answer to `ping`.
    Pong {},
    /// Whether to send the microphone as RED (RFC 2198, each packet also carrying the one
    /// before) where the browser can: off while a page in the meeting cannot receive RED (an
    /// encrypted RED payload cannot be unwrapped for it), on again once none is left.
    AudioRedundancy {
        /// Send RED.
        on: bool,
    },
    /// How this page's own media reaches the server: sent when the server's verdict on it
    /// changes (the others get it as `participant_updated`). A page's own statistics describe
    /// only what it receives, so this is how a person learns that others see and hear them
    /// break up.
    YourUplink {
        /// Judged poor (true), or good again (false).
        poor: bool,
        /// The figures the verdict was made on.
        uplink: Uplink,
    },
    /// The server stopped (or resumed) sending one video to this page because its link cannot
    /// carry it (bandwidth estimate), not because the page hid it: the page says so on the tile.
    VideoPaused {
        /// Whose video.
        participant: ParticipantId,
        /// Which of their sources.
        source: TrackSource,
        /// Stopped (true) or sent again (false).
        paused: bool,
    },
    /// The joiner waits in the lobby until a host admits them.
    Lobby {
        /// The meeting.
        meeting: MeetingName,
        /// The joiner's display name.
        name: String,
        /// Whether a host is present to admit them.
        host_present: bool,
        /// How often the page should send `ping` while it waits, in milliseconds.
        heartbeat_ms: u64,
        /// Presented in `join` after a lost connection, it takes this place in the lobby back.
        resume_token: ResumeToken,
    },
    /// To hosts: who waits in the lobby now, and which invitations were denied.
    LobbyChanged {
        /// Waiting participants, in order of arrival.
        waiting: Vec<ParticipantInfo>,
        /// Invitations a host denied: they cannot wait in the lobby until allowed again.
        #[serde(default)]
        denied: Vec<DeniedInvitation>,
    },
    /// The meeting was locked or unlocked.
    MeetingLocked {
        /// Whether it is locked now.
        locked: bool,
        /// The host who did it.
        by: String,
    },
    /// Recording started or stopped: every page shows it while it runs.
    Recording {
        /// Whether it runs now.
        on: bool,
        /// The host who started or stopped it.
        by: String,
    },
    /// A host muted this participant's microphone.
    MutedByHost {
        /// The host's name.
        by: String,
    },
    /// The meeting's interpretation: channels, booths and who holds each microphone. Sent on
    /// entry to meetings with channels and whenever any of it changes.
    Interpretation(InterpretationState),
    /// The meeting record's head, signed by the server after a join, a leave or the end:
    /// the page keeps the latest as proof of what the record held (docs/record.md).
    RecordHead {
        /// The signed head.
        head: RecordHead,
    },
    /// A new invitation, in answer to `invite`.
    Invitation {
        /// The token, to put in a link `<origin>/m/<meeting>?invite=<token>`.
        token: String,
        /// Its id (for revocation).
        invitation_id: InvitationId,
        /// When it expires (RFC 3339).
        expires: String,
    },
    /// A request could not be served; the connection stays open.
    Error {
        /// Machine-readable code.
        code: ErrorCode,
        /// What went wrong, in words.
        message: String,
    },
}

/// Machine-readable error codes in `error` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Not valid JSON, an unknown type, or wrong fields.
    InvalidMessage,
    /// A message arrived that is not allowed in the current state.
    UnexpectedMessage,
    /// The SDP could not be used.
    InvalidSdp,
    /// A field was too large.
    TooLarge,
    /// The participant lacks the capability for this request.
    NotAllowed,
    /// Too many messages; slow down.
    RateLimited,
    /// The server failed; the request may be retried.
    Internal,
}

/// The close code a page uses when it replaces a signaling connection it believes lost (its
/// network changed, or the server stopped answering): the server keeps the participant,
/// reconnecting, as for a connection that dropped.
pub const CLOSE_PAGE_RECONNECTING: u16 = 4100;

/// WebSocket close codes the server uses, with a reason in the close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
#[non_exhaustive]
pub enum CloseCode {
    /// Normal close after `leave`.
    Normal = 1000,
    /// A message larger than [`MAX_MESSAGE_BYTES`].
    TooBig = 1009,
    /// The server is shutting down.
    GoingAway = 1001,
    /// The first message was not a valid `join`, or the protocol was broken.
    ProtocolError = 4000,
    /// The invitation was refused (invalid, expired, wrong meeting).
    InvitationRefused = 4001,
    /// The protocol version is not supported.
    UnsupportedVersion = 4002,
    /// No heartbeat within the timeout.
    HeartbeatTimeout = 4008,
    /// A host did not admit the participant.
    Denied = 4003,
    /// A host removed the participant.
    Removed = 4004,
    /// The meeting is locked.
    Locked = 4005,
    /// The meeting has ended.
    Ended = 4006,
    /// The meeting is full.
    MeetingFull = 4009,
    /// The server could not admit the participant.
    Refused = 4010,
    /// Too many connections or messages.
    RateLimited = 4029,
}

impl CloseCode {
    /// The numeric code.
    pub fn code(self) -> u16 {
        self as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name `web/protocol.js` gives a close code (a new code fails to compile here).
    fn js_name(c: CloseCode) -> &'static str {
        match c {
            CloseCode::Normal => "NORMAL",
            CloseCode::TooBig => "TOO_BIG",
            CloseCode::GoingAway => "GOING_AWAY",
            CloseCode::ProtocolError => "PROTOCOL_ERROR",
            CloseCode::InvitationRefused => "INVITATION_REFUSED",
            CloseCode::UnsupportedVersion => "UNSUPPORTED_VERSION",
            CloseCode::HeartbeatTimeout => "HEARTBEAT_TIMEOUT",
            CloseCode::Denied => "DENIED",
            CloseCode::Removed => "REMOVED",
            CloseCode::Locked => "LOCKED",
            CloseCode::Ended => "ENDED",
            CloseCode::MeetingFull => "MEETING_FULL",
            CloseCode::Refused => "REFUSED",
            CloseCode::RateLimited => "RATE_LIMITED",
        }
    }

    #[test]
    fn the_web_client_knows_every_close_code_by_the_same_number() {
        let js = include_str!("../../../web/protocol.js");
        for c in [
            CloseCode::Normal,
            CloseCode::TooBig,
            CloseCode::GoingAway,
            CloseCode::ProtocolError,
            CloseCode::InvitationRefused,
            CloseCode::UnsupportedVersion,
            CloseCode::HeartbeatTimeout,
            CloseCode::Denied,
            CloseCode::Removed,
            CloseCode::Locked,
            CloseCode::Ended,
            CloseCode::MeetingFull,
            CloseCode::Refused,
            CloseCode::RateLimited,
        ] {
            let line = format!("  {}: {},", js_name(c), c.code());
            assert!(js.contains(&line), "web/protocol.js lacks `{line}`");
        }
        let line = format!("  PAGE_RECONNECTING: {CLOSE_PAGE_RECONNECTING},");
        assert!(js.contains(&line), "web/protocol.js lacks `{line}`");
        let line = format!("export const PROTOCOL_VERSION = {PROTOCOL_VERSION};");
        assert!(js.contains(&line), "web/protocol.js lacks `{line}`");
    }

    #[test]
    fn client_messages_parse() {
        let m: ClientMessage = serde_json::from_str(
            r#"{"type":"join","version":2,"meeting":"m-1","invite":"t","resume_token":"abc"}"#,
        )
        .unwrap();
        assert!(
            matches!(&m, ClientMessage::Edge(EdgeMessage::Join { version: 2, resume_token: Some(t), .. }) if t.as_str() == "abc")
        );
        assert!(!format!("{m:?}").contains("abc"), "tokens stay out of logs");
        let m: ClientMessage = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(m, ClientMessage::Meeting(MeetingMessage::Ping {}));
        let m: ClientMessage = serde_json::from_str(
            r#"{"type":"join","version":2,"meeting":"m-1","invite":"t","video_slots":true}"#,
        )
        .unwrap();
        assert!(matches!(
            m,
            ClientMessage::Edge(EdgeMessage::Join {
                video_slots: true,
                ..
            })
        ));
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"view","tiles":[4,7],"slots":6}"#).unwrap();
        let view = MeetingMessage::View {
            tiles: vec![ParticipantId(4), ParticipantId(7)],
            slots: Some(6),
        };
        assert_eq!(m, ClientMessage::Meeting(view));
        for bad in [
            r#"{"type":"nope"}"#,
            r#"{"type":"chat","text":5}"#,
            r#"{"type":"join","version":1,"meeting":"a b","invite":"t"}"#,
            r#"[1,2]"#,
            r#"{"type":"mute","source":"camera"}"#,
            // Version 1's bare participant id no longer resumes anything.
            r#"{"type":"join","version":2,"meeting":"m","invite":"t","resume":3}"#,
            r#"{"type":"view","tiles":["4"]}"#,
        ] {
            assert!(serde_json::from_str::<ClientMessage>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_messages_are_tagged() {
        let s = serde_json::to_string(&ServerMessage::Pong {}).unwrap();
        assert_eq!(s, r#"{"type":"pong"}"#);
        let s = serde_json::to_string(&ServerMessage::Chat(ChatMessage {
            from: ParticipantId(3),
            name: "A".into(),
            text: "hi".into(),
            sealed: false,
            at_ms: 1,
        }))
        .unwrap();
        assert!(s.starts_with(r#"{"type":"chat","from":3"#), "{s}");
        assert!(!s.contains("sealed"), "plain chat stays as it was: {s}");
    }

    #[test]
    fn a_wrong_message_says_what_is_wrong_with_it() {
        let err = |text: &str| {
            serde_json::from_str::<ClientMessage>(text)
                .unwrap_err()
                .to_string()
        };
        assert!(err(r#"{"type":"chat"}"#).contains("missing field `text`"));
        assert!(err(r#"{"type":"join","version":2}"#).contains("missing field `meeting`"));
        assert!(err(r#"{"type":"nope"}"#).contains("unknown variant `nope`"));
        assert!(err(r#"{"type":"ping","x":1}"#).contains("unknown field `x`"));
        // On the wire the two kinds are one: each serializes as it parses.
        for text in [
            r#"{"type":"ping"}"#,
            r#"{"type":"invite","name":"Ada","role":"delegate"}"#,
        ] {
            let m: ClientMessage = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&m).unwrap(), text);
        }
    }

    #[test]
    fn e2ee_relay_round_trips() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"e2ee","to":4,"data":"x"}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Meeting(MeetingMessage::E2ee {
                to: Some(ParticipantId(4)),
                data: "x".into(),
                keys: BTreeMap::new(),
            })
        );
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"e2ee","data":"x","keys":{"4":"k4","7":"k7"}}"#)
                .unwrap();
        let ClientMessage::Meeting(MeetingMessage::E2ee { keys, .. }) = m else {
            panic!("{m:?}")
        };
        assert_eq!(keys.get(&ParticipantId(7)).map(Opaque::as_str), Some("k7"));
        let m: ClientMessage = serde_json::from_str(r#"{"type":"e2ee","data":"x"}"#).unwrap();
        assert!(matches!(
            m,
            ClientMessage::Meeting(MeetingMessage::E2ee { to: None, .. })
        ));
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"chat","text":"c","sealed":true}"#).unwrap();
        assert!(matches!(
            m,
            ClientMessage::Meeting(MeetingMessage::Chat { sealed: true, .. })
        ));
    }
}
