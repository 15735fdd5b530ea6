// @ts-check
/**
 * The page's handle on the media encryption worker (e2ee-worker.js): gives it keys, and puts
 * it between each sender or receiver and the network with an encoded transform.
 */

/** Whether this browser can encrypt media end to end, and how. */
export function frameSupport() {
  if (!globalThis.crypto?.subtle) return { ok: false, legacy: false, why: 'This page is not served over HTTPS, so the browser offers no cryptography.' };
  if ('RTCRtpScriptTransform' in window) return { ok: true, legacy: false, why: '' };
  if (typeof RTCRtpSender !== 'undefined' && 'createEncodedStreams' in RTCRtpSender.prototype) return { ok: true, legacy: true, why: '' };
  return { ok: false, legacy: false, why: 'This browser cannot encrypt media end to end. Use a current Chrome, Edge, Firefox or Safari.' };
}

export class FrameCrypto {
  /**
   * @param {(mid: string, sender: number) => void} [onMisrouted] frames of `sender` came on an
   *   m-line announced as someone else's (and were dropped)
   * @param {(mid: string, sender: number) => void} [onSender] an m-line's frames now open with
   *   `sender`'s key (a speaker slot handed over)
   */
  constructor(onMisrouted = () => {}, onSender = () => {}) {
    this.legacy = frameSupport().legacy;
    this.worker = new Worker(new URL('./e2ee-worker.js', import.meta.url), { type: 'module' });
    this.worker.addEventListener('message', (ev) => {
      if (ev.data?.type === 'misrouted') onMisrouted(String(ev.data.mid), Number(ev.data.sender));
      if (ev.data?.type === 'sender') onSender(String(ev.data.mid), Number(ev.data.sender));
    });
    /** @type {WeakSet<object>} senders and receivers already transformed */
    this.attached = new WeakSet();
    this.nextReport = 0;
  }

  /** @param {number} sender @param {number} index @param {Uint8Array} base */
  sendKey(sender, index, base) { this.worker.postMessage({ type: 'send-key', sender, index, base }); }

  /** @param {number} sender @param {number} index @param {Uint8Array} base */
  key(sender, index, base) { this.worker.postMessage({ type: 'key', sender, index, base }); }

  /** @param {number} sender */
  forget(sender) { this.worker.postMessage({ type: 'forget', sender }); }

  /**
   * Who may send on each received m-line: frames of anyone else are dropped there.
   * @param {Array<[string, number[]]>} routes mid and senders
   */
  route(routes) { this.worker.postMessage({ type: 'route', routes }); }

  /**
   * Encrypts what a sender sends, or decrypts what a receiver receives.
   * @param {RTCRtpSender | RTCRtpReceiver} endpoint
   * @param {'encrypt' | 'decrypt'} operation
   * @param {string} kind 'audio' or 'video'
   * @param {string} [mid] a receiver's m-line, which says whose frames it may open
   */
  attach(endpoint, operation, kind, mid = '') {
    if (this.attached.has(endpoint)) return;
    this.attached.add(endpoint);
    const e = /** @type {any} */ (endpoint);
    if (!this.legacy) {
      e.transform = new RTCRtpScriptTransform(this.worker, { operation, kind, mid });
      return;
    }
    const { readable, writable } = e.createEncodedStreams();
    this.worker.postMessage({ type: 'streams', operation, kind, mid, readable, writable }, [readable, writable]);
  }

  /** Keeps the next `limit` received frames, encrypted and decrypted, for diagnostics. */
  capture(limit) { this.worker.postMessage({ type: 'capture', limit }); }

  /**
   * Counts of frames encrypted, decrypted and dropped, in all and per received m-line (with
   * the sender whose frames it last opened); while capturing, the frames captured and the
   * receiving keys (hex base key by KID).
   * @returns {Promise<{stats: Record<string, number>, lines: Record<string, any>, frames: any[], keys: Array<{kid: string, base: string}>}>}
   */
  report() {
    const id = ++this.nextReport;
    return new Promise((resolve) => {
      const on = (/** @type {MessageEvent} */ ev) => {
        if (ev.data?.type !== 'report' || ev.data.id !== id) return;
        this.worker.removeEventListener('message', on);
        resolve({ stats: ev.data.stats, lines: ev.data.lines, frames: ev.data.frames, keys: ev.data.keys });
      };
      this.worker.addEventListener('message', on);
      this.worker.postMessage({ type: 'report', id });
    });
  }
}
