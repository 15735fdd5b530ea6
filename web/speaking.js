// @ts-check
/**
 * Who is speaking among the people this page hears, from the sound it decoded: one getStats()
 * of the receiving connection a few times a second gives every remote microphone's energy,
 * where a WebAudio analyser per track cost a graph and a timer each. The figures are of the
 * audio after decryption with its sender's key, so in an encrypted meeting a server cannot make
 * someone look as if they spoke (the RFC 6464 level in the RTP header, which SFrame does not
 * cover, could be forged). A received m-line's sound is put down to whoever it carries at each
 * reading: a speaker slot changes hands as people take the floor.
 */

/** How often the levels are read, in milliseconds. */
const POLL_MS = 250;
/** Level (RMS, 0 to 1) over a reading from which the sound counts as speech. */
const SPEAKING_LEVEL = 0.02;
/** How long the highlight stays after the last loud reading: the gaps between words. */
const HOLD_MS = 600;

export class SpeakingMonitor {
  /**
   * @param {() => RTCPeerConnection | null | undefined} connection the receiving connection now
   * @param {(mid: string) => number | undefined} whoIs whose sound an m-line plays now
   * @param {(participant: number, speaking: boolean) => void} show called when it changes
   */
  constructor(connection, whoIs, show) {
    this.connection = connection;
    this.whoIs = whoIs;
    this.show = show;
    /** @type {Map<string, string>} the m-line each received microphone track came on */
    this.tracks = new Map();
    /** @type {Map<string, {energy: number, duration: number}>} last reading, by track */
    this.last = new Map();
    /** @type {Map<number, number>} when each participant was last loud (ms) */
    this.loudAt = new Map();
    /** @type {Set<number>} who is shown speaking */
    this.speaking = new Set();
    this.busy = false;
    setInterval(() => { void this.poll(); }, POLL_MS);
  }

  /**
   * Listens to `track`, received on m-line `mid`.
   * @param {MediaStreamTrack} track
   * @param {string} mid
   */
  follow(track, mid) {
    if (this.tracks.get(track.id) === mid) return;
    this.tracks.set(track.id, mid);
    this.last.delete(track.id);
  }

  /** @param {number} participant gone: no more highlight */
  forget(participant) {
    this.loudAt.delete(participant);
    if (this.speaking.delete(participant)) this.show(participant, false);
  }

  async poll() {
    const pc = this.connection();
    if (!pc || this.busy || !this.tracks.size) return;
    this.busy = true;
    try {
      const stats = await pc.getStats();
      const now = performance.now();
      /** @type {Set<number>} who the followed m-lines carry now */
      const heard = new Set();
      stats.forEach((r) => {
        if (r.type !== 'inbound-rtp' || r.kind !== 'audio') return;
        const mid = this.tracks.get(r.trackIdentifier);
        const participant = mid === undefined ? undefined : this.whoIs(mid);
        if (participant === undefined) return;
        heard.add(participant);
        // Mean power since the last reading: the energy is the sum of level² × seconds.
        const energy = r.totalAudioEnergy ?? 0;
        const duration = r.totalSamplesDuration ?? 0;
        const before = this.last.get(r.trackIdentifier);
        this.last.set(r.trackIdentifier, { energy, duration });
        if (!before || duration <= before.duration) return;
        const level = Math.sqrt(Math.max(0, energy - before.energy) / (duration - before.duration));
        if (level >= SPEAKING_LEVEL) this.loudAt.set(participant, now);
      });
      for (const p of new Set([...heard, ...this.speaking])) {
        const on = heard.has(p) && now - (this.loudAt.get(p) ?? -Infinity) < HOLD_MS;
        if (on === this.speaking.has(p)) continue;
        if (on) this.speaking.add(p); else this.speaking.delete(p);
        this.show(p, on);
      }
    } catch {
      // A connection being replaced has no stats to give: the next reading will.
    } finally {
      this.busy = false;
    }
  }
}
