// @ts-check
/**
 * The host's Invite dialog: a name and a role (and an interpreter's language pair) in, a link
 * to send out. The server signs the invitation; the meeting secret, which the server never
 * sees, is added to the link's fragment here. The page does not take the server's token on
 * trust: every claim in it must be what the host asked for, or no link is shown.
 */
import { readClaims } from './link.js';

/** Longest validity the page expects of an invitation it asked for (the server gives 2 h). */
const MAX_VALID_SECS = 2 * 3600;
/** Clock difference between this browser and the server that is tolerated. */
const CLOCK_SLACK_SECS = 300;

/**
 * @typedef {object} InviteDeps
 * @property {(msg: import('./protocol.js').ClientMessage) => void} send a signaling message to the server
 * @property {string} meeting the meeting's name
 * @property {() => string} fragment the fragment links carry ('' when there is no secret)
 * @property {() => boolean} encrypted whether this meeting is end-to-end encrypted (own link)
 * @property {(text: string) => void} toast a short notice to the person
 */

/**
 * What is wrong with a token the server returned, for what was asked; '' when nothing.
 * @param {any} c the token's claims
 * @param {{meeting: string, name: string, role: string, interprets: string | null, encrypted: boolean}} asked
 * @param {number} now Unix seconds
 */
export function tokenProblem(c, asked, now) {
  if (!c) return 'it is not an invitation';
  if (c.mtg !== asked.meeting) return 'it is for another meeting';
  if (c.name !== asked.name) return 'it names someone else';
  if (c.role !== asked.role) return 'it gives another role';
  if ((c.interprets ?? null) !== asked.interprets) return 'it gives another language pair';
  if (!!c.no_e2ee === asked.encrypted) return 'its encryption setting is not this meeting\'s';
  if (c.skip_lobby) return 'it skips the lobby';
  if (c.uses !== 1) return 'it may be used more than once';
  if (typeof c.exp !== 'number' || c.exp <= now || c.exp > now + MAX_VALID_SECS + CLOCK_SLACK_SECS) return 'its expiry is not the 2 hours asked';
  return '';
}

export class InviteDialog {
  /** @param {InviteDeps} deps */
  constructor(deps) {
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    this.deps = deps;
    this.el = {
      dialog: $('invite-dialog'), form: $('invite-form'), name: $('invite-name'), role: $('invite-role'),
      pair: $('invite-pair'), pairRow: $('invite-pair-row'), result: $('invite-result'),
      link: $('invite-link'), error: $('invite-error'),
    };
    $('invite-copy').addEventListener('click', async () => {
      try { await navigator.clipboard.writeText(this.el.link.value); deps.toast('Link copied'); } catch { this.el.link.select(); }
    });
    $('invite-close').addEventListener('click', () => this.el.dialog.close());
    this.el.role.addEventListener('change', () => this.showPairRow());
    /** @type {{name: string, role: string, interprets: string | null} | null} what was asked last */
    this.asked = null;
    this.el.form.addEventListener('submit', (/** @type {Event} */ e) => {
      e.preventDefault();
      const name = this.el.name.value.trim();
      const role = this.el.role.value;
      /** @type {any} */
      const msg = { type: 'invite', name, role };
      if (role === 'interpreter') msg.interprets = this.el.pair.value.trim().toLowerCase();
      if (!name) return;
      this.asked = { name, role, interprets: msg.interprets ?? null };
      this.el.result.hidden = true;
      deps.send(msg);
    });
  }

  open() {
    this.el.result.hidden = true;
    this.el.error.hidden = true;
    this.el.name.value = '';
    this.el.pair.value = '';
    this.showPairRow();
    this.el.dialog.showModal();
  }

  /** Whether the dialog is open (errors from the server are shown in it then). */
  get isOpen() {
    return !!this.el.dialog.open;
  }

  /** An interpreter's invitation names the pair they work between. */
  showPairRow() {
    const interpreter = this.el.role.value === 'interpreter';
    this.el.pairRow.hidden = !interpreter;
    this.el.pair.required = interpreter;
  }

  /**
   * The server signed an invitation: show its link, if it is what was asked.
   * @param {unknown} token
   */
  showLink(token) {
    const asked = this.asked;
    this.asked = null;
    const text = typeof token === 'string' ? token : '';
    const claims = readClaims(text);
    const why = !asked ? 'nobody asked for it'
      : tokenProblem(claims, { ...asked, meeting: this.deps.meeting, encrypted: this.deps.encrypted() }, Date.now() / 1000);
    if (why) {
      this.el.result.hidden = true;
      this.showError(`The server returned an invitation that is not what you asked for (${why}), so no link is shown.`);
      return;
    }
    // The token is three base64url parts (checked above): nothing in it needs escaping.
    const url = `${location.origin}/m/${encodeURIComponent(this.deps.meeting)}?invite=${encodeURIComponent(text)}${this.deps.fragment()}`;
    this.el.link.value = url;
    this.el.result.hidden = false;
    this.el.error.hidden = true;
  }

  /** The server refused: say why in the dialog. @param {string} text */
  showError(text) {
    this.el.error.textContent = text;
    this.el.error.hidden = false;
  }
}
