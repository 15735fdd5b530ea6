// @ts-check
/**
 * Sealed recording on the page: while an end-to-end encrypted meeting is recorded, this page
 * seals each of its own media keys to the meeting's recording key (the organizer holds the
 * private half, offline) and hands it to the server, which keeps it beside the recording. The
 * server can open none of them; `summit record unseal` can. Format: docs/record.md.
 *
 * The server only relays the recording key, so the page believes it only with the organizer's
 * MAC over it, which it checks with the meeting secret from its own link; and it seals nothing
 * until "Recording" has been on the screen for a while, so that a recording switched on and
 * straight off again gets nothing.
 */
import { b64, unb64 } from './e2ee.js';
import { hkdf } from './keyring.js';

const enc = (/** @type {string} */ s) => new TextEncoder().encode(s);

/** How long "Recording" is shown before this page hands any key to the recording. */
export const SEAL_AFTER_MS = 2000;

/**
 * The organizer's MAC over a recording key (`summit meeting create --recording-key`):
 * HMAC-SHA256 under HKDF-SHA256(secret, info "recording-key <meeting>"), base64url.
 * @param {Uint8Array<ArrayBuffer>} secret @param {string} meeting @param {Uint8Array<ArrayBuffer>} key
 */
export async function recordingKeyMac(secret, meeting, key) {
  const k = await crypto.subtle.importKey('raw', await hkdf(secret, `recording-key ${meeting}`, 32),
    { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return b64(new Uint8Array(await crypto.subtle.sign('HMAC', k, key)));
}

export class RecordingSealer {
  /**
   * @param {{meeting: string, secret: Uint8Array<ArrayBuffer> | null, send: (msg: import('./protocol.js').ClientMessage) => void,
   *   onChange?: () => void, sealAfterMs?: number}} opts
   */
  constructor(opts) {
    this.meeting = opts.meeting;
    this.secret = opts.secret;
    this.send = opts.send;
    this.onChange = opts.onChange || (() => {});
    this.sealAfterMs = opts.sealAfterMs ?? SEAL_AFTER_MS;
    /** @type {string | null} the recording public key, once its MAC checked out */
    this.keyText = null;
    /** Why this page gives the recording nothing ('' when it would). */
    this.problem = '';
    /** Recording shown for long enough: keys go out. */
    this.armed = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {{sender: number, index: number, base: Uint8Array<ArrayBuffer>} | null} */
    this.current = null;
    /**
     * Own keys in use since the recording started and not sealed yet: all of them go once
     * the recording has been shown long enough, so its first seconds open too.
     * @type {Array<{sender: number, index: number, base: Uint8Array<ArrayBuffer>}>}
     */
    this.waiting = [];
    /** @type {Set<Uint8Array>} keys already sealed in this recording */
    this.sealed = new Set();
    this.queue = Promise.resolve();
  }

  /**
   * The recording key and MAC from `welcome`: believed only if the MAC checks with this
   * page's own meeting secret.
   * @param {string | null | undefined} keyText @param {string | null | undefined} mac
   */
  async configure(keyText, mac) {
    this.keyText = null;
    this.problem = '';
    if (keyText) {
      let ok = false;
      try {
        ok = !!this.secret && typeof mac === 'string'
          && mac === await recordingKeyMac(this.secret, this.meeting, unb64(keyText));
      } catch { ok = false; }
      if (ok) this.keyText = keyText;
      else {
        this.problem = 'The server offered a recording key that this meeting\'s organizer did not register, '
          + 'so this page gives it none of your keys: if the meeting is recorded, you are not in the recording.';
      }
    }
    this.onChange();
    this.#seal();
  }

  /** @param {boolean} on */
  setRecording(on) {
    if (!on) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.armed = false;
      this.waiting = [];
      this.sealed.clear();
      return;
    }
    if (this.armed || this.timer !== undefined) return;
    this.waiting = this.current ? [this.current] : [];
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.armed = true;
      this.#seal();
    }, this.sealAfterMs);
  }

  /** The page's own media key changed (a KeySink call). */
  /** @param {number} sender @param {number} index @param {Uint8Array<ArrayBuffer>} base */
  ownKey(sender, index, base) {
    this.current = { sender, index, base };
    if (this.timer !== undefined) this.waiting.push(this.current);
    this.#seal();
  }

  /** Seals what the recording may have now: the keys used since it started. */
  #seal() {
    if (!this.armed || !this.keyText) return;
    const keys = this.waiting.length ? this.waiting : (this.current ? [this.current] : []);
    this.waiting = [];
    for (const c of keys) {
      if (this.sealed.has(c.base)) continue;
      this.sealed.add(c.base);
      const keyText = this.keyText;
      this.queue = this.queue.then(async () => {
        const data = await seal(this.meeting, keyText, c.sender, c.index, c.base);
        this.send({ type: 'recording_key', data });
      }).catch((e) => console.error('cannot seal a key for the recording', e));
    }
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
