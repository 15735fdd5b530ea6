// @ts-check
/**
 * The host's Invite dialog: a name and a role (and an interpreter's language pair) in, a link
 * to send out. The server signs the invitation; the meeting secret, which the server never
 * sees, is added to the link's fragment here.
 */

/**
 * @typedef {object} InviteDeps
 * @property {(msg: any) => void} send a signaling message to the server
 * @property {string} meeting the meeting's name
 * @property {() => string} fragment the fragment links carry ('' when there is no secret)
 * @property {(text: string) => void} toast a short notice to the person
 */

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
    this.el.form.addEventListener('submit', (/** @type {Event} */ e) => {
      e.preventDefault();
      const name = this.el.name.value.trim();
      const role = this.el.role.value;
      /** @type {any} */
      const msg = { type: 'invite', name, role };
      if (role === 'interpreter') msg.interprets = this.el.pair.value.trim().toLowerCase();
      if (name) deps.send(msg);
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

  /** The server signed an invitation: show its link. @param {string} token */
  showLink(token) {
    const url = `${location.origin}/m/${encodeURIComponent(this.deps.meeting)}?invite=${token}${this.deps.fragment()}`;
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
