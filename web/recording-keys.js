// @ts-check
/**
 * Sealed recording on the page: while an end-to-end encrypted meeting is recorded, this page
 * seals each of its own media keys to the meeting's recording key (the organizer holds the
 * private half, offline) and hands it to the server, which keeps it beside the recording. The
 * server can open none of them; `summit record unseal` can. Format: docs/record.md.
 */
import { b64, unb64 } from './e2ee.js';

const enc = (/** @type {string} */ s) => new TextEncoder().encode(s);

export class RecordingSealer {
  /**
   * @param {{meeting: string, send: (msg: any) => void}} opts
   */
  constructor(opts) {
    this.meeting = opts.meeting;
    this.send = opts.send;
    /** @type {string | null} the recording public key (base64url P-256 point) */
    this.keyText = null;
    this.recording = false;
    /** @type {{sender: number, index: number, base: Uint8Array<ArrayBuffer>} | null} */
    this.current = null;
    /** @type {Set<Uint8Array>} keys already sealed in this recording */
    this.sealed = new Set();
    this.queue = Promise.resolve();
  }

  /** @param {string | null | undefined} keyText from `welcome` */
  configure(keyText) {
    this.keyText = keyText || null;
  }

  /** @param {boolean} on */
  setRecording(on) {
    this.recording = on;
    if (!on) this.sealed.clear();
    this.#sealCurrent();
  }

  /** The page's own media key changed (a KeySink call). */
  /** @param {number} sender @param {number} index @param {Uint8Array<ArrayBuffer>} base */
  ownKey(sender, index, base) {
    this.current = { sender, index, base };
    this.#sealCurrent();
  }

  #sealCurrent() {
    const c = this.current;
    if (!this.recording || !this.keyText || !c || this.sealed.has(c.base)) return;
    this.sealed.add(c.base);
    const keyText = this.keyText;
    this.queue = this.queue.then(async () => {
      const data = await seal(this.meeting, keyText, c.sender, c.index, c.base);
      this.send({ type: 'recording_key', data });
    }).catch((e) => console.error('cannot seal a key for the recording', e));
  }
}

/**
 * Seals one media key to a recording public key: ECDH with a one-time key, HKDF-SHA256, AES-GCM.
 * @param {string} meeting
 * @param {string} keyText
 * @param {number} sender
 * @param {number} index
 * @param {Uint8Array<ArrayBuffer>} base
 */
export async function seal(meeting, keyText, sender, index, base) {
  const curve = { name: 'ECDH', namedCurve: 'P-256' };
  const recipient = await crypto.subtle.importKey('raw', unb64(keyText), curve, false, []);
  const eph = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey(curve, false, ['deriveBits']));
  const epk = new Uint8Array(await crypto.subtle.exportKey('raw', eph.publicKey));
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: recipient }, eph.privateKey, 256);
  const ikm = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  const aes = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: epk, info: enc(`summit recording key ${meeting}`) },
    ikm, { name: 'AES-GCM', length: 128 }, false, ['encrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = enc(JSON.stringify({ sender, index, base: b64(base) }));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: enc(meeting) }, aes, plain));
  return JSON.stringify({ v: 1, epk: b64(epk), iv: b64(iv), ct: b64(ct) });
}
