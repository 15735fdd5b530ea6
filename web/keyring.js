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
 * @typedef {{index: number, base: Uint8Array<ArrayBuffer>, kid: bigint,
 *   frameKey: Promise<{key: CryptoKey, salt: Uint8Array<ArrayBuffer>}>}} Entry
 */

/**
 * @param {number} sender
 * @param {number} index
 * @param {Uint8Array<ArrayBuffer>} base
 * @returns {Entry}
 */
function entry(sender, index, base) {
  const kid = kidOf(sender, index);
  return { index, base, kid, frameKey: deriveKey(base, kid) };
}

/** Thrown when no key held (or reachable by ratchet) opens a frame or message. */
export class NoKeyError extends Error {}

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
   * Decrypts an SFrame frame (after `metadata`, the codec bytes left in the clear).
   * @param {Uint8Array<ArrayBuffer>} metadata
   * @param {Uint8Array<ArrayBuffer>} frame
   */
  async decryptFrame(metadata, frame) {
    const { kid } = decodeHeader(frame);
    return this.open(kid, async (e) => decrypt(async () => e.frameKey, metadata, frame));
  }

  /**
   * @param {number} sender
   * @param {Entry[]} entries in increasing index order
   */
  #install(sender, entries) {
    let m = this.senders.get(sender);
    if (!m) { m = new Map(); this.senders.set(sender, m); }
    for (const e of entries) m.set(e.index, e);
    const newest = Math.max(...m.keys());
    // Old keys go: memory stays bounded, and a key no longer needed cannot leak.
    for (const i of [...m.keys()]) if (i < newest - KEEP_BEHIND) m.delete(i);
  }
}
