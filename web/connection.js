// @ts-check
/**
 * Media connections: the publishing PeerConnection (this page offers) and the subscribing one
 * (the server offers). Two connections mean offers never collide.
 */
import { PlayoutDelay } from './playout.js';

/** How often the page reads what its subscribing connection received (checkFlow). */
export const FLOW_EVERY_MS = 500;

/**
 * Encrypted video is sent as VP8 only: its few header bytes stay readable (docs/e2ee.md),
 * while an H.264 packetizer would look for NAL units inside the ciphertext.
 * @param {RTCRtpTransceiver} t
 */
function preferVp8(t) {
  const codecs = RTCRtpReceiver.getCapabilities('video')?.codecs ?? [];
  const vp8 = codecs.filter((c) => /^video\/(vp8|rtx)$/i.test(c.mimeType));
  try { if (vp8.length) t.setCodecPreferences(vp8); } catch (e) { console.warn('cannot prefer VP8:', e); }
}

/**
 * Audio with RED (RFC 2198) first where the browser has it, while the server says every page
 * in the meeting can receive it (`audio_redundancy`): each packet also carries the one before,
 * so a single lost packet is heard anyway. Off, RED is left out of the offer altogether.
 * Browsers without RED (Firefox ESR) keep Opus with in-band FEC.
 * @param {RTCRtpTransceiver} t @param {boolean} on
 */
function preferRed(t, on) {
  const codecs = RTCRtpReceiver.getCapabilities('audio')?.codecs ?? [];
  const isRed = (/** @type {{mimeType: string}} */ c) => /^audio\/red$/i.test(c.mimeType);
  if (!codecs.some(isRed)) return;
  const rest = codecs.filter((c) => !isRed(c));
  try { t.setCodecPreferences(on ? [...codecs.filter(isRed), ...rest] : rest); } catch (e) { console.warn('cannot set RED:', e); }
}

/**
 * `sdp` without RED in its audio sections: the payload type off the m-line, and its rtpmap,
 * fmtp and rtcp-fb lines.
 * @param {string} sdp
 */
export function withoutRed(sdp) {
  const lines = sdp.split('\r\n');
  const red = new Set(lines.map((l) => /^a=rtpmap:(\d+) red\//i.exec(l)?.[1]).filter(Boolean));
  if (!red.size) return sdp;
  return lines
    .filter((l) => !/^a=(rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(l) || !red.has(/^a=[a-z-]+:(\d+)/.exec(l)?.[1] ?? ''))
    .map((l) => (l.startsWith('m=audio ') ? l.split(' ').filter((f, i) => i < 3 || !red.has(f)).join(' ') : l))
    .join('\r\n');
}

/**
 * Camera simulcast: three encodings, lowest first, so the server can send each viewer the one
 * that fits their link and the size they show it at (docs/architecture.md). Bitrates follow
 * what browsers use for these sizes.
 */
const CAMERA_LAYERS = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1_700_000 },
];

/**
 * The layers as the server is told of them: rid and encoded size.
 * @param {MediaStreamTrack} track
 */
function layerInfo(track) {
  const s = track.getSettings();
  const [w, h] = [s.width || 1280, s.height || 720];
  return CAMERA_LAYERS.map((l) => ({
    rid: l.rid,
    width: Math.round(w / l.scaleResolutionDownBy),
    height: Math.round(h / l.scaleResolutionDownBy),
  }));
}

export class Connection {
  /**
   * @param {import('./signaling.js').Signaling} signaling
   * @param {(mid: string, track: MediaStreamTrack) => void} onTrack
   * @param {import('./framecrypto.js').FrameCrypto | null} frames end-to-end encryption, if on
   * @param {() => void} [onMapping] what the m-lines carry changed (before any of it arrives)
   * @param {boolean} [relayOnly] all media through a TURN server (none reaches the server,
   *   or the network, from this browser's own address)
   */
  constructor(signaling, onTrack, frames = null, onMapping = () => {}, relayOnly = false) {
    this.signaling = signaling;
    this.onTrack = onTrack;
    this.frames = frames;
    this.onMapping = onMapping;
    this.relayOnly = relayOnly;
    /** @type {RTCIceServer[]} TURN servers the server gave this page */
    this.iceServers = [];
    /** @type {any} */
    const config = { bundlePolicy: 'max-bundle', iceTransportPolicy: relayOnly ? 'relay' : 'all' };
    // Browsers with only createEncodedStreams need it asked for when the connection is made.
    if (frames?.legacy) config.encodedInsertableStreams = true;
    this.pub = new RTCPeerConnection(config);
    this.sub = new RTCPeerConnection(config);
    /** @type {Map<string, RTCRtpTransceiver>} source -> transceiver */
    this.senders = new Map();
    /** Send the microphone as RED (the server's `audio_redundancy`). */
    this.redundancy = false;
    /** @type {Map<string, Array<{rid: string, width: number, height: number}>>} source -> layers */
    this.layers = new Map();
    /** @type {Array<{mid: string, participant: number, source: string}>} */
    this.mapping = [];
    /** The m-line carrying the language channel this page listens to, if any. */
    /** @type {string | null} */
    this.channelMid = null;
    /** Subscribe offers received (renegotiations), for tests and debugging. */
    this.offers = 0;
    /** @type {number | null} when a connection first had both descriptions (media may flow) */
    this.negotiatedAt = null;
    /** Closed for good (it cannot be taken into a resumed session). */
    this.closed = false;
    /** A session has used these connections (a fresh session needs fresh ones). */
    this.used = false;
    /** @type {any} the last `publish` sent, to send again if its answer was lost */
    this.lastPublish = null;
    /** Called when ICE fails, or stays disconnected: the page restarts it. */
    this.onIceTrouble = () => {};
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.iceTimer = undefined;
    /** Media has flowed on these connections (trouble after that is a changed network). */
    this.everConnected = false;
    /** @type {number[]} bytes received on the subscribing connection, FLOW_EVERY_MS apart */
    this.flow = [];
    /** Readings of the flow so far. */
    this.flowTicks = 0;
    /** How long received video is held: longer while packets are lost (playout.js). */
    this.playout = new PlayoutDelay();
    for (const pc of [this.pub, this.sub]) {
      pc.addEventListener('iceconnectionstatechange', () => {
        clearTimeout(this.iceTimer);
        const state = pc.iceConnectionState;
        if (state === 'connected' || state === 'completed') this.everConnected = true;
        if (!this.everConnected || this.closed) return;
        if (state === 'failed') this.onIceTrouble();
        // Chrome says "disconnected" after seconds without answers; a second more rules out
        // a passing burst of loss.
        if (state === 'disconnected') this.iceTimer = setTimeout(() => this.onIceTrouble(), 1000);
      });
    }
    this.publishing = Promise.resolve();
    /** @type {(() => void) | null} resolves the publishing offer in flight */
    this.answered = null;
    this.sub.ontrack = (ev) => {
      const mid = ev.transceiver.mid;
      this.frames?.attach(ev.receiver, 'decrypt', ev.track.kind, mid ?? '');
      if (mid) this.onTrack(mid, ev.track);
    };
  }

  /**
   * Starts or changes what this page sends, then offers it.
   * @param {'microphone'|'camera'|'screen'} source
   * @param {MediaStreamTrack | null} track
   */
  async setSource(source, track) {
    let t = this.senders.get(source);
    if (!t && track) {
      // The camera goes out in three simulcast layers; a screen share in one, at full size.
      const simulcast = source === 'camera';
      t = this.pub.addTransceiver(track, simulcast
        ? { direction: 'sendonly', sendEncodings: CAMERA_LAYERS.map((l) => ({ ...l })) }
        : { direction: 'sendonly' });
      if (simulcast) this.layers.set(source, layerInfo(track));
      if (this.frames) {
        this.frames.attach(t.sender, 'encrypt', track.kind);
        if (track.kind === 'video') preferVp8(t);
      }
      if (track.kind === 'audio') preferRed(t, this.redundancy);
      this.senders.set(source, t);
      await this.offer();
    } else if (t) {
      await t.sender.replaceTrack(track);
      if (!track && source === 'screen') {
        t.direction = 'inactive';
        this.senders.delete(source);
        await this.offer();
      }
    }
  }

  /**
   * RED on or off for the microphone, as the server says; offers again when that changes what
   * this page sends.
   * @param {boolean} on
   */
  async setRedundancy(on) {
    if (on === this.redundancy) return;
    this.redundancy = on;
    const t = this.senders.get('microphone');
    if (!t) return;
    preferRed(t, on);
    await this.offer();
  }

  /** Sends a publishing offer with what each m-line carries; one at a time. */
  offer() {
    this.publishing = this.publishing.then(async () => {
      const offer = await this.pub.createOffer();
      await this.pub.setLocalDescription(offer);
      const tracks = [];
      for (const [source, t] of this.senders) {
        if (t.mid && t.direction !== 'inactive') {
          const layers = this.layers.get(source);
          tracks.push(layers ? { mid: t.mid, source, layers } : { mid: t.mid, source });
        }
      }
      this.lastPublish = { type: 'publish', sdp: this.pub.localDescription?.sdp, tracks };
      this.signaling.send(this.lastPublish);
      await new Promise((resolve) => { this.answered = () => resolve(undefined); });
    }).catch((e) => console.error('publish failed', e));
    return this.publishing;
  }

  /** @param {string} sdp */
  async onPublishAnswer(sdp) {
    // The server answers with RED once negotiated even when the offer left it out, and the
    // browser sends what the answer lists first: without RED, it goes from the answer too.
    await this.pub.setRemoteDescription({ type: 'answer', sdp: this.redundancy ? sdp : withoutRed(sdp) });
    this.negotiatedAt ??= Date.now();
    if (this.answered) this.answered();
  }

  /**
   * @param {string} sdp
   * @param {Array<{mid: string, participant: number, source: string}>} tracks
   * @param {string | null} [channelMid]
   */
  async onSubscribeOffer(sdp, tracks, channelMid = null) {
    this.offers += 1;
    this.mapping = tracks;
    this.channelMid = channelMid ?? null;
    this.onMapping();
    await this.sub.setRemoteDescription({ type: 'offer', sdp });
    const answer = await this.sub.createAnswer();
    await this.sub.setLocalDescription(answer);
    this.negotiatedAt ??= Date.now();
    this.signaling.send({ type: 'subscribe_answer', sdp: this.sub.localDescription?.sdp });
    // Tracks of m-lines that were already receiving keep their track; re-announce them.
    for (const t of this.sub.getTransceivers()) {
      if (t.mid && t.currentDirection !== 'inactive' && t.currentDirection !== 'stopped') {
        this.onTrack(t.mid, t.receiver.track);
      }
    }
  }

  /**
   * The server moved its speaker slots (`microphone`), video slots (`camera`) or screen slot
   * (`screen`) to other participants (no new offer): what the m-lines carry follows.
   * @param {Array<{mid: string, participant?: number | null}>} slots
   * @param {'microphone' | 'camera' | 'screen'} source
   */
  moveSlots(slots, source) {
    const mids = new Set(slots.map((s) => s.mid));
    this.mapping = this.mapping.filter((t) => !mids.has(t.mid));
    for (const s of slots) {
      if (typeof s.participant === 'number') this.mapping.push({ mid: s.mid, participant: s.participant, source });
    }
  }

  /**
   * Whether media reaches the server: 'idle' (nothing negotiated yet: nothing to send or
   * receive), 'connecting', 'connected' (either connection is), or 'failed'.
   */
  mediaState() {
    const states = [this.pub.connectionState, this.sub.connectionState];
    if (states.includes('connected')) return 'connected';
    if (this.negotiatedAt === null) return 'idle';
    if (states.includes('failed')) return 'failed';
    return 'connecting';
  }

  /** The server's media addresses, as its descriptions offer them ("udp 10.0.0.1:7881"). */
  serverCandidates() {
    const out = new Set();
    for (const d of [this.pub.remoteDescription, this.sub.remoteDescription]) {
      for (const m of (d?.sdp ?? '').matchAll(/^a=candidate:\S+ \d+ (\w+) \d+ (\S+) (\d+) typ host/gim)) {
        out.add(`${m[1].toLowerCase()} ${m[2]}:${m[3]}`);
      }
    }
    return [...out];
  }

  /**
   * TURN servers and credentials from the server (in `welcome`, renewed by `ice_servers`):
   * used from the next ICE gathering on (an ICE restart, for connections that have one).
   * @param {RTCIceServer[]} servers
   */
  setIceServers(servers) {
    this.iceServers = servers;
    for (const pc of [this.pub, this.sub]) {
      if (pc.signalingState === 'closed') continue;
      pc.setConfiguration({ ...pc.getConfiguration(), iceServers: servers });
    }
  }

  /**
   * The network changed under the connections: new ICE credentials on both, the same m-lines,
   * SSRCs and keys. The page offers its publishing side again; the server offers the
   * subscribing side.
   */
  restartIce() {
    if (this.closed) return;
    if (this.senders.size) {
      this.pub.restartIce();
      this.offer();
    }
    this.signaling.send({ type: 'ice_restart' });
  }

  /**
   * Called every half second (FLOW_EVERY_MS): media that flowed and then stopped dead for a
   * second and a half means the path is gone (a changed network), seconds before ICE itself
   * says "disconnected". Not even RTCP (sender reports, about every second per stream) came.
   */
  async checkFlow() {
    if (this.closed || !this.everConnected) return;
    let bytes = 0;
    let lost = 0;
    let received = 0;
    /** @type {string | undefined} */
    let pair;
    const report = await this.sub.getStats();
    report.forEach((r) => {
      if (r.type === 'transport') {
        bytes += r.bytesReceived || 0;
        pair = r.selectedCandidatePairId;
      }
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        lost += Math.max(0, r.packetsLost || 0);
        received += r.packetsReceived || 0;
      }
    });
    const rtt = pair ? report.get(pair)?.currentRoundTripTime ?? null : null;
    // The playout hold judges loss per second: half a second holds too few packets to tell.
    this.flowTicks += 1;
    if (this.flowTicks % 2 === 0) this.holdVideo(this.playout.update(Date.now(), lost, received, rtt));
    // Six readings: a second in which at least 10 kB came, then a second and a half of none.
    const f = this.flow;
    f.push(bytes);
    if (f.length > 6) f.shift();
    if (f.length === 6 && f[2] - f[0] > 10000 && f[5] === f[2]) {
      f.length = 0;
      this.onIceTrouble();
    }
  }

  /**
   * Asks every video receiver to hold frames `ms` milliseconds before playing them (0: the
   * browser's own choice), so that retransmitted packets arrive in time (playout.js).
   * @param {number} ms
   */
  holdVideo(ms) {
    for (const r of this.sub.getReceivers()) {
      if (r.track.kind !== 'video') continue;
      const want = ms || null;
      if (r.jitterBufferTarget !== want) r.jitterBufferTarget = want;
    }
  }

  /** A publishing offer whose answer was lost with the connection goes again. */
  resendPublish() {
    if (this.pub.signalingState === 'have-local-offer' && this.lastPublish) this.signaling.send(this.lastPublish);
  }

  close() {
    this.closed = true;
    clearTimeout(this.iceTimer);
    this.pub.close();
    this.sub.close();
  }
}
