// @ts-check
/**
 * Interpretation on the page: the "Listen in" choice and the mix (the channel over the floor,
 * turned down), the interpreter's booth controls, and who holds which booth's microphone.
 * The server sends the state (`interpretation` messages); this module shows it and sends
 * the person's requests. All mixing happens here, in the listener's browser.
 */

/** Language names for the common codes; other codes show as they are. */
const NAMES = /** @type {Record<string, string>} */ ({
  ar: 'Arabic', de: 'German', en: 'English', es: 'Spanish', fr: 'French', it: 'Italian',
  ja: 'Japanese', ko: 'Korean', pt: 'Portuguese', ru: 'Russian', uk: 'Ukrainian', zh: 'Chinese',
});

/** @param {string} code */
export function languageName(code) {
  return NAMES[code] ? `${NAMES[code]} (${code})` : code;
}

/**
 * @typedef {{pair: string, into: string, interpreters: number[], holder: number | null}} Booth
 * @typedef {{language: string, source: number | null}} Channel
 * @typedef {{languages: string[], booths: Booth[], channels: Channel[], hearing: string | null}} State
 */

export class InterpretationView {
  /**
   * @param {{
   *   send: (msg: import('./protocol.js').ClientMessage) => void,
   *   nameOf: (id: number) => string,
   *   floorAudio: () => HTMLMediaElement[],
   *   toast: (text: string) => void,
   *   micOn: () => boolean,
   *   unmute: () => void,
   * }} deps
   */
  constructor(deps) {
    this.deps = deps;
    /** @type {State | null} */
    this.state = null;
    /** My participant id. */
    this.me = 0;
    /** Whether I may add channels. */
    this.host = false;
    /** What the person picked (kept across reconnects; the server forgets on leave). */
    /** @type {string | null} */
    this.wanted = null;
    /** @type {string | null} the language this page's booth spoke into while it held the microphone */
    this.held = null;
    /** Volume of the floor under a channel, 0..1. */
    this.floorVolume = 0.2;
    const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
    this.el = {
      listenWrap: $('listen-wrap'), listen: $('listen-select'), volumeWrap: $('floor-volume-wrap'),
      volume: $('floor-volume'), channelStatus: $('channel-status'), audio: /** @type {HTMLAudioElement} */ ($('channel-audio')),
      booth: $('booth'), boothTitle: $('booth-title'), boothStatus: $('booth-status'),
      boothActions: $('booth-actions'), section: $('interp-section'), list: $('interp-list'),
      addForm: $('add-language-form'), addInput: $('add-language'),
    };
    this.el.listen.addEventListener('change', () => this.pick(this.el.listen.value || null));
    this.el.volume.addEventListener('input', () => {
      this.floorVolume = Number(this.el.volume.value) / 100;
      this.mix();
    });
    this.el.addForm.addEventListener('submit', (/** @type {Event} */ e) => {
      e.preventDefault();
      const language = String(this.el.addInput.value).trim().toLowerCase();
      if (language) this.deps.send({ type: 'add_language', language });
      this.el.addInput.value = '';
    });
  }

  /** @param {{participant_id: number, can_moderate: boolean}} welcome */
  welcome(welcome) {
    this.me = welcome.participant_id;
    this.host = welcome.can_moderate;
    this.state = null;
    this.render();
  }

  /** The person picks what to hear; null is the floor. @param {string | null} language */
  pick(language) {
    this.wanted = language;
    this.deps.send({ type: 'listen', channel: language });
    this.mix();
  }

  /** @param {State} s */
  update(s) {
    const first = !this.state;
    this.state = s;
    // After a reconnect the server no longer knows the choice: say it again.
    if (first && this.wanted && s.hearing !== this.wanted && s.languages.includes(this.wanted)) {
      this.deps.send({ type: 'listen', channel: this.wanted });
    }
    // The microphone this interpreter held went free with the lost connection (or the server's
    // restart): take it back, into the same language, unless a partner took it meanwhile.
    const b = this.myBooth();
    if (first && this.held && b && !b.holder) {
      if (b.into !== this.held) this.deps.send({ type: 'set_direction', into: this.held });
      this.deps.send({ type: 'take_mic' });
    }
    if (!first || b?.holder) this.held = b && b.holder === this.me ? b.into : null;
    this.render();
    this.mix();
  }

  /** The channel's track arrived (one track; its source changes at handovers). @param {MediaStreamTrack} track */
  setChannelTrack(track) {
    if (this.el.audio.srcObject instanceof MediaStream && this.el.audio.srcObject.getTracks()[0] === track) return;
    this.el.audio.srcObject = new MediaStream([track]);
    this.mix();
  }

  /** My booth, if I am an interpreter. */
  myBooth() {
    return this.state?.booths.find((b) => b.interpreters.includes(this.me)) ?? null;
  }

  /** Who speaks into the channel I hear, if anyone. */
  channelSource() {
    const hearing = this.wanted;
    return this.state?.channels.find((c) => c.language === hearing)?.source ?? null;
  }

  /**
   * Who may feed the channel I hear: every interpreter of a booth that works into its
   * language (the source changes at handovers, without a word to the page first).
   * @returns {number[]}
   */
  channelSenders() {
    const hearing = this.wanted;
    if (!hearing || !this.state) return [];
    return this.state.booths.filter((b) => b.pair.split('-').includes(hearing)).flatMap((b) => b.interpreters);
  }

  /** Floor under the channel at the chosen volume while a channel is picked, else full. */
  mix() {
    const onChannel = !!this.wanted;
    for (const a of this.deps.floorAudio()) a.volume = onChannel ? this.floorVolume : 1;
    this.el.audio.muted = !onChannel;
    this.el.volumeWrap.hidden = !onChannel;
    const source = this.channelSource();
    this.el.channelStatus.textContent = !onChannel ? ''
      : source ? `${source === this.me ? 'you' : this.deps.nameOf(source)} interpreting` : 'no interpreter yet';
  }

  render() {
    const s = this.state;
    const active = !!s && s.languages.length > 0;
    this.el.listenWrap.hidden = !active;
    this.el.section.hidden = !active && !this.host;
    this.el.addForm.hidden = !this.host;
    if (!s) { this.el.booth.hidden = true; this.el.list.replaceChildren(); return; }
    // "Listen in": the floor and each channel; keep the person's choice selected.
    const opts = [new Option('Floor (original)', '')];
    for (const l of s.languages) opts.push(new Option(languageName(l), l));
    this.el.listen.replaceChildren(...opts);
    this.el.listen.value = this.wanted ?? '';
    this.renderBooth(this.myBooth());
    this.renderList(s);
  }

  /** The interpreter's controls. @param {Booth | null} b */
  renderBooth(b) {
    this.el.booth.hidden = !b;
    if (!b) return;
    const [x, y] = b.pair.split('-');
    const other = b.into === x ? y : x;
    this.el.boothTitle.textContent = `Booth ${x}–${y} · speaking into ${languageName(b.into)}`;
    const mine = b.holder === this.me;
    const muted = !this.deps.micOn();
    this.el.boothStatus.textContent = mine && muted
      ? 'You have the microphone, but yours is muted: listeners hear nothing. Unmute (M).'
      : mine ? 'You have the microphone: listeners of this channel hear you.'
        : b.holder ? `${this.deps.nameOf(b.holder)} has the microphone.` : 'The microphone is free.';
    this.el.booth.classList.toggle('muted', mine && muted);
    this.el.booth.classList.toggle('live', mine);
    /** @type {HTMLButtonElement[]} */
    const buttons = [];
    const button = (/** @type {string} */ label, /** @type {import('./protocol.js').ClientMessage} */ msg) => {
      const el = document.createElement('button');
      el.type = 'button';
      el.textContent = label;
      el.addEventListener('click', () => this.deps.send(msg));
      buttons.push(el);
    };
    if (!b.holder) {
      button('Take microphone', { type: 'take_mic' });
      // Going live unmutes, as an interpreter console's "on air" key does.
      buttons[buttons.length - 1].addEventListener('click', () => { if (!this.deps.micOn()) this.deps.unmute(); });
    }
    if (mine) {
      for (const p of b.interpreters.filter((i) => i !== this.me)) {
        button(`Hand over to ${this.deps.nameOf(p)}`, { type: 'hand_over', to: p });
      }
      button('Release microphone', { type: 'release_mic' });
    }
    if (!b.holder || mine) button(`Switch to ${languageName(other)}`, { type: 'set_direction', into: other });
    this.el.boothActions.replaceChildren(...buttons);
  }

  /** Who interprets what, for everyone (hosts watch it). @param {State} s */
  renderList(s) {
    const rows = s.booths.map((b) => {
      const li = document.createElement('li');
      const who = b.interpreters.map((i) => (i === this.me ? 'you' : this.deps.nameOf(i))
        + (i === b.holder ? ' 🎙' : '')).join(', ');
      li.textContent = `${b.pair} into ${b.into}: ${who}`
        + (b.holder ? ` — ${b.holder === this.me ? 'you hold' : `${this.deps.nameOf(b.holder)} holds`} the microphone` : ' — microphone free');
      li.dataset.booth = b.pair;
      return li;
    });
    for (const c of s.channels.filter((ch) => !s.booths.some((b) => b.into === ch.language))) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = `${languageName(c.language)}: no interpreter`;
      rows.push(li);
    }
    this.el.list.replaceChildren(...rows);
  }
}
