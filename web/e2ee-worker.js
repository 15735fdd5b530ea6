// @ts-check
/**
 * The media encryption worker: every encoded frame this page sends is encrypted here, every
 * frame it receives decrypted, with SFrame (RFC 9605). The page gives it keys; nothing leaves
 * unencrypted, and a frame that does not decrypt is dropped, never shown.
 *
 * Frames arrive through `RTCRtpScriptTransform` (the `rtctransform` event) or, in browsers
 * that only have it, through `createEncodedStreams` (a `streams` message).
 */
import { deriveKey, encrypt, decodeHeader, concat } from './sframe.js';
import { KeyRing, kidOf, NoKeyError } from './keyring.js';

/** @type {any} the worker's global scope (this file is checked against the DOM library) */
const scope = self;

const ring = new KeyRing();
/** @type {{kid: bigint, k: {key: CryptoKey, salt: Uint8Array<ArrayBuffer>}} | null} */
let sending = null;
/** One counter for every frame this page sends: a nonce is never used twice with a key. */
let counter = 0n;
const stats = {
  encrypted: 0, decrypted: 0, decryptedAudio: 0, decryptedVideo: 0, undecryptable: 0, noKey: 0, unsent: 0,
};
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
 */
async function encryptFrame(kind, frame, out) {
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

/**
 * @param {string} kind
 * @param {any} frame
 * @param {TransformStreamDefaultController} out
 */
async function decryptFrame(kind, frame, out) {
  const data = new Uint8Array(frame.data);
  const n = Math.min(clearBytes(kind, frame), data.length);
  const clear = data.slice(0, n);
  const body = data.slice(n);
  /** @type {Uint8Array<ArrayBuffer> | null} */
  let plain = null;
  try {
    plain = await ring.decryptFrame(clear, body);
  } catch (e) {
    if (e instanceof NoKeyError) stats.noKey += 1; else stats.undecryptable += 1;
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
  if (!plain) return;
  frame.data = concat(clear, plain).buffer;
  stats.decrypted += 1;
  if (kind === 'audio') stats.decryptedAudio += 1; else stats.decryptedVideo += 1;
  out.enqueue(frame);
}

/**
 * Pipes one track's frames through encryption or decryption.
 * @param {ReadableStream} readable
 * @param {WritableStream} writable
 * @param {{operation: 'encrypt'|'decrypt', kind: string}} options
 */
function pipe(readable, writable, options) {
  const work = options.operation === 'encrypt' ? encryptFrame : decryptFrame;
  readable
    .pipeThrough(new TransformStream({
      transform: async (frame, out) => {
        try { await work(options.kind, frame, out); } catch (e) { stats.undecryptable += 1; }
      },
    }))
    .pipeTo(writable)
    .catch(() => { /* the track ended */ });
}

scope.onrtctransform = (/** @type {any} */ ev) => {
  const t = ev.transformer;
  pipe(t.readable, t.writable, t.options);
};

scope.onmessage = async (/** @type {MessageEvent} */ ev) => {
  const m = ev.data;
  switch (m.type) {
    case 'send-key': {
      const kid = kidOf(m.sender, m.index);
      sending = { kid, k: await deriveKey(m.base, kid) };
      return;
    }
    case 'key': return ring.set(m.sender, m.index, m.base);
    case 'forget': return ring.forget(m.sender);
    case 'streams': return pipe(m.readable, m.writable, m);
    case 'capture':
      capture = { limit: m.limit, frames: [] };
      return;
    case 'report':
      // Keys go out only while capturing, which only diagnostics and tests turn on.
      scope.postMessage({
        type: 'report', id: m.id, stats: { ...stats }, frames: capture?.frames ?? [],
        keys: capture ? ring.export().map((k) => ({ kid: k.kid.toString(), base: hex(k.base) })) : [],
      });
      return;
    default:
  }
};
