// @ts-check
/**
 * The pre-join screen: whom the link invites where, the camera preview and microphone level,
 * the choice of devices, and why joining would go wrong. The stream it opens is the one the
 * meeting publishes.
 */
import { watchLevel } from './tiles.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** Where this browser keeps the "Relay all media through the TURN server" choice. */
const RELAY_KEY = 'summit.relay';

/** A remembered choice ('' if none, or if the browser keeps no storage for this page). */
function remembered(/** @type {string} */ key) {
  try { return localStorage.getItem(key) ?? ''; } catch { return ''; }
}

/** Remembers a choice ('' forgets it); a browser that refuses storage just does not remember. */
function remember(/** @type {string} */ key, /** @type {string} */ value) {
  try {
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch { /* storage refused: nothing to remember with */ }
}

export class Prejoin {
  /**
   * @param {{meeting: string, claims: any, invite: string, audioCtx: () => AudioContext}} deps
   */
  constructor(deps) {
    this.deps = deps;
    /** @type {MediaStream | null} the camera and microphone, once open (null if refused) */
    this.local = null;
    /** Resolves when the camera and microphone are open (or refused); Join waits for it. */
    this.ready = Promise.resolve();
    /** @type {(() => void) | null} */
    this.stopLevel = null;
    $('camera-select').addEventListener('change', () => { this.ready = this.open(); });
    $('mic-select').addEventListener('change', () => { this.ready = this.open(); });
    // Relaying is a choice about this browser's network (a firewall that needs it), so this
    // browser remembers it for the next meeting.
    const relay = $('join-relay');
    relay.checked = remembered(RELAY_KEY) === '1';
    relay.addEventListener('change', () => remember(RELAY_KEY, relay.checked ? '1' : ''));
  }

  /** Shows the invitation and opens the devices; a link without a valid invitation says so. */
  async start() {
    const { meeting, claims, invite } = this.deps;
    $('meeting-name').textContent = meeting;
    $('top-meeting').textContent = meeting;
    document.title = `${meeting} · Summit`;
    if (!invite || !claims) {
      $('invitee').textContent = '';
      this.showError('This link has no valid invitation. Ask the organizer for your personal link.');
      $('join').disabled = true;
      return;
    }
    $('invitee').textContent = `as ${claims.name} (${claims.role})`;
    this.ready = this.open();
    await this.ready;
    navigator.mediaDevices.addEventListener('devicechange', () => this.listDevices());
  }

  /** @param {string} text empty to clear */
  showError(text) {
    $('prejoin-error').textContent = text;
    $('prejoin-error').hidden = !text;
  }

  /** The devices are the meeting's now: the preview's level meter stops. */
  done() {
    this.stopLevel?.();
    this.stopLevel = null;
  }

  async open() {
    const cam = $('camera-select').value;
    const mic = $('mic-select').value;
    this.local?.getTracks().forEach((t) => t.stop());
    try {
      this.local = await navigator.mediaDevices.getUserMedia({
        audio: mic ? { deviceId: { exact: mic } } : true,
        video: cam ? { deviceId: { exact: cam }, width: 1280, height: 720 } : { width: 1280, height: 720 },
      });
      this.showError('');
    } catch (e) {
      this.local = null;
      this.showError('Summit cannot use your camera or microphone. Allow access in the browser\'s address bar, then reload. You can still join to watch and listen.');
    }
    $('preview').srcObject = this.local;
    $('preview-off').hidden = !!this.local?.getVideoTracks().length;
    this.stopLevel?.();
    const a = this.local?.getAudioTracks()[0];
    if (a) this.stopLevel = watchLevel(this.deps.audioCtx(), a, (l) => { $('level').style.width = `${Math.round(l * 100)}%`; });
    await this.listDevices();
  }

  async listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    for (const [kind, id] of [['videoinput', 'camera-select'], ['audioinput', 'mic-select']]) {
      const sel = $(id);
      const current = this.local?.getTracks().find((t) => (kind === 'videoinput') === (t.kind === 'video'))?.getSettings().deviceId;
      sel.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => {
        const o = document.createElement('option');
        o.value = d.deviceId;
        o.textContent = d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`;
        o.selected = d.deviceId === current;
        return o;
      }));
    }
  }
}
