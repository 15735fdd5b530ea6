// @ts-check
/** Tiles: one per participant (video or initials, name, mute state, speaking highlight). */

/** @param {string} name */
export function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('') || '?';
}

/** @param {string} s */
function hue(s) {
  let h = 0;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

export class Tile {
  /**
   * @param {HTMLElement} grid
   * @param {number|string} id
   * @param {string} name
   * @param {boolean} self
   */
  constructor(grid, id, name, self) {
    /** The page's own tile. */
    this.local = self;
    this.el = document.createElement('div');
    this.el.className = 'tile' + (self ? ' self' : '');
    this.el.dataset.participant = String(id);
    this.el.setAttribute('role', 'group');
    this.el.setAttribute('aria-label', self ? `${name} (you)` : name);
    this.initials = document.createElement('div');
    this.initials.className = 'initials';
    this.initials.textContent = initials(name);
    this.initials.style.background = `hsl(${hue(name)} 45% 30%)`;
    this.video = document.createElement('video');
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.muted = true;
    this.audio = document.createElement('audio');
    this.audio.autoplay = true;
    this.label = document.createElement('div');
    this.label.className = 'name';
    this.nameText = document.createElement('span');
    this.nameText.textContent = self ? `${name} (you)` : name;
    this.mutedIcon = document.createElement('span');
    this.mutedIcon.className = 'muted-icon';
    this.mutedIcon.setAttribute('aria-label', 'microphone muted');
    this.mutedIcon.textContent = '🔇';
    this.mutedIcon.hidden = true;
    // Their connection as the server sees what they send: shown when it is poor.
    this.quality = document.createElement('span');
    this.quality.className = 'quality';
    this.quality.hidden = true;
    this.label.append(this.nameText, this.mutedIcon, this.quality);
    this.note = document.createElement('div');
    this.note.className = 'note';
    this.note.hidden = true;
    /** Why there is no picture, by reason. */
    this.notes = { e2ee: '', bandwidth: '', misrouted: '', connection: '' };
    this.el.append(this.initials, this.video, this.audio, this.label, this.note);
    grid.append(this.el);
    this.cameraOff = true;
    this.show();
  }

  show() {
    const hasVideo = !!this.video.srcObject && !this.cameraOff && !!this.note.hidden;
    this.video.hidden = !hasVideo;
    this.initials.hidden = hasVideo;
  }

  /**
   * Who the tile is of, as the page knows them (a name proven by the key exchange may
   * replace the server's word for it).
   * @param {string} name
   */
  setName(name) {
    if (this.nameText.textContent === name) return;
    this.nameText.textContent = name;
    this.el.setAttribute('aria-label', name);
    this.initials.textContent = initials(name);
  }

  /** @param {MediaStreamTrack} track */
  setVideo(track) {
    if (this.videoTrack() === track) return;
    this.video.srcObject = new MediaStream([track]);
    this.show();
  }

  /** The picture went elsewhere (a video slot moved on): initials until another comes. */
  clearVideo() {
    this.video.srcObject = null;
    this.show();
  }

  /** The track the tile shows, if any. */
  videoTrack() {
    const s = this.video.srcObject;
    return s instanceof MediaStream ? s.getVideoTracks()[0] ?? null : null;
  }

  /** @param {MediaStreamTrack} track */
  setAudio(track) {
    this.audio.srcObject = new MediaStream([track]);
  }

  /**
   * @param {{microphone_muted: boolean, camera_off: boolean, connection?: string,
   *   uplink?: {loss_percent: number, jitter_ms: number}}} info
   */
  update(info) {
    this.mutedIcon.hidden = !info.microphone_muted;
    this.cameraOff = info.camera_off;
    this.setQuality(info.connection === 'poor', info.uplink);
    // Their connection dropped: they are still in the meeting, coming back.
    const reconnecting = info.connection === 'reconnecting';
    if ((this.notes.connection !== '') !== reconnecting) {
      this.setNote(reconnecting ? 'Reconnecting…' : '', 'connection');
    }
    this.show();
  }

  /**
   * The "Poor connection" badge: what this person sends reaches the server with loss or
   * jitter (the server's verdict; on the page's own tile, about the page itself).
   * @param {boolean} poor
   * @param {{loss_percent: number, jitter_ms: number} | undefined} u the figures behind it
   */
  setQuality(poor, u) {
    this.quality.hidden = !poor;
    this.quality.textContent = poor ? 'Poor connection' : '';
    const figures = u ? `reaches the server with ${u.loss_percent}% loss and ${u.jitter_ms} ms jitter` : 'reaches the server with losses';
    this.quality.title = !poor ? ''
      : this.local ? `What you send ${figures}: others may see and hear you break up. A wired connection, or a place nearer the Wi-Fi, helps.`
        : `What they send ${figures}: their picture and voice may break up.`;
  }

  /**
   * A line over the tile saying why there is no picture (an encryption key is missing, the
   * connection is too slow for this video); the initials stand in for the video meanwhile,
   * rather than a black or frozen frame. Each reason is set apart; the first one set shows.
   * @param {string} text empty to clear
   * @param {'e2ee'|'bandwidth'|'misrouted'|'connection'} [why]
   */
  setNote(text, why = 'e2ee') {
    this.notes[why] = text;
    const shown = this.notes.connection || this.notes.misrouted || this.notes.e2ee || this.notes.bandwidth;
    this.note.hidden = !shown;
    const span = document.createElement('span');
    span.textContent = shown;
    this.note.replaceChildren(span);
    this.show();
  }

  /** @param {boolean} on */
  speaking(on) {
    this.el.classList.toggle('speaking', on);
  }

  remove() {
    this.el.remove();
  }
}

/**
 * Watches an audio track's level and calls back with whether someone is speaking.
 * @param {AudioContext} ctx
 * @param {MediaStreamTrack} track
 * @param {(level: number) => void} onLevel level 0..1, about ten times a second
 * @returns {() => void} stop
 */
export function watchLevel(ctx, track, onLevel) {
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  src.connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getByteTimeDomainData(data);
    let sum = 0;
    for (const v of data) sum += ((v - 128) / 128) ** 2;
    onLevel(Math.min(1, Math.sqrt(sum / data.length) * 4));
  }, 100);
  return () => { clearInterval(timer); src.disconnect(); };
}
