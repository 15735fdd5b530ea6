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
