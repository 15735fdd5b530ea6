// @ts-check
/**
 * The media encryption worker: every encoded frame this page sends is encrypted here, every
 * frame it receives decrypted, with SFrame (RFC 9605). The page gives it keys; nothing leaves
 * unencrypted, and a frame that does not decrypt is dropped, never shown.
 *
 * Frames arrive through `RTCRtpScriptTransform` (the `rtctransform` event) or, in browsers
 * that only have it, through `createEncodedStreams` (a `streams` message).
 *
 * A frame opens only if its sender (the key id says whose key sealed it) is one the page was
 * told the track carries, and only once: a server cannot show one participant's frames under
 * another's name, nor play old frames again.
 */
import { deriveKey, encrypt, decodeHeader, concat } from './sframe.js';
import { KeyRing, kidOf, splitKid, NoKeyError, ReplayError } from './keyring.js';

/** @type {any} the worker's global scope (this file is checked against the DOM library) */
const scope = self;

const ring = new KeyRing();
/** @type {{kid: bigint, k: {key: CryptoKey, salt: Uint8Array<ArrayBuffer>}} | null} */
let sending = null;
let sendKeySeq = 0;
/** One counter for every frame this page sends: a nonce is never used twice with a key. */
let counter = 0n;
const stats = {
  encrypted: 0, decrypted: 0, decryptedAudio: 0, decryptedVideo: 0, undecryptable: 0, noKey: 0, unsent: 0,
  misrouted: 0, replayed: 0,
};
/**
 * Who may send on each received m-line, as the page was told (`route` messages): the one
 * participant of a track, or the interpreters who may feed a language channel.
 * @type {Map<string, Set<number>>}
 */
let routes = new Map();
/** How long a sender a slot moved away from may still have frames on the way to it. */
const LEAVING_MS = 2000;
/**
 * Per m-line, the senders it carried until its last route change, and until when their frames
 * are dropped quietly rather than counted as misrouted (a video slot or speaker slot moved).
 * @type {Map<string, {senders: Set<number>, until: number}>}
 */
const left = new Map();
/**
 * Per received m-line: the sender whose frames it last opened, and what it dropped.
 * @type {Map<string, {sender: number | null, decrypted: number, misrouted: number, replayed: number, from: number[]}>}
 */
const lines = new Map();

/** @param {string} mid */
function line(mid) {
  let l = lines.get(mid);
  if (!l) { l = { sender: null, decrypted: 0, misrouted: 0, replayed: 0, from: [] }; lines.set(mid, l); }
  return l;
}
/** @type {{limit: number, frames: any[]} | null} received frames kept for diagnostics */
let capture = null;

/**
 * Bytes at the start of a frame left in the clear, so that the SFU can tell keyframes and the
 * receiver's depacketizer can read the VP8 header (sizes); they are authenticated.
 * @param {string} kind
 * @param {any} frame
 */
function clearBytes(kind, frame) {
  if (kind === 'audio') return 1; // the Opus TOC byte
  return frame.type === 'key' ? 10 : 3;
}

/** @param {Uint8Array} b */
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/**
 * @param {string} kind
 * @param {any} frame an RTCEncodedVideoFrame or RTCEncodedAudioFrame
 * @param {TransformStreamDefaultController} out
 * @param {Receiver} _r
 */
async function encryptFrame(kind, frame, out, _r) {
  const s = sending;
  if (!s) { stats.unsent += 1; return; }
  const data = new Uint8Array(frame.data);
  const n = Math.min(clearBytes(kind, frame), data.length);
  const clear = data.slice(0, n);
  const sealed = await encrypt(s.k, s.kid, counter++, clear, data.slice(n));
  frame.data = concat(clear, sealed).buffer;
  stats.encrypted += 1;
  out.enqueue(frame);
}

/** Least time between two keyframe requests from one receiver. */
const KEYFRAME_REQUEST_MS = 500;

/**
 * What one receiver remembers: its m-line, and whether it dropped video since its last
 * keyframe, in which case the decoder needs a new keyframe once keys are there (a newcomer
 * whose key came after the keyframe the SFU asked for, or a rotation whose key came late).
 * @typedef {{transformer: any, mid: string, dropped: boolean, lastRequest: number}} Receiver
 */

/**
 * @param {Receiver} r
 * @param {any} frame
 * @param {boolean} decrypted
 */
function watchKeyframes(r, frame, decrypted) {
  if (!decrypted) { r.dropped = true; return; }
  if (frame.type === 'key') { r.dropped = false; return; }
  const now = Date.now();
  if (r.dropped && r.transformer?.sendKeyFrameRequest && now - r.lastRequest >= KEYFRAME_REQUEST_MS) {
    r.lastRequest = now;
    r.transformer.sendKeyFrameRequest().catch(() => { /* not connected yet; the next frame asks again */ });
  }
}

/**
 * @param {string} kind
 * @param {any} frame
 * @param {TransformStreamDefaultController} out
 * @param {Receiver} r
 */
async function decryptFrame(kind, frame, out, r) {
  const data = new Uint8Array(frame.data);
  const n = Math.min(clearBytes(kind, frame), data.length);
  const clear = data.slice(0, n);
  const body = data.slice(n);
  /** @type {Uint8Array<ArrayBuffer> | null} */
  let plain = null;
  const l = line(r.mid);
  let replayed = false;
  let sender = null;
  try { sender = splitKid(decodeHeader(body).kid).sender; } catch { /* not SFrame */ }
  if (sender !== null && !routes.get(r.mid)?.has(sender)) {
    // Not who this track carries: never shown here (under someone else's name). The slot may
    // just have moved from this sender to another: their frames still on the way are dropped
    // all the same, but they are no sign of a server misrouting.
    const leaving = left.get(r.mid);
    if (leaving && leaving.senders.has(sender) && performance.now() < leaving.until) return;
    stats.misrouted += 1;
    l.misrouted += 1;
    if (!l.from.includes(sender) && l.from.length < 8) l.from.push(sender);
    // The page says so on the tile: once, then now and then while it lasts.
    if (l.misrouted % 250 === 1) scope.postMessage({ type: 'misrouted', mid: r.mid, sender });
  } else {
    try {
      plain = await ring.decryptFrame(clear, body);
    } catch (e) {
      if (e instanceof NoKeyError) stats.noKey += 1;
      else if (e instanceof ReplayError) {
        // Sent again: by a server that replays, or a late retransmission the browser made
        // into a frame twice.
        replayed = true;
        stats.replayed += 1;
        l.replayed += 1;
      } else stats.undecryptable += 1;
    }
  }
  if (capture && capture.frames.length < capture.limit) {
    let kid = null;
    let ctr = null;
    try { ({ kid, ctr } = decodeHeader(body)); } catch { /* not SFrame at all */ }
    capture.frames.push({
      kind, clearBytes: n, kid: kid?.toString(), ctr: ctr?.toString(),
      frame: hex(data), plain: plain ? hex(clear) + hex(plain) : null,
    });
  }
  // A frame seen before was shown before: dropping it again costs the picture nothing.
  if (kind === 'video' && !replayed) watchKeyframes(r, frame, !!plain);
  if (!plain) return;
  frame.data = concat(clear, plain).buffer;
  // The page attributes what a slot plays by this (a speaker slot changes hands).
  if (l.sender !== sender && sender !== null) scope.postMessage({ type: 'sender', mid: r.mid, sender });
  l.sender = sender;
  l.decrypted += 1;
  stats.decrypted += 1;
  if (kind === 'audio') stats.decryptedAudio += 1; else stats.decryptedVideo += 1;
  out.enqueue(frame);
}

/**
 * Pipes one track's frames through encryption or decryption.
 * @param {ReadableStream} readable
 * @param {WritableStream} writable
 * @param {{operation: 'encrypt'|'decrypt', kind: string, mid?: string}} options
 * @param {any} [transformer] the RTCRtpScriptTransformer, which can ask for keyframes
 */
function pipe(readable, writable, options, transformer = null) {
  /** @type {Receiver} */
  const r = { transformer, mid: String(options.mid ?? ''), dropped: false, lastRequest: 0 };
  const work = options.operation === 'encrypt' ? encryptFrame : decryptFrame;
  readable
    .pipeThrough(new TransformStream({
      transform: async (frame, out) => {
        try { await work(options.kind, frame, out, r); } catch (e) { stats.undecryptable += 1; }
      },
    }))
    .pipeTo(writable)
    .catch(() => { /* the track ended */ });
}

scope.onrtctransform = (/** @type {any} */ ev) => {
  const t = ev.transformer;
  pipe(t.readable, t.writable, t.options, t);
};

scope.onmessage = async (/** @type {MessageEvent} */ ev) => {
  const m = ev.data;
  switch (m.type) {
    case 'send-key': {
      // Derivation is asynchronous: only the newest key asked for may become the one in use.
      const seq = ++sendKeySeq;
      const kid = kidOf(m.sender, m.index);
      const k = await deriveKey(m.base, kid);
      if (seq === sendKeySeq) sending = { kid, k };
      return;
    }
    case 'key': return ring.set(m.sender, m.index, m.base);
    case 'route': {
      const next = new Map(m.routes.map((/** @type {[string, number[]]} */ [mid, senders]) => [mid, new Set(senders)]));
      const until = performance.now() + LEAVING_MS;
      for (const [mid, before] of routes) {
        const now = next.get(mid);
        const gone = [...before].filter((x) => !now?.has(x));
        if (gone.length) left.set(mid, { senders: new Set(gone), until });
      }
      routes = next;
      return;
    }
    case 'forget': return ring.forget(m.sender);
    case 'streams': return pipe(m.readable, m.writable, m);
    case 'capture':
      capture = { limit: m.limit, frames: [] };
      return;
    case 'report':
      // Keys go out only while capturing, which only diagnostics and tests turn on.
      scope.postMessage({
        type: 'report', id: m.id, stats: { ...stats }, lines: Object.fromEntries(lines), frames: capture?.frames ?? [],
        keys: capture ? ring.export().map((k) => ({ kid: k.kid.toString(), base: hex(k.base) })) : [],
      });
      return;
    default:
  }
};
