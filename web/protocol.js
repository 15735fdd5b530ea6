// @ts-check
/**
 * The signaling protocol's constants, in one place: its version and every WebSocket close
 * code, named as `summit_proto::CloseCode` names them (a test in `crates/proto` checks that the
 * two agree). docs/protocol.md describes the messages.
 */

/** The protocol version this page speaks. */
export const PROTOCOL_VERSION = 2;

/** WebSocket close codes: the server's, the browser's own, and the page's. */
export const CLOSE = Object.freeze({
  /** Normal close after `leave`. */
  NORMAL: 1000,
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** The browser's: the connection dropped without a close frame. */
  ABNORMAL: 1006,
  /** A message was too large. */
  TOO_BIG: 1009,
  /** The first message was not a valid `join`, or the protocol was broken. */
  PROTOCOL_ERROR: 4000,
  /** The invitation was refused (invalid, expired, wrong meeting). */
  INVITATION_REFUSED: 4001,
  /** The protocol version is not supported. */
  UNSUPPORTED_VERSION: 4002,
  /** A host did not admit the participant. */
  DENIED: 4003,
  /** A host removed the participant. */
  REMOVED: 4004,
  /** The meeting is locked. */
  LOCKED: 4005,
  /** The meeting has ended. */
  ENDED: 4006,
  /** No heartbeat within the timeout (the page uses it too, for a server that stopped answering). */
  HEARTBEAT_TIMEOUT: 4008,
  /** The meeting is full. */
  MEETING_FULL: 4009,
  /** The server could not admit the participant. */
  REFUSED: 4010,
  /** Too many connections or messages. */
  RATE_LIMITED: 4029,
  /** The page's: it replaces a connection it believes lost (the server keeps its seat). */
  PAGE_RECONNECTING: 4100,
});

// The messages, as `summit_proto::{ClientMessage, ServerMessage}` (de)serialize them.
// docs/protocol.md says what each means.

/** @typedef {'host' | 'delegate' | 'interpreter' | 'observer'} Role */
/** @typedef {'microphone' | 'camera' | 'screen'} TrackSource */
/** @typedef {'good' | 'poor' | 'reconnecting'} ConnectionState */
/** @typedef {'invalid_message' | 'unexpected_message' | 'invalid_sdp' | 'too_large' | 'not_allowed' | 'rate_limited' | 'internal'} ErrorCode */

/** @typedef {{loss_percent: number, jitter_ms: number}} Uplink */
/**
 * @typedef {object} ParticipantInfo
 * @property {number} id
 * @property {string} name
 * @property {Role} role
 * @property {boolean} microphone_muted
 * @property {boolean} camera_off
 * @property {boolean} screen_sharing
 * @property {ConnectionState} [connection]
 * @property {Uplink} [uplink]
 */
/** @typedef {{urls: string[], username: string, credential: string}} IceServer */
/** @typedef {{mid: string, participant: number, source: TrackSource}} SubscribedTrack */
/** @typedef {{invitation: string, name: string, by: string}} DeniedInvitation */
/** @typedef {{from: number, name: string, text: string, sealed?: boolean, at_ms: number}} ChatMessage */
/** @typedef {{pair: string, into: string, interpreters: number[], holder: number | null}} BoothInfo */
/** @typedef {{language: string, source: number | null}} ChannelInfo */
/**
 * @typedef {object} InterpretationState
 * @property {string[]} languages
 * @property {BoothInfo[]} booths
 * @property {ChannelInfo[]} channels
 * @property {string | null} hearing
 */
/** @typedef {{meeting: string, seq: number, hash: string, at: string, key: string, sig: string}} RecordHead */
/** @typedef {{rid: string, width: number, height: number}} LayerInfo */
/** @typedef {{mid: string, source: TrackSource, layers?: LayerInfo[]}} PublishedTrackInfo */
/** @typedef {{participant: number, source: TrackSource, width: number, height: number}} TileDisplay */

/**
 * @typedef {object} WelcomeMessage
 * @property {'welcome'} type
 * @property {number} version
 * @property {number} participant_id
 * @property {string} meeting
 * @property {string} name
 * @property {Role} role
 * @property {boolean} can_publish
 * @property {boolean} can_publish_video
 * @property {boolean} can_chat
 * @property {boolean} can_moderate
 * @property {boolean} locked
 * @property {boolean} e2ee
 * @property {boolean} [recording]
 * @property {string} [recording_by]
 * @property {boolean} [recording_interrupted]
 * @property {boolean} [audio_redundancy]
 * @property {string} [recording_key]
 * @property {string} [recording_key_mac]
 * @property {ParticipantInfo[]} participants
 * @property {ChatMessage[]} chat
 * @property {number} heartbeat_ms
 * @property {string} resume_token
 * @property {boolean} [resumed]
 * @property {IceServer[]} [ice_servers]
 */
/**
 * @typedef {object} LobbyMessage
 * @property {'lobby'} type
 * @property {string} meeting
 * @property {string} name
 * @property {boolean} host_present
 * @property {number} heartbeat_ms
 * @property {string} resume_token
 */
/** @typedef {{type: 'chat'} & ChatMessage} ChatServerMessage */
/** @typedef {{type: 'interpretation'} & InterpretationState} InterpretationMessage */
/** @typedef {{type: 'ice_servers', ice_servers: IceServer[]}} IceServersMessage */

/**
 * Every message the server sends; `type` tells them apart.
 * @typedef {WelcomeMessage
 *   | IceServersMessage
 *   | {type: 'publish_answer', sdp: string}
 *   | {type: 'subscribe_offer', sdp: string, tracks: SubscribedTrack[], channel_mid?: string, speaker_mids?: string[], video_mids?: string[], screen_mid?: string}
 *   | {type: 'speaker_slots', slots: Array<{mid: string, participant?: number | null}>}
 *   | {type: 'video_slots', slots: Array<{mid: string, participant?: number | null}>}
 *   | {type: 'active_speakers', speakers: number[], dominant?: number}
 *   | {type: 'participant_joined', participant: ParticipantInfo}
 *   | {type: 'participant_updated', participant: ParticipantInfo}
 *   | {type: 'participant_left', participant_id: number, reason: string}
 *   | ChatServerMessage
 *   | {type: 'e2ee', from: number, data: string, key?: string}
 *   | {type: 'pong'}
 *   | {type: 'audio_redundancy', on: boolean}
 *   | {type: 'your_uplink', poor: boolean, uplink: Uplink}
 *   | {type: 'video_paused', participant: number, source: TrackSource, paused: boolean}
 *   | LobbyMessage
 *   | {type: 'lobby_changed', waiting: ParticipantInfo[], denied?: DeniedInvitation[]}
 *   | {type: 'meeting_locked', locked: boolean, by: string}
 *   | {type: 'recording', on: boolean, by: string}
 *   | {type: 'muted_by_host', by: string}
 *   | InterpretationMessage
 *   | {type: 'record_head', head: RecordHead}
 *   | {type: 'invitation', token: string, invitation_id: string, expires: string}
 *   | {type: 'error', code: ErrorCode, message: string}} ServerMessage
 */

/**
 * Every message the page sends; `type` tells them apart.
 * @typedef {{type: 'join', version: number, meeting: string, invite: string, resume_token?: string, keep_media?: boolean, video_slots?: boolean}
 *   | {type: 'publish', sdp: string, tracks: PublishedTrackInfo[]}
 *   | {type: 'subscribe_answer', sdp: string}
 *   | {type: 'mute', source: TrackSource, muted: boolean}
 *   | {type: 'chat', text: string, sealed?: boolean}
 *   | {type: 'e2ee', to?: number, data: string, keys?: Record<string, string>}
 *   | {type: 'ping'}
 *   | {type: 'ice_restart'}
 *   | {type: 'admit', participant: number}
 *   | {type: 'deny', participant: number}
 *   | {type: 'allow_again', invitation: string}
 *   | {type: 'mute_participant', participant: number}
 *   | {type: 'remove', participant: number}
 *   | {type: 'lock', locked: boolean}
 *   | {type: 'end_meeting'}
 *   | {type: 'invite', name: string, role: Role, interprets?: string}
 *   | {type: 'listen', channel: string | null}
 *   | {type: 'take_mic'}
 *   | {type: 'hand_over', to: number}
 *   | {type: 'release_mic'}
 *   | {type: 'set_direction', into: string}
 *   | {type: 'start_recording'}
 *   | {type: 'recording_key', data: string}
 *   | {type: 'stop_recording'}
 *   | {type: 'add_language', language: string}
 *   | {type: 'display', tiles: TileDisplay[]}
 *   | {type: 'view', tiles: number[], slots?: number}
 *   | {type: 'leave'}} ClientMessage
 */
