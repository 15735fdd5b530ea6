// @ts-check
/**
 * SFrame (RFC 9605) with the cipher suite AES_128_GCM_SHA256_128 (0x0004), on WebCrypto.
 * Key ids and counters are BigInt: they run to 2^64 - 1, past what a JS number holds exactly.
 * The media worker (e2ee-worker.js) encrypts and decrypts every frame with it.
 */

/** The cipher suite this module implements. */
export const CIPHER_SUITE = 4;
const NK = 16; // key length
const NN = 12; // nonce length
const NT = 16; // tag length
const MAX = (1n << 64n) - 1n;
const enc = new TextEncoder();

/**
 * Minimal big-endian bytes of `v` (at least one byte).
 * @param {bigint} v
 */
function minimalBytes(v) {
  const out = [];
  do { out.unshift(Number(v & 0xffn)); v >>= 8n; } while (v > 0n);
  return out;
}

/**
 * The SFrame header for a key id and counter (section 4.3).
 * @param {bigint} kid
 * @param {bigint} ctr
 * @returns {Uint8Array<ArrayBuffer>}
 */
export function encodeHeader(kid, ctr) {
  if (kid < 0n || kid > MAX || ctr < 0n || ctr > MAX) throw new RangeError('KID and CTR are 64-bit');
  let config = 0;
  const tail = [];
  if (kid < 8n) {
    config |= Number(kid) << 4;
  } else {
    const b = minimalBytes(kid);
    config |= 0x80 | ((b.length - 1) << 4);
    tail.push(...b);
  }
  if (ctr < 8n) {
    config |= Number(ctr);
  } else {
    const b = minimalBytes(ctr);
    config |= 0x08 | (b.length - 1);
    tail.push(...b);
  }
  return Uint8Array.from([config, ...tail]);
}

/**
 * Parses the header at the start of `frame`.
 * @param {Uint8Array<ArrayBuffer>} frame
 * @returns {{kid: bigint, ctr: bigint, length: number}}
 */
export function decodeHeader(frame) {
  if (frame.length < 1) throw new RangeError('empty SFrame');
  const config = frame[0];
  let at = 1;
  /** @param {number} n */
  const read = (n) => {
    if (at + n > frame.length) throw new RangeError('truncated SFrame header');
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(frame[at + i]);
    at += n;
    return v;
  };
  const kid = config & 0x80 ? read(((config >> 4) & 7) + 1) : BigInt((config >> 4) & 7);
  const ctr = config & 0x08 ? read((config & 7) + 1) : BigInt(config & 7);
  return { kid, ctr, length: at };
}

/**
 * The label of section 4.4.2: text, then KID (8 bytes) and cipher suite (2 bytes), big-endian.
 * @param {string} text
 * @param {bigint} kid
 */
function label(text, kid) {
  const t = enc.encode(text);
  const out = new Uint8Array(t.length + 10);
  out.set(t);
  new DataView(out.buffer).setBigUint64(t.length, kid);
  new DataView(out.buffer).setUint16(t.length + 8, CIPHER_SUITE);
  return out;
}

/**
 * Derives the key and salt for `kid` from a base key (section 4.4.2), with HKDF-SHA256.
 * @param {Uint8Array<ArrayBuffer>} baseKey
 * @param {bigint} kid
 * @returns {Promise<{key: CryptoKey, salt: Uint8Array<ArrayBuffer>, rawKey: Uint8Array<ArrayBuffer>}>}
 */
export async function deriveKey(baseKey, kid) {
  const ikm = await crypto.subtle.importKey('raw', baseKey, 'HKDF', false, ['deriveBits']);
  /** @param {Uint8Array<ArrayBuffer>} info @param {number} n */
  const expand = async (info, n) => new Uint8Array(await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info }, ikm, n * 8));
  const rawKey = await expand(label('SFrame 1.0 Secret key ', kid), NK);
  const salt = await expand(label('SFrame 1.0 Secret salt ', kid), NN);
  const key = await crypto.subtle.importKey('raw', rawKey, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { key, salt, rawKey };
}

/**
 * The nonce for a counter: the salt XOR the counter, right-aligned.
 * @param {Uint8Array<ArrayBuffer>} salt
 * @param {bigint} ctr
 */
export function nonce(salt, ctr) {
  const out = Uint8Array.from(salt);
  let v = ctr;
  for (let i = NN - 1; i >= 0 && v > 0n; i--) {
    out[i] ^= Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Encrypts one frame: header, then ciphertext and tag; `metadata` is authenticated, not sent.
 * @param {{key: CryptoKey, salt: Uint8Array<ArrayBuffer>}} k
 * @param {bigint} kid
 * @param {bigint} ctr
 * @param {Uint8Array<ArrayBuffer>} metadata
 * @param {Uint8Array<ArrayBuffer>} plaintext
 */
export async function encrypt(k, kid, ctr, metadata, plaintext) {
  const header = encodeHeader(kid, ctr);
  const aad = concat(header, metadata);
  const ct = new Uint8Array(await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce(k.salt, ctr), additionalData: aad, tagLength: NT * 8 }, k.key, plaintext));
  return concat(header, ct);
}

/**
 * Decrypts one frame with the key its header names; throws if it does not authenticate.
 * @param {(kid: bigint) => Promise<{key: CryptoKey, salt: Uint8Array<ArrayBuffer>} | undefined>} keyFor
 * @param {Uint8Array<ArrayBuffer>} metadata
 * @param {Uint8Array<ArrayBuffer>} frame
 */
export async function decrypt(keyFor, metadata, frame) {
  const { kid, ctr, length } = decodeHeader(frame);
  if (frame.length < length + NT) throw new RangeError('SFrame shorter than its tag');
  const k = await keyFor(kid);
  if (!k) throw new Error(`no key for KID ${kid}`);
  const aad = concat(frame.subarray(0, length), metadata);
  return new Uint8Array(await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: nonce(k.salt, ctr), additionalData: aad, tagLength: NT * 8 }, k.key, frame.subarray(length)));
}

/**
 * The bytes of `a`, then those of `b`.
 * @param {Uint8Array<ArrayBuffer>} a @param {Uint8Array<ArrayBuffer>} b
 */
export function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
