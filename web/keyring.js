// @ts-check
/**
 * Media keys of an end-to-end encrypted meeting, as a receiver holds them: per sender, per key
 * index, with the ratchet that moves a sender's key forward when someone joins. The worker
 * uses it for frames, the page for chat (docs/e2ee.md).
 */
import { deriveKey, decodeHeader, decrypt } from './sframe.js';

/** How far ahead of the newest key a receiver ratchets on its own. */
export const RATCHET_WINDOW = 16;
/** Key indexes per sender kept behind the newest, for frames still in flight. */
const KEEP_BEHIND = 2;
/**
 * Frame counters remembered per key: one counter runs over all of a sender's tracks and
 * simulcast layers (about 170 frames a second), and video frames reach the transform later
 * than audio; 4096 covers some twenty seconds of that.
 */
export const REPLAY_WINDOW = 4096;
const INDEX_MASK = 0xffff;
const enc = new TextEncoder();

/** Key indexes run from 0 to this; a sender that would pass it keeps its key (see e2ee.js). */
export const MAX_INDEX = INDEX_MASK;

/**
 * The SFrame KID of a sender's key: the participant id, then 16 bits of key index.
 * @param {number} sender
 * @param {number} index
 */
export function kidOf(sender, index) {
  return (BigInt(sender) << 16n) | BigInt(index);
}

/** @param {bigint} kid */
export function splitKid(kid) {
  return { sender: Number(kid >> 16n), index: Number(kid & BigInt(INDEX_MASK)) };
}

/**
 * HKDF-SHA256 of `ikm` with a Summit label; `n` bytes.
 * @param {Uint8Array<ArrayBuffer>} ikm
 * @param {string} info
 * @param {number} n
 * @returns {Promise<Uint8Array<ArrayBuffer>>}
 */
export async function hkdf(ikm, info, n) {
  const k = await crypto.subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: enc.encode('summit e2ee v1'), info: enc.encode(info) }, k, n * 8));
}

/**
 * The next key in a sender's chain: what everyone present can compute, a newcomer cannot undo.
 * @param {Uint8Array<ArrayBuffer>} base
 */
export function ratchet(base) {
  return hkdf(base, 'ratchet', 32);
}

/**
 * The frame counters a key has opened: a frame whose counter was seen, or is older than the
 * window, is a replay (a server sending a frame again, or one meant for another track).
 */
export class ReplayWindow {
  constructor(size = REPLAY_WINDOW) {
    this.size = BigInt(size);
    /** The highest counter accepted, -1 before any. */
    this.top = -1n;
    /** Bit i: counter `top - i` was accepted. */
    this.bits = new Uint32Array(size / 32);
  }

  /** @param {bigint} ctr @returns {boolean} whether it is new (and now remembered) */
  accept(ctr) {
    if (ctr > this.top) {
      const shift = this.top < 0n ? this.size : ctr - this.top;
      this.#shift(shift);
      this.top = ctr;
      this.bits[0] |= 1;
      return true;
    }
    const back = this.top - ctr;
    if (back >= this.size) return false;
    const i = Number(back);
    const word = i >> 5;
    const bit = 1 << (i & 31);
    if (this.bits[word] & bit) return false;
    this.bits[word] |= bit;
    return true;
  }

  /** @param {bigint} by moves every bit `by` places older */
  #shift(by) {
    if (by >= this.size) { this.bits.fill(0); return; }
    const n = Number(by);
    const words = n >> 5;
    const bits = n & 31;
    for (let w = this.bits.length - 1; w >= 0; w--) {
      const from = w - words;
      const lo = from >= 0 ? this.bits[from] : 0;
      const lower = from - 1 >= 0 ? this.bits[from - 1] : 0;
      this.bits[w] = bits ? ((lo << bits) | (lower >>> (32 - bits))) >>> 0 : lo;
    }
  }
}

/**
 * @typedef {{index: number, base: Uint8Array<ArrayBuffer>, kid: bigint,
 *   frameKey: Promise<{key: CryptoKey, salt: Uint8Array<ArrayBuffer>}>, seen: ReplayWindow}} Entry
 */

/**
 * @param {number} sender
 * @param {number} index
 * @param {Uint8Array<ArrayBuffer>} base
 * @returns {Entry}
 */
function entry(sender, index, base) {
  const kid = kidOf(sender, index);
  return { index, base, kid, frameKey: deriveKey(base, kid), seen: new ReplayWindow() };
}

/** Thrown when no key held (or reachable by ratchet) opens a frame or message. */
export class NoKeyError extends Error {}

/** Thrown when a frame's counter was opened before under the same key: it is dropped. */
export class ReplayError extends Error {}

export class KeyRing {
  constructor() {
    /** @type {Map<number, Map<number, Entry>>} sender -> index -> entry */
    this.senders = new Map();
  }

  /**
   * Installs a sender's key at an index (from a key message, or one's own).
   * @param {number} sender
   * @param {number} index
   * @param {Uint8Array<ArrayBuffer>} base
   */
  set(sender, index, base) {
    this.#install(sender, [entry(sender, index, base)]);
  }

  /** @param {number} sender */
  forget(sender) {
    this.senders.delete(sender);
  }

  /** Every key held, for diagnostics and tests: `[kid, base]` pairs. */
  export() {
    const out = [];
    for (const m of this.senders.values()) for (const e of m.values()) out.push({ kid: e.kid, base: e.base });
    return out;
  }

  /** @param {number} sender */
  newest(sender) {
    const m = this.senders.get(sender);
    if (!m || !m.size) return undefined;
    return Math.max(...m.keys());
  }

  /**
   * Runs `attempt` with the key `kid` names: one held, or one up to RATCHET_WINDOW steps ahead
   * of the sender's newest, installed only if `attempt` succeeds (an authentication failure
   * means the sender rekeyed instead, and the key is still on its way).
   * @template T
   * @param {bigint} kid
   * @param {(e: Entry) => Promise<T>} attempt
   * @returns {Promise<T>}
   */
  async open(kid, attempt) {
    const { sender, index } = splitKid(kid);
    const m = this.senders.get(sender);
    const held = m?.get(index);
    if (held) return attempt(held);
    const newest = this.newest(sender);
    if (!m || newest === undefined) throw new NoKeyError(`no key from participant ${sender}`);
    const steps = index - newest;
    if (steps < 1 || steps > RATCHET_WINDOW) throw new NoKeyError(`no key ${index} from participant ${sender}`);
    const chain = [];
    let base = /** @type {Entry} */ (m.get(newest)).base;
    for (let i = 1; i <= steps; i++) {
      base = await ratchet(base);
      chain.push(entry(sender, newest + i, base));
    }
    const result = await attempt(/** @type {Entry} */ (chain[chain.length - 1]));
    this.#install(sender, chain);
    return result;
  }

  /**
   * Decrypts an SFrame frame (after `metadata`, the codec bytes left in the clear); a frame
   * whose counter this key already opened is refused ([`ReplayError`]), once it authenticates.
   * @param {Uint8Array<ArrayBuffer>} metadata
   * @param {Uint8Array<ArrayBuffer>} frame
   */
  async decryptFrame(metadata, frame) {
    const { kid, ctr } = decodeHeader(frame);
    return this.open(kid, async (e) => {
      const plain = await decrypt(async () => e.frameKey, metadata, frame);
      if (!e.seen.accept(ctr)) throw new ReplayError(`frame ${ctr} of key ${kid} again`);
      return plain;
    });
  }

  /**
   * @param {number} sender
   * @param {Entry[]} entries in increasing index order
   */
  #install(sender, entries) {
    let m = this.senders.get(sender);
    if (!m) { m = new Map(); this.senders.set(sender, m); }
    for (const e of entries) {
      // The same key again (sent anew after a reconnection, or replayed by the server) keeps
      // the counters it opened: otherwise its old frames would open once more.
      const held = m.get(e.index);
      if (held && sameBytes(held.base, e.base)) continue;
      m.set(e.index, e);
    }
    const newest = Math.max(...m.keys());
    // Old keys go: memory stays bounded, and a key no longer needed cannot leak.
    for (const i of [...m.keys()]) if (i < newest - KEEP_BEHIND) m.delete(i);
  }
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
