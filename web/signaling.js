// @ts-check
/** Signaling: one WebSocket to the server, JSON messages of protocol version 2. */

import { CLOSE, PROTOCOL_VERSION } from './protocol.js';

/** @typedef {import('./protocol.js').ServerMessage} ServerMessage */
/** @typedef {import('./protocol.js').ClientMessage} ClientMessage */

/** Human words for the server's close codes. */
const CLOSE_TEXT = {
  [CLOSE.NORMAL]: 'You left the meeting.',
  [CLOSE.GOING_AWAY]: 'The server is shutting down.',
  [CLOSE.TOO_BIG]: 'A message was too large.',
  [CLOSE.PROTOCOL_ERROR]: 'The page and the server did not understand each other.',
  [CLOSE.INVITATION_REFUSED]: 'Your invitation was refused.',
  [CLOSE.UNSUPPORTED_VERSION]: 'This page is out of date. Reload it.',
  [CLOSE.DENIED]: 'The host did not let you in.',
  [CLOSE.REMOVED]: 'You were removed from the meeting.',
  [CLOSE.LOCKED]: 'This meeting is locked. Ask a host to unlock it.',
  [CLOSE.ENDED]: 'This meeting has ended.',
  [CLOSE.MEETING_FULL]: 'This meeting is full.',
  [CLOSE.RATE_LIMITED]: 'Too many connections or messages from this device.',
  [CLOSE.HEARTBEAT_TIMEOUT]: 'The connection was lost.',
  [CLOSE.REFUSED]: 'You were disconnected.',
};

export class Signaling {
  /**
   * @param {string} meeting
   * @param {string} invite
   * @param {(msg: ServerMessage) => void} onMessage
   * @param {(code: number, reason: string, wasIn: boolean) => void} onClose `wasIn`: the
   *   server had let the page in (into the meeting or its lobby) before the connection closed
   */
  constructor(meeting, invite, onMessage, onClose) {
    this.meeting = meeting;
    this.invite = invite;
    this.onMessage = onMessage;
    this.onClose = onClose;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** In the meeting or waiting in its lobby (the server knows this page's session). */
    this.in = false;
    /** @type {number | undefined} */
    this.pingTimer = undefined;
    /** When the server was last heard from. */
    this.lastHeard = 0;
  }

  /**
   * @param {string | null} [resumeToken] the token that takes a lost session back
   * @param {boolean} [keepMedia] the page still has its media connections: keep them
   */
  connect(resumeToken = null, keepMedia = false) {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => {
      /** @type {ClientMessage} */
      const join = {
        type: 'join',
        version: PROTOCOL_VERSION,
        meeting: this.meeting,
        invite: this.invite,
        ...(resumeToken ? { resume_token: resumeToken } : {}),
        ...(resumeToken && keepMedia ? { keep_media: true } : {}),
        // Cameras come through as many video slots as the page shows tiles (`view`).
        video_slots: true,
      };
      ws.send(JSON.stringify(join));
    };
    this.lastHeard = Date.now();
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      /** @type {ServerMessage} */
      let msg;
      // Shapes as protocol.js describes them; what a message may make the page do is decided
      // by whoever handles it (an encrypted meeting believes no server message on keys).
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (!msg || typeof msg !== 'object' || typeof msg.type !== 'string') return;
      // Waiting in the lobby counts as much as being in: the server drops a silent page.
      if ((msg.type === 'welcome' || msg.type === 'lobby') && !this.in) {
        this.in = true;
        clearInterval(this.pingTimer);
        const every = Number(msg.heartbeat_ms) > 0 ? Number(msg.heartbeat_ms) : 2000;
        this.pingTimer = window.setInterval(() => {
          // The server answers every ping: silence for three of them means the connection is
          // gone, even if the browser has not noticed (a network that changed under it).
          if (Date.now() - this.lastHeard > 3 * every) this.lost();
          else this.send({ type: 'ping' });
        }, every);
      }
      this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      clearInterval(this.pingTimer);
      const wasIn = this.in;
      this.in = false;
      if (this.ws === ws) this.onClose(ev.code, ev.reason, wasIn);
    };
  }

  /** @param {ClientMessage} msg */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  close() {
    clearInterval(this.pingTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(CLOSE.NORMAL);
  }

  /**
   * Gives up on a connection believed lost, as if it had dropped: the server, if it still
   * hears this, keeps the participant (reconnecting), and the page reconnects.
   */
  lost() {
    const ws = this.ws;
    if (!ws) return;
    clearInterval(this.pingTimer);
    this.ws = null;
    const wasIn = this.in;
    this.in = false;
    ws.close(CLOSE.PAGE_RECONNECTING);
    this.onClose(CLOSE.HEARTBEAT_TIMEOUT, 'no answer from the server', wasIn);
  }
}

/**
 * Words for a close: the server's reason when it gave one, else a description of the code.
 * @param {number} code
 * @param {string} reason
 */
export function closeText(code, reason) {
  const base = CLOSE_TEXT[code] || 'The connection to the server was lost.';
  if (!reason) return base;
  if (code === CLOSE.INVITATION_REFUSED) return `Your invitation was refused: ${reason}.`;
  if (code === CLOSE.REMOVED) return `You were removed from the meeting: ${reason}.`;
  if (code === CLOSE.ENDED) return `This meeting has ended: ${reason}.`;
  if (code === CLOSE.DENIED || code === CLOSE.LOCKED || code === CLOSE.MEETING_FULL) return base;
  return `${base} (${reason})`;
}
