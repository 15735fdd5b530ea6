// @ts-check
/**
 * The floor as this page hears it: a few speaker slots (m-lines the server negotiated once),
 * each carrying one of the meeting's loudest speakers and switched by the server as people
 * speak, without a new offer. Each slot plays through an audio element of its own.
 *
 * Who a slot carries is the server's word (`speaker_slots`). In an encrypted meeting the page
 * trusts instead what the encryption worker proved: the sender whose key opened the slot's last
 * frame. The dominant speaker (`active_speakers`) only chooses the layout.
 */

export class SpeakerSlots {
  /**
   * @param {HTMLElement} container where the slots' audio elements live (not shown)
   * @param {boolean} encrypted whose frames a slot plays is proven by their key, not told
   */
  constructor(container, encrypted) {
    this.container = container;
    this.encrypted = encrypted;
    /** @type {Set<string>} the speaker slots' mids, from the last offer */
    this.mids = new Set();
    /** @type {Map<string, number>} whom the server says each slot carries */
    this.told = new Map();
    /** @type {Map<string, number>} whose frames each slot last played, as their key proved */
    this.proven = new Map();
    /** @type {Map<string, HTMLAudioElement>} */
    this.audio = new Map();
    /** @type {number[]} who is heard now, as the server says */
    this.active = [];
    /** @type {number | null} the dominant speaker, as the server says */
    this.dominant = null;
  }

  /**
   * A new offer: these m-lines are speaker slots, carrying what `tracks` says.
   * @param {string[]} mids
   * @param {Array<{mid: string, participant: number, source: string}>} tracks
   */
  offered(mids, tracks) {
    this.mids = new Set(mids);
    this.told.clear();
    for (const t of tracks) if (this.mids.has(t.mid)) this.told.set(t.mid, t.participant);
    for (const [mid, a] of this.audio) {
      if (!this.mids.has(mid)) { a.remove(); this.audio.delete(mid); this.proven.delete(mid); }
    }
  }

  /**
   * The server moved its slots to other speakers.
   * @param {Array<{mid: string, participant?: number | null}>} slots
   */
  moved(slots) {
    for (const s of slots) {
      if (!this.mids.has(s.mid)) continue;
      if (typeof s.participant === 'number') this.told.set(s.mid, s.participant);
      else this.told.delete(s.mid);
    }
  }

  /**
   * The encryption worker opened a frame of `sender` on `mid`.
   * @param {string} mid @param {number} sender
   */
  provenSender(mid, sender) {
    if (this.mids.has(mid)) this.proven.set(mid, sender);
  }

  /** @param {string} mid */
  has(mid) {
    return this.mids.has(mid);
  }

  /**
   * Whose sound slot `mid` plays: in an encrypted meeting, whose key opened it.
   * @param {string} mid
   * @returns {number | undefined}
   */
  speakerOn(mid) {
    return this.encrypted ? this.proven.get(mid) : this.told.get(mid);
  }

  /**
   * The slot's track arrived (once per m-line): it plays from now on.
   * @param {string} mid @param {MediaStreamTrack} track
   */
  play(mid, track) {
    let a = this.audio.get(mid);
    if (!a) {
      a = document.createElement('audio');
      a.autoplay = true;
      a.dataset.mid = mid;
      this.container.append(a);
      this.audio.set(mid, a);
    }
    if (a.srcObject instanceof MediaStream && a.srcObject.getTracks()[0] === track) return;
    a.srcObject = new MediaStream([track]);
  }

  /** The audio elements of the floor, for its volume under a language channel. */
  elements() {
    return [...this.audio.values()];
  }

  /**
   * Who is heard now and who speaks most (the server's word: used for the layout alone).
   * @param {number[]} speakers @param {number | null} dominant
   */
  setActive(speakers, dominant) {
    this.active = speakers;
    this.dominant = dominant;
  }
}
