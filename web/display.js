// @ts-check
/**
 * Tells the server how big this page shows each remote video, so it sends the simulcast layer
 * that fits (a thumbnail never needs 720p) and nothing for video shown nowhere: a hidden tile,
 * a collapsed strip, a tab in the background. Sizes are in device pixels, reported when they
 * change (resizes are gathered for a moment first).
 */

/** Gathers resize and visibility changes for this long before one report. */
const SETTLE_MS = 250;

export class DisplayReporter {
  /** @param {(msg: import('./protocol.js').ClientMessage) => void} send signaling */
  constructor(send) {
    this.send = send;
    /** @type {Map<string, {participant: number, source: string, el: HTMLElement}>} */
    this.videos = new Map();
    /** @type {Map<string, string>} what was last reported, by key */
    this.reported = new Map();
    this.timer = 0;
    this.observer = new ResizeObserver(() => this.schedule());
    document.addEventListener('visibilitychange', () => this.schedule());
    window.addEventListener('resize', () => this.schedule());
  }

  /**
   * Follows the element showing `participant`'s `source`.
   * @param {number} participant
   * @param {string} source
   * @param {HTMLElement} el
   * @param {boolean} [atOnce] report a new video at once (else with the next gathered report)
   */
  watch(participant, source, el, atOnce = true) {
    const key = `${participant}:${source}`;
    const old = this.videos.get(key);
    if (old?.el === el) return;
    if (old) this.observer.unobserve(old.el);
    this.videos.set(key, { participant, source, el });
    this.observer.observe(el);
    // A new video is reported at once: a track arrives while the page answers the server's
    // offer, so the size gets there before the answer and the first layer sent already fits
    // (no 720p keyframe for a thumbnail). Later changes are gathered.
    if (!old && atOnce) this.report();
    else this.schedule();
  }

  /**
   * Visibility that no resize shows (the `hidden` attribute, a tile's picture turned off).
   */
  changed() { this.schedule(); }

  /** @param {number} participant */
  forget(participant) {
    for (const [key, v] of this.videos) {
      if (v.participant !== participant) continue;
      this.observer.unobserve(v.el);
      this.videos.delete(key);
      this.reported.delete(key);
    }
  }

  /** After reconnecting the server knows nothing: report everything again. */
  resend() {
    this.reported.clear();
    this.schedule();
  }

  schedule() {
    if (this.timer) return;
    this.timer = window.setTimeout(() => { this.timer = 0; this.report(); }, SETTLE_MS);
  }

  report() {
    const dpr = window.devicePixelRatio || 1;
    const tiles = [];
    for (const [key, v] of this.videos) {
      // No client rects when the element or an ancestor is not displayed (offsetParent would
      // also be null for a fixed-position element that is shown).
      const shown = !document.hidden && v.el.isConnected && !v.el.hidden && v.el.getClientRects().length > 0;
      const width = shown ? Math.round(v.el.clientWidth * dpr) : 0;
      const height = shown ? Math.round(v.el.clientHeight * dpr) : 0;
      const now = `${width}x${height}`;
      if (this.reported.get(key) === now) continue;
      this.reported.set(key, now);
      tiles.push({ participant: v.participant, source: v.source, width, height });
    }
    if (tiles.length) this.send({ type: 'display', tiles });
  }
}
