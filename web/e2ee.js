// @ts-check
/**
 * End-to-end encryption, the page's half: the key exchange among participants who hold the
 * meeting secret, this page's own media key and its rotation, sealed chat, and the safety
 * code. The server relays the exchange without being able to read it (docs/e2ee.md).
 *
 * Runs on WebCrypto alone, so that Node can drive it in tests; the frame work is in
 * e2ee-worker.js, which this module keeps supplied with keys through `sink`.
 */
import { KeyRing, hkdf, kidOf, ratchet, MAX_INDEX } from './keyring.js';
import { concat } from './sframe.js';

/** Wait after a rekey before sending with the new key, so that it reaches everyone first. */
export const ROTATE_DELAY_MS = 1000;
/**
 * Owed keys go out once the page has had nothing to handle for this long (the replies to a
 * newcomer's hello arrive spread over a few milliseconds), and no later than FLUSH_MAX_MS
 * after the first was owed.
 */
const FLUSH_QUIET_MS = 25;
const FLUSH_MAX_MS = 250;
/** Recipients per key message (about 100 bytes each, well under the server's 64 KiB). */
const KEYS_PER_MESSAGE = 100;
/** 2: the hello names its person (under the MAC), key messages carry one entry per recipient. */
const PROTOCOL = 2;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** @param {Uint8Array} b */
export function b64(b) {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** @param {string} s @returns {Uint8Array<ArrayBuffer>} */
export function unb64(s) {
  const t = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(t, (c) => c.charCodeAt(0));
}

/**
 * Parses the meeting secret from a link's fragment (`#<43 characters of base64url>`).
 * @param {string} fragment `location.hash`
 * @returns {Uint8Array<ArrayBuffer> | null}
 */
export function secretFromFragment(fragment) {
  const t = fragment.replace(/^#/, '').trim();
  if (!/^[A-Za-z0-9_-]{43}$/.test(t)) return null;
  return unb64(t);
}

/**
 * Where keys go: the media worker (or, in tests, anything with the same three calls).
 * @typedef {{
 *   sendKey(sender: number, index: number, base: Uint8Array<ArrayBuffer>): void,
 *   key(sender: number, index: number, base: Uint8Array<ArrayBuffer>): void,
 *   forget(sender: number): void }} KeySink
 */

/**
 * @typedef {{pub: Uint8Array<ArrayBuffer>, wrap: CryptoKey, sent: number, name: string,
 *   role: string}} Peer
 *   `sent`: the newest own key index sent to them (-1: none); `name` and `role` as their own
 *   link says, proven with the meeting secret (the server cannot relabel anyone)
 */

/**
 * What a page asks the server to relay: the body of an `e2ee` client message.
 * @typedef {{to?: number, data: string, keys?: Record<string, string>}} E2eeSend
 */

export class E2ee {
  /**
   * @param {{meeting: string, secret: Uint8Array<ArrayBuffer>, send: (msg: E2eeSend) => void,
   *   sink: KeySink, onChange?: () => void, onRejected?: (id: number) => void,
   *   rotateDelayMs?: number, name?: string, role?: string}} opts
   *   `send` takes an `e2ee` message for the server to relay (with `keys`, each recipient
   *   gets only its own entry).
   *   `name` and `role`: this page's person, as its own link says.
   */
  constructor(opts) {
    this.meeting = opts.meeting;
    this.secret = opts.secret;
    this.name = opts.name ?? '';
    this.role = opts.role ?? '';
    this.send = opts.send;
    this.sink = opts.sink;
    this.onChange = opts.onChange || (() => {});
    this.onRejected = opts.onRejected || (() => {});
    this.rotateDelayMs = opts.rotateDelayMs ?? ROTATE_DELAY_MS;
    /**
     * Participants owed the own current key. They get it in one message once the messages
     * waiting to be handled are done: a newcomer to a large meeting answers everyone at once,
     * which keeps it well under the server's message rate limit.
     * @type {Set<number>}
     */
    this.owed = new Set();
    /** Tasks queued in `#serial` and not finished. */
    this.pending = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} the owed keys' flush, once quiet */
    this.flushTimer = undefined;
    /** @type {number | null} when the pending flush was first scheduled (ms) */
    this.flushSince = null;
    /** @type {number | null} */
    this.me = null;
    /** @type {CryptoKeyPair | null} */
    this.pair = null;
    /** @type {Uint8Array<ArrayBuffer>} */
    this.pub = new Uint8Array(0);
    /** @type {CryptoKey | null} proves knowledge of the meeting secret */
    this.auth = null;
    /** Own key: index and base key; `active` is the index the worker sends with. */
    this.index = 0;
    /** @type {Uint8Array<ArrayBuffer>} */
    this.base = new Uint8Array(0);
    this.active = -1;
    /** @type {Map<number, Peer>} */
    this.peers = new Map();
    /** Who is in the meeting (whether or not their key has come). */
    /** @type {Set<number>} */
    this.present = new Set();
    /** Receivers' keys, for chat (the worker holds its own copy for frames). */
    this.ring = new KeyRing();
    /** @type {Set<number>} senders whose proof failed, warned about once */
    this.rejected = new Set();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.rotation = undefined;
    /** Serializes work: messages are handled in the order they came. */
    this.queue = Promise.resolve();
  }

  /**
   * Starts (or, after a reconnection, resumes) with this page's id and who is present.
   * @param {number} me
   * @param {number[]} others
   */
  start(me, others) {
    return this.#serial(async () => {
      const resumed = this.me === me && this.pair;
      this.me = me;
      if (!this.pair) {
        this.pair = /** @type {CryptoKeyPair} */ (await crypto.subtle.generateKey(
          { name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']));
        this.pub = new Uint8Array(await crypto.subtle.exportKey('raw', this.pair.publicKey));
        const authBits = await hkdf(this.secret, `auth ${this.meeting}`, 32);
        this.auth = await crypto.subtle.importKey('raw', authBits, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
      }
      if (!resumed) {
        this.index = 0;
        this.base = crypto.getRandomValues(new Uint8Array(32));
        this.#own();
        this.#activate();
      }
      const gone = [...this.peers.keys()].filter((p) => !others.includes(p));
      this.present = new Set(others);
      for (const p of gone) this.#drop(p);
      // Back after a lost connection: the others saw this page leave and dropped its key.
      for (const [id, peer] of this.peers) { peer.sent = -1; this.owed.add(id); }
      this.send({ data: JSON.stringify({ v: PROTOCOL, t: 'hello', ...(await this.#introduction()) }) });
      if (gone.length) await this.#rekey();
      this.onChange();
    });
  }

  /** @param {number} id */
  joined(id) {
    this.present.add(id);
    this.onChange();
  }

  /**
   * Someone left or was removed: a new key that they never see, for everything sent from now.
   * @param {number} id
   */
  left(id) {
    return this.#serial(async () => {
      this.present.delete(id);
      const had = this.peers.has(id);
      this.#drop(id);
      if (had) await this.#rekey();
      this.onChange();
    });
  }

  /**
   * An `e2ee` message relayed from `from`, with this page's own entry if it had one.
   * @param {number} from
   * @param {string} data
   * @param {string | null} [key]
   */
  receive(from, data, key = null) {
    return this.#serial(async () => {
      /** @type {any} */
      let m;
      try { m = JSON.parse(data); } catch { return; }
      if (!m || m.v !== PROTOCOL || typeof m.pub !== 'string' || typeof m.mac !== 'string'
        || typeof m.name !== 'string' || typeof m.role !== 'string') return;
      let pub;
      try { pub = unb64(m.pub); } catch { return; }
      if (!(await this.#verify(from, m.name, m.role, pub, m.mac))) {
        if (!this.rejected.has(from)) {
          this.rejected.add(from);
          this.onRejected(from);
        }
        return;
      }
      const known = this.peers.get(from);
      const fresh = !known || b64(known.pub) !== b64(pub);
      if (fresh) {
        this.peers.set(from, { pub, wrap: await this.#wrapKey(from, pub), sent: -1, name: m.name, role: m.role });
        this.present.add(from);
      }
      const peer = /** @type {Peer} */ (this.peers.get(from));
      if (m.t === 'hello' && fresh && known === undefined) {
        // A newcomer: move the own key forward first, so they cannot decrypt what was sent
        // before they came. Everyone else present follows by ratcheting on their own.
        await this.#ratchet();
      }
      let mine = null;
      try { mine = m.t === 'key' && typeof key === 'string' ? JSON.parse(key) : null; } catch { /* not ours */ }
      if (mine && typeof mine === 'object') {
        const base = await this.#unwrap(from, peer, m.index, mine);
        if (base) {
          this.ring.set(from, m.index, base);
          this.sink.key(from, m.index, base);
        }
      }
      if (peer.sent !== this.index) this.owed.add(from);
      this.onChange();
    });
  }

  /**
   * Who a participant is, as their own link says and the meeting secret proves: `null` until
   * their hello came (the server's word for it is not proof).
   * @param {number} id
   * @returns {{name: string, role: string} | null}
   */
  identity(id) {
    const p = this.peers.get(id);
    return p && this.present.has(id) ? { name: p.name, role: p.role } : null;
  }

  /** Ids present whose key has not come yet. */
  missing() {
    return [...this.present].filter((p) => p !== this.me && this.ring.newest(p) === undefined);
  }

  /**
   * A short code from everyone's public keys, the same on every page that has the same keys:
   * people compare it aloud to know no one is in the middle. `null` until keys are exchanged.
   */
  async safetyCode() {
    if (this.me === null || !this.pub.length) return null;
    const rows = [[this.me, b64(this.pub)]];
    for (const [id, p] of this.peers) if (this.present.has(id)) rows.push([id, b64(p.pub)]);
    rows.sort((a, b) => Number(a[0]) - Number(b[0]));
    const text = `summit safety v1\n${this.meeting}\n${rows.map((r) => r.join(' ')).join('\n')}`;
    const h = new Uint8Array(await crypto.subtle.digest('SHA-256', enc.encode(text)));
    let v = 0n;
    for (const x of h.subarray(0, 8)) v = (v << 8n) | BigInt(x);
    const digits = (v % 10n ** 15n).toString().padStart(15, '0');
    return digits.match(/.{5}/g)?.join(' ') ?? digits;
  }

  /**
   * Seals a chat message with the own current key.
   * @param {string} text
   */
  sealChat(text) {
    return this.#serial(async () => {
      const key = await this.#chatKey(this.base, kidOf(/** @type {number} */ (this.me), this.index));
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const kid = new Uint8Array(8);
      new DataView(kid.buffer).setBigUint64(0, kidOf(/** @type {number} */ (this.me), this.index));
      const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: kid }, key, enc.encode(text)));
      return b64(concat(concat(kid, iv), ct));
    });
  }

  /**
   * Opens sealed chat from `from`; `null` if this page has no key for it (sent before it came).
   * @param {number} from
   * @param {string} sealed
   */
  async openChat(from, sealed) {
    try {
      const b = unb64(sealed);
      const kidBytes = b.slice(0, 8);
      const kid = new DataView(kidBytes.buffer).getBigUint64(0);
      if (kid >> 16n !== BigInt(from)) return null;
      const iv = b.slice(8, 20);
      const ct = b.slice(20);
      const open = async (/** @type {Uint8Array<ArrayBuffer>} */ base) => {
        const key = await this.#chatKey(base, kid);
        return dec.decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: kidBytes }, key, ct));
      };
      return await this.ring.open(kid, (e) => open(e.base));
    } catch {
      return null;
    }
  }

  /** Every receiving key held, for tests and diagnostics: `[{kid, base}]` (base64url). */
  exportKeys() {
    return this.ring.export().map((e) => ({ kid: e.kid.toString(), base: b64(e.base) }));
  }

  // ---------- Internals ----------

  /**
   * @template T
   * @param {() => Promise<T>} f
   * @returns {Promise<T>}
   */
  #serial(f) {
    this.pending += 1;
    const run = this.queue.then(f);
    this.queue = run.then(() => {}, (e) => console.error('e2ee:', e)).then(() => {
      this.pending -= 1;
      if (this.pending === 0 && this.owed.size) this.#scheduleFlush();
    });
    return run;
  }

  /**
   * Idle with keys owed: send them all in one message once no other message has come for
   * FLUSH_QUIET_MS, so that the replies to a newcomer's hello, coming one after another,
   * are answered together.
   */
  #scheduleFlush() {
    const now = Date.now();
    this.flushSince ??= now;
    clearTimeout(this.flushTimer);
    const wait = Math.max(0, Math.min(FLUSH_QUIET_MS, this.flushSince + FLUSH_MAX_MS - now));
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushSince = null;
      if (this.owed.size) this.#serial(() => this.#flush());
    }, wait);
  }

  /**
   * What the MAC covers: the meeting, the participant id the server gave, the person's role
   * and name as their link says, and their public key. The server can neither present one
   * participant's key as another's nor relabel anyone.
   * @param {number} id @param {string} name @param {string} role @param {Uint8Array<ArrayBuffer>} pub
   */
  #macInput(id, name, role, pub) {
    return concat(enc.encode(`hello ${JSON.stringify([this.meeting, id, role, name])} `), pub);
  }

  /** This page's public key, person and MAC, as every hello and key message carries them. */
  async #introduction() {
    const me = /** @type {number} */ (this.me);
    const msg = this.#macInput(me, this.name, this.role, this.pub);
    const mac = b64(new Uint8Array(await crypto.subtle.sign('HMAC', /** @type {CryptoKey} */ (this.auth), msg)));
    return { pub: b64(this.pub), name: this.name, role: this.role, mac };
  }

  /**
   * @param {number} id @param {string} name @param {string} role
   * @param {Uint8Array<ArrayBuffer>} pub @param {string} mac
   */
  async #verify(id, name, role, pub, mac) {
    try {
      const msg = this.#macInput(id, name, role, pub);
      return await crypto.subtle.verify('HMAC', /** @type {CryptoKey} */ (this.auth), unb64(mac), msg);
    } catch {
      return false;
    }
  }

  /** The key that wraps media keys between this page and `id`: ECDH, then HKDF. */
  async #wrapKey(/** @type {number} */ id, /** @type {Uint8Array<ArrayBuffer>} */ pub) {
    const theirs = await crypto.subtle.importKey('raw', pub, { name: 'ECDH', namedCurve: 'P-256' }, false, []);
    const shared = new Uint8Array(await crypto.subtle.deriveBits(
      { name: 'ECDH', public: theirs }, /** @type {CryptoKeyPair} */ (this.pair).privateKey, 256));
    const [a, b] = [Math.min(id, /** @type {number} */ (this.me)), Math.max(id, /** @type {number} */ (this.me))];
    const bits = await hkdf(shared, `wrap ${this.meeting} ${a} ${b}`, 16);
    return crypto.subtle.importKey('raw', bits, 'AES-GCM', false, ['encrypt', 'decrypt']);
  }

  /** @param {number} from @param {number} to @param {number} index */
  #keyAad(from, to, index) {
    return enc.encode(`key ${this.meeting} ${from} ${to} ${index}`);
  }

  /** Sends the own current key to everyone owed it, wrapped for each alone. */
  async #flush() {
    const me = /** @type {number} */ (this.me);
    const to = [...this.owed].filter((id) => this.peers.has(id));
    this.owed.clear();
    const data = JSON.stringify({ v: PROTOCOL, t: 'key', ...(await this.#introduction()), index: this.index });
    for (let i = 0; i < to.length; i += KEYS_PER_MESSAGE) {
      const chunk = to.slice(i, i + KEYS_PER_MESSAGE);
      /** @type {Record<string, string>} each recipient's entry: the key wrapped for them */
      const keys = {};
      for (const id of chunk) {
        const peer = /** @type {Peer} */ (this.peers.get(id));
        const iv = crypto.getRandomValues(new Uint8Array(12));
        const ct = new Uint8Array(await crypto.subtle.encrypt(
          { name: 'AES-GCM', iv, additionalData: this.#keyAad(me, id, this.index) }, peer.wrap, this.base));
        keys[String(id)] = JSON.stringify({ iv: b64(iv), ct: b64(ct) });
        peer.sent = this.index;
      }
      this.send({ data, keys });
    }
  }

  /**
   * @param {number} from
   * @param {Peer} peer
   * @param {any} index
   * @param {any} wrapped `{iv, ct}` for this page
   */
  async #unwrap(from, peer, index, wrapped) {
    if (!Number.isInteger(index) || index < 0 || index > MAX_INDEX) return null;
    try {
      return new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: unb64(wrapped.iv), additionalData: this.#keyAad(from, /** @type {number} */ (this.me), index) },
        peer.wrap, unb64(wrapped.ct)));
    } catch {
      return null;
    }
  }

  /** Own key one step along the chain, in use at once (receivers follow on their own). */
  async #ratchet() {
    if (this.index >= MAX_INDEX) return this.#rekey();
    this.base = await ratchet(this.base);
    this.index += 1;
    this.#own();
    this.#activate();
  }

  /** A fresh own key, sent to everyone present; in use after ROTATE_DELAY_MS. */
  async #rekey() {
    this.base = crypto.getRandomValues(new Uint8Array(32));
    // Past the last index, start over: KIDs then repeat, but with unrelated keys.
    this.index = this.index >= MAX_INDEX ? 0 : this.index + 1;
    this.#own();
    for (const id of this.peers.keys()) this.owed.add(id);
    clearTimeout(this.rotation);
    this.rotation = setTimeout(() => this.#activate(), this.rotateDelayMs);
  }

  #activate() {
    const me = /** @type {number} */ (this.me);
    this.active = this.index;
    this.sink.sendKey(me, this.index, this.base);
  }

  /** The own key just changed: keep it to open one's own chat as it comes back. */
  #own() {
    this.ring.set(/** @type {number} */ (this.me), this.index, this.base);
  }

  /** @param {number} id */
  #drop(id) {
    this.peers.delete(id);
    this.ring.forget(id);
    this.sink.forget(id);
  }

  /** @param {Uint8Array<ArrayBuffer>} base @param {bigint} kid */
  async #chatKey(base, kid) {
    const bits = await hkdf(base, `chat ${kid}`, 16);
    return crypto.subtle.importKey('raw', bits, 'AES-GCM', false, ['encrypt', 'decrypt']);
  }
}
