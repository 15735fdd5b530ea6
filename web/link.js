// @ts-check
/**
 * The page's own link: the meeting, the invitation token and the meeting secret. This is what
 * the page trusts (the server never sees the secret, and cannot change the link): whether the
 * meeting is end-to-end encrypted, and who this page's person is. Both parts leave the address
 * bar once read (history, screenshots, a shared screen), and stay in this tab's
 * sessionStorage, so that a reload and a reconnection still work; so does the token that
 * resumes this tab's session.
 */
import { secretFromFragment } from './e2ee.js';

/**
 * Claims of an invitation token, read without verifying it (the server verifies; the page
 * only needs to know what its own link says). `null` when it is not a token.
 * @param {string} token
 * @returns {any}
 */
export function readClaims(token) {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return null;
  try {
    const b64 = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

export class Link {
  /** @param {Location} loc */
  constructor(loc) {
    this.meeting = decodeURIComponent(loc.pathname.split('/').pop() || '');
    const key = `summit:${this.meeting}`;
    this.storageKey = key;
    const fromUrl = new URLSearchParams(loc.search).get('invite') || '';
    const kept = load(key);
    /** Who the link is for: the token in the address, else the one this tab kept. */
    this.invite = fromUrl || kept?.invite || '';
    const fragment = fromUrl ? loc.hash : (kept?.fragment || '');
    /** The meeting secret, from the fragment (never sent to the server). */
    this.secret = secretFromFragment(fragment);
    /** The fragment as it was, for links the host makes. */
    this.fragment = this.secret ? fragment : '';
    if (fromUrl && kept?.invite !== fromUrl) {
      // Another link opened in this tab: the session of the old one is not this one's.
      save(key, { invite: this.invite, fragment: this.fragment });
    }
    /** @type {any} */
    this.claims = readClaims(this.invite);
    // Out of the address bar, history and anything that reads the address.
    if (loc.search || loc.hash) history.replaceState(null, '', loc.pathname);
  }

  /**
   * Whether the meeting is end-to-end encrypted, as the link says: its invitation does not
   * say otherwise, or it carries a secret. A server that says otherwise is not believed.
   */
  get encrypted() {
    return !this.claims?.no_e2ee || !!this.secret;
  }

  /** The token that resumes this tab's session, if it has one. */
  get resumeToken() {
    const t = load(this.storageKey)?.resume;
    return typeof t === 'string' ? t : null;
  }

  /** @param {string | null} token */
  set resumeToken(token) {
    const kept = load(this.storageKey) || { invite: this.invite, fragment: this.fragment };
    if (token) kept.resume = token; else delete kept.resume;
    save(this.storageKey, kept);
  }
}

/** @param {string} key @returns {any} */
function load(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

/** @param {string} key @param {any} value */
function save(key, value) {
  try {
    sessionStorage.setItem(key, JSON.stringify(value));
  } catch { /* storage refused (private mode): the link still works until the tab closes */ }
}
