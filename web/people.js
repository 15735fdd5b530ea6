// @ts-check
/**
 * The participants panel: who is in the meeting (with Mute and Remove for hosts), who waits in
 * the lobby (with Admit and Deny), the links hosts turned away (with Allow again), and the
 * count on the People button.
 */

/**
 * @typedef {object} PeopleDeps
 * @property {(msg: import('./protocol.js').ClientMessage) => void} send a signaling message to the server
 * @property {(text: string) => void} toast a short notice to the person
 * @property {() => void} show opens the panel
 * @property {(text: string) => boolean} confirm asks the person before something drastic
 */

export class PeoplePanel {
  /** @param {PeopleDeps} deps */
  constructor(deps) {
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    this.deps = deps;
    this.el = {
      panel: $('people-panel'), list: $('people'), waiting: $('waiting'), waitingSection: $('waiting-section'),
      denied: $('denied'), deniedSection: $('denied-section'),
      badge: $('waiting-badge'), label: $('btn-people').querySelector('.label'),
    };
    /** How many waited at the last update: a rise means someone new. */
    this.waitingCount = 0;
  }

  /**
   * @param {import('./protocol.js').WelcomeMessage | null} me this page's welcome (null before
   *   it), with the name and role its link gives
   * @param {Iterable<{info: import('./protocol.js').ParticipantInfo, shown: {name: string, role: string}}>} people everyone else,
   *   with who they are as the page knows it
   */
  render(me, people) {
    const rows = [];
    if (me) rows.push(row(`${me.name} (you, ${me.role})`, []));
    const host = !!me?.can_moderate;
    for (const { info, shown } of people) {
      const text = `${shown.name} (${shown.role})${info.connection === 'reconnecting' ? ', reconnecting' : info.connection === 'poor' ? ', poor connection' : ''}${info.microphone_muted ? ', muted' : ''}`;
      const actions = host ? /** @type {Array<[string, () => void]>} */ ([
        ['Mute', () => this.deps.send({ type: 'mute_participant', participant: info.id })],
        ['Remove', () => this.deps.send({ type: 'remove', participant: info.id })],
      ]) : [];
      rows.push(row(text, actions));
    }
    this.el.list.replaceChildren(...rows);
    this.el.label.textContent = `People (${rows.length})`;
  }

  /**
   * The lobby as the server sent it (hosts only): who waits (their names are what their
   * invitations say; they hold no keys yet), and the links turned away.
   * @param {import('./protocol.js').ParticipantInfo[]} waiting
   * @param {import('./protocol.js').DeniedInvitation[]} [denied]
   */
  renderWaiting(waiting, denied = []) {
    this.el.waiting.replaceChildren(...waiting.map((w) => row(`${w.name} (${w.role})`, [
      ['Admit', () => this.deps.send({ type: 'admit', participant: w.id })],
      ['Deny', () => {
        const sure = this.deps.confirm(`Deny ${w.name}? This turns away their link: nobody who holds it, `
          + 'whoever shares it, can wait in the lobby again until a host allows it again.');
        if (sure) this.deps.send({ type: 'deny', participant: w.id });
      }],
    ])));
    this.el.denied.replaceChildren(...denied.map((d) => row(`${d.name} (link turned away by ${d.by})`, [
      ['Allow again', () => this.deps.send({ type: 'allow_again', invitation: d.invitation })],
    ])));
    this.el.deniedSection.hidden = !denied.length;
    this.el.waitingSection.hidden = !waiting.length;
    this.el.badge.hidden = !waiting.length;
    this.el.badge.textContent = String(waiting.length);
    // Someone new waits: show the host who, as meeting apps do.
    if (waiting.length > this.waitingCount) {
      if (this.el.panel.hidden) this.deps.show();
      this.deps.toast(`${waiting[waiting.length - 1].name} is waiting in the lobby`);
    }
    this.waitingCount = waiting.length;
  }
}

/**
 * A row of the panel: the name, and buttons for hosts.
 * @param {string} text
 * @param {Array<[string, () => void]>} actions
 */
function row(text, actions) {
  const li = document.createElement('li');
  li.setAttribute('aria-label', text);
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = text;
  li.append(who);
  for (const [label, act] of actions) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.addEventListener('click', act);
    li.append(b);
  }
  return li;
}
