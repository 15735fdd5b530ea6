// @ts-check
/**
 * The chat panel: messages shown in order (sealed ones opened with the meeting's keys first),
 * the unread count on the Chat button, and sending (sealed when the meeting is encrypted).
 */

/**
 * @typedef {object} ChatDeps
 * @property {(msg: import('./protocol.js').ClientMessage) => void} send a signaling message to the server
 * @property {() => import('./e2ee.js').E2ee | null} e2ee the page's keys, once it has them
 * @property {() => boolean} encrypted whether the meeting is end-to-end encrypted (as the
 *   page's own link says, not the server)
 * @property {() => number | undefined} myId this page's participant id
 * @property {(id: number, given: string) => string} nameOf who sent a message, as the page
 *   knows them (in an encrypted meeting, proven by the key exchange; not the server's word)
 * @property {(text: string) => void} toast a short notice to the person
 */

export class ChatView {
  /** @param {ChatDeps} deps */
  constructor(deps) {
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    this.deps = deps;
    this.el = {
      panel: $('chat-panel'), log: $('chat-log'), earlier: $('chat-earlier'), form: $('chat-form'),
      input: $('chat-input'), unread: $('unread'),
    };
    /** Messages not yet seen: the panel was closed when they came. */
    this.unread = 0;
    /** Messages from before this page came that it cannot open, summarized in one line. */
    this.unreadableEarlier = 0;
    /** Chat is shown in order, though opening sealed messages takes a moment. */
    this.queue = Promise.resolve();
    this.el.form.addEventListener('submit', (/** @type {Event} */ e) => {
      e.preventDefault();
      this.sendInput();
    });
  }

  /** A new session: the server sends the history again. @param {boolean} canChat */
  reset(canChat) {
    this.el.form.hidden = !canChat;
    this.el.log.replaceChildren();
    this.unreadableEarlier = 0;
    this.el.earlier.hidden = true;
  }

  /** The panel was opened: everything is read. */
  opened() {
    this.unread = 0;
    this.el.unread.hidden = true;
    this.el.input.focus();
  }

  /**
   * @param {import('./protocol.js').ChatMessage} msg a `chat` message
   * @param {boolean} [old] from before this page joined
   */
  add(msg, old = false) {
    this.queue = this.queue.then(() => this.open(msg, old)).catch((e) => console.error('chat:', e));
  }

  /** @param {import('./protocol.js').ChatMessage} msg @param {boolean} old */
  async open(msg, old) {
    if (typeof msg.text !== 'string') return;
    if (!msg.sealed && this.deps.encrypted()) {
      // Only the server could have made it: no participant sends chat in the clear here.
      return this.notice('A message that was not end-to-end encrypted was dropped: in this meeting it can only have come from the server.');
    }
    if (!msg.sealed) return this.show(msg, old);
    const e = this.deps.e2ee();
    let text = e ? await e.openChat(msg.from, msg.text) : null;
    // A message can outrun its sender's key: give the key a moment to come.
    for (let i = 0; !text && e && !old && i < 50 && e.missing().includes(msg.from); i++) {
      await new Promise((r) => setTimeout(r, 100));
      text = await e.openChat(msg.from, msg.text);
    }
    if (text !== null) return this.show({ ...msg, text }, old);
    if (old) {
      const n = (this.unreadableEarlier += 1);
      this.el.earlier.textContent = `🔒 ${n} earlier message${n > 1 ? 's were' : ' was'} sent before you joined and cannot be read with your keys.`;
      this.el.earlier.hidden = false;
      return;
    }
    this.show({ ...msg, text: '🔒 A message you cannot decrypt (you do not have the key it was sent with).' }, old);
  }

  /** @param {import('./protocol.js').ChatMessage} msg @param {boolean} old */
  show(msg, old) {
    const li = document.createElement('li');
    const meta = document.createElement('div');
    meta.className = 'meta';
    const time = new Date(msg.at_ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    meta.textContent = `${this.deps.nameOf(msg.from, String(msg.name))} · ${time}`;
    const text = document.createElement('div');
    text.textContent = msg.text;
    li.append(meta, text);
    this.el.log.append(li);
    li.scrollIntoView({ block: 'end' });
    if (!old && this.el.panel.hidden && msg.from !== this.deps.myId()) {
      this.unread += 1;
      this.el.unread.textContent = String(this.unread);
      this.el.unread.hidden = false;
    }
  }

  /** A line of the page's own in the chat, about the chat. @param {string} text */
  notice(text) {
    const li = document.createElement('li');
    li.className = 'notice';
    li.setAttribute('role', 'status');
    li.textContent = `⚠ ${text}`;
    this.el.log.append(li);
  }

  async sendInput() {
    const text = this.el.input.value.trim();
    if (!text) return;
    this.el.input.value = '';
    if (!this.deps.encrypted()) return this.deps.send({ type: 'chat', text });
    const e = this.deps.e2ee();
    if (!e) return this.deps.toast('Chat needs the meeting key.');
    this.deps.send({ type: 'chat', text: await e.sealChat(text), sealed: true });
  }
}
