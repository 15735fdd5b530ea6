// @ts-check
/** The meeting page: pre-join, joining, the meeting itself, and every state in between. */
import { Signaling, closeText } from './signaling.js';
import { CLOSE } from './protocol.js';
/** @typedef {import('./protocol.js').ServerMessage} ServerMessage */
/** @typedef {import('./protocol.js').WelcomeMessage} WelcomeMessage */
/** @typedef {import('./protocol.js').IceServersMessage} IceServersMessage */
/** @typedef {import('./protocol.js').LobbyMessage} LobbyMessage */
/** @typedef {import('./protocol.js').ParticipantInfo} ParticipantInfo */
import { Connection, FLOW_EVERY_MS } from './connection.js';
import { Tile, watchLevel } from './tiles.js';
import { DisplayReporter } from './display.js';
import { Gallery, MAX_TILES } from './gallery.js';
import { SpeakingMonitor } from './speaking.js';
import { SpeakerSlots } from './speakers.js';
import { E2ee } from './e2ee.js';
import { Link } from './link.js';
import { FrameCrypto, frameSupport } from './framecrypto.js';
import { InterpretationView } from './interpretation.js';
import { RecordView } from './record.js';
import { RecordingSealer } from './recording-keys.js';
import { ChatView } from './chat.js';
import { InviteDialog } from './invite.js';
import { PeoplePanel } from './people.js';
import { Prejoin } from './prejoin.js';
import { exposeTestHook } from './test-hook.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** The page's own link: what it trusts, whatever the server says (link.js). */
const link = new Link(location);
const meeting = link.meeting;
const invite = link.invite;
// The meeting secret: in the fragment, which the browser never sends to the server.
const secret = link.secret;

/**
 * Which screen the page is on: the pre-join form, the lobby, the meeting; or, shown over what
 * was there, the end of it (`left` after leaving, `refused` when the server closed the way or it
 * could not be found again). Set only through `showView`.
 * @typedef {'prejoin' | 'lobby' | 'meeting' | 'left' | 'refused'} View
 */

const state = {
  /** @type {View} */ view: 'prejoin',
  /** @type {MediaStream | null} */ local: null,
  /** @type {MediaStreamTrack | null} */ screen: null,
  micOn: true,
  camOn: true,
  /** @type {Signaling | null} */ signaling: null,
  /** @type {Connection | null} */ conn: null,
  /** @type {Map<number, {info: ParticipantInfo, tile: Tile}>} */ people: new Map(),
  /** @type {Tile | null} */ selfTile: null,
  me: /** @type {WelcomeMessage | null} */ (null),
  joinedAt: 0,
  leaving: false,
  reconnects: 0,
  /** @type {number | null} when the connection was lost (reconnecting until RECONNECT_FOR_MS) */
  lostAt: null,
  audioCtx: /** @type {AudioContext | null} */ (null),
  locked: false,
  recording: false,
  /** Who started the recording running now, as the server says. */
  recordingBy: '',
  /** @type {string[]} message types received, for debugging */ log: [],
  /** The meeting is end-to-end encrypted (as the page's own link says). */
  e2eeOn: link.encrypted,
  /** Why this page cannot take part in the encryption ('' when it can). */
  e2eeProblem: '',
  /** @type {E2ee | null} */ e2ee: null,
  /** @type {FrameCrypto | null} */ frames: null,
  /** The m-lines of the video slots, which carry the cameras the gallery shows (last offer). */
  videoMids: /** @type {Set<string>} */ (new Set()),
  /** The m-line of the screen slot, which carries the meeting's shared screen (last offer). */
  screenMid: /** @type {string | null} */ (null),
  /** The tiles last told to the server in a `view`, as a key ('' for none yet). */
  lastView: '',
};
/** How big each remote video is shown, for the server's choice of simulcast layer. */
const display = new DisplayReporter((msg) => state.signaling?.send(msg));
// Tiles on other pages of the gallery are hidden: the display reporter tells the server.
const gallery = new Gallery($('grid'), { pager: $('pager'), label: $('page-label'), prev: $('btn-page-prev'), next: $('btn-page-next') },
  () => { display.changed(); sendView(); });
// The floor: the loudest speakers, on a few slots the server switches.
const speakers = new SpeakerSlots($('speaker-audio'), link.encrypted);
// Who is speaking, from the sound this page decoded (not from what the server says).
const speaking = new SpeakingMonitor(() => state.conn?.sub,
  (mid) => (speakers.has(mid) ? speakers.speakerOn(mid) : state.conn?.mapping.find((t) => t.mid === mid)?.participant),
  (id, on) => {
    const p = state.people.get(id);
    p?.tile.speaking(on && !p.info.microphone_muted);
  });
const interp = new InterpretationView({
  send: (msg) => state.signaling?.send(msg),
  nameOf: (id) => state.people.get(id)?.info.name ?? `#${id}`,
  // The floor: the speaker slots (booth partners, heard on their tiles, stay at full).
  floorAudio: () => speakers.elements(),
  toast: (text) => toast(text),
  micOn: () => state.micOn,
  unmute: () => { if (!state.micOn) toggleMic(); },
});
const record = new RecordView();
const sealer = new RecordingSealer({
  meeting, secret, send: (m) => state.signaling?.send(m), onChange: () => renderRecording(),
});
const chat = new ChatView({
  send: (m) => state.signaling?.send(m),
  e2ee: () => state.e2ee,
  encrypted: () => link.encrypted,
  myId: () => state.me?.participant_id,
  nameOf: (id, given) => (id === state.me?.participant_id ? myName() : shown(id, given).name),
  toast: (text) => toast(text),
});
const peoplePanel = new PeoplePanel({
  send: (m) => state.signaling?.send(m),
  toast: (text) => toast(text),
  show: () => togglePanel('people-panel'),
  confirm: (text) => confirm(text),
});
const prejoin = new Prejoin({ meeting, claims: link.claims, invite, audioCtx });
const inviteDialog = new InviteDialog({
  send: (m) => state.signaling?.send(m),
  meeting,
  // The meeting secret rides along in the fragment; the server never saw it.
  fragment: () => (link.encrypted && secret ? link.fragment : ''),
  encrypted: () => link.encrypted,
  toast: (text) => toast(text),
});
/** Labels tests give the media connections (`labelConnections`), by connection. */
const labels = new WeakMap();
exposeTestHook({
  participantId: () => state.me?.participant_id,
  received: () => [...state.log],
  forgetReceived: () => { state.log.length = 0; },
  hasLocalMedia: () => !!state.local,
  publishing: () => state.conn?.pub ?? null,
  subscribing: () => state.conn?.sub ?? null,
  tracks: () => [...(state.conn?.mapping ?? [])],
  channelMid: () => state.conn?.channelMid ?? null,
  offers: () => state.conn?.offers ?? 0,
  sender: (source) => state.conn?.senders.get(source)?.sender ?? null,
  sending: () => state.conn?.senders.size ?? 0,
  welcomeIceServers: () => state.me?.ice_servers ?? [],
  iceServers: () => state.conn?.iceServers ?? [],
  labelConnections: (label) => { if (state.conn) labels.set(state.conn, label); },
  connectionsLabel: () => (state.conn && labels.get(state.conn)) ?? null,
  playoutTarget: () => state.conn?.playout.target,
  e2ee: () => state.e2ee,
  frames: () => state.frames,
  dropSignaling: (code, reason) => state.signaling?.ws?.close(code, reason),
});

function audioCtx() {
  if (!state.audioCtx) state.audioCtx = new AudioContext();
  return state.audioCtx;
}

/**
 * Moves the page to `view`: one of the three screens shows, or (the ends) the overlay stays
 * over the screen there was. `document.body.dataset.view` says which, for styles and tests.
 * @param {View} view
 */
function showView(view) {
  state.view = view;
  document.body.dataset.view = view;
  if (view === 'left' || view === 'refused') return;
  for (const id of ['prejoin', 'lobby', 'meeting']) $(id).hidden = id !== view;
}

/** @param {string} text @param {boolean} [rejoin] */
function overlay(text, rejoin = false) {
  $('overlay-text').textContent = text;
  $('overlay-rejoin').hidden = !rejoin;
  $('overlay').hidden = !text;
}

/** @param {string} text */
function setConnState(text) {
  $('conn-state').textContent = text;
}

// ---------- Joining ----------

async function join() {
  $('join').disabled = true;
  $('join').textContent = 'Starting camera…';
  await prejoin.ready;
  prejoin.done();
  state.local = prejoin.local;
  state.micOn = !$('join-muted').checked;
  state.camOn = !$('join-camera-off').checked;
  $('join').textContent = 'Connecting…';
  state.leaving = false;
  connect();
}

function connect() {
  state.signaling?.close();
  const signaling = new Signaling(meeting, invite, onMessage, onClose);
  state.signaling = signaling;
  // The link says whether the meeting is encrypted (the server is not asked); encoded
  // transforms must be in place before the first frame.
  if (link.encrypted && !state.frames && frameSupport().ok) state.frames = new FrameCrypto(misrouted, (mid, sender) => speakers.provenSender(mid, sender));
  // Back after a lost connection, with media connections still here: ask to keep them (the
  // session goes on as it was); otherwise start with fresh ones.
  const keepMedia = !!state.conn && !!state.me && !state.conn.closed;
  if (keepMedia && state.conn) state.conn.signaling = signaling;
  else freshConnection(signaling);
  setConnState(keepMedia ? 'Reconnecting…' : 'Connecting…');
  // After a lost connection or a reload, take the same session back by its token (no lobby,
  // no invitation use).
  signaling.connect(link.resumeToken, keepMedia);
}

/** New media connections, replacing any there were. @param {Signaling} signaling */
function freshConnection(signaling) {
  state.conn?.close();
  const conn = new Connection(signaling, onTrack, state.frames, routeFrames, $('join-relay').checked);
  conn.onIceTrouble = () => iceTrouble(conn);
  state.conn = conn;
}

/**
 * The TURN servers in a `welcome` or `ice_servers`, as `RTCIceServer`s (whatever else is
 * there is left out).
 * @param {WelcomeMessage | IceServersMessage} msg
 * @returns {RTCIceServer[]}
 */
function iceServers(msg) {
  if (!Array.isArray(msg.ice_servers)) return [];
  return msg.ice_servers.filter(isIceServer)
    .map((s) => ({ urls: s.urls, username: s.username, credential: s.credential }));
}

/**
 * Whether a TURN server the server sent is one: TURN URLs and string credentials only (a
 * compromised server must not point the page at anything else).
 * @param {unknown} s
 * @returns {s is import('./protocol.js').IceServer}
 */
function isIceServer(s) {
  if (typeof s !== 'object' || s === null) return false;
  const { urls, username, credential } = /** @type {{urls?: unknown, username?: unknown, credential?: unknown}} */ (s);
  return Array.isArray(urls) && urls.every((u) => typeof u === 'string' && /^turns?:/.test(u))
    && typeof username === 'string' && typeof credential === 'string';
}

/** When the page last recovered from a network change (they are spaced out). */
let lastRecovery = 0;

/**
 * Media stopped on connections that had worked: the network most likely changed. The signaling
 * connection went with it (its pings may not have told yet), so the page replaces it, keeping
 * its seat and media connections; the resumed session restarts ICE on both.
 * @param {Connection} conn
 */
function iceTrouble(conn) {
  if (state.conn !== conn || state.leaving || !state.signaling?.in) return;
  if (Date.now() - lastRecovery < 10000) return;
  lastRecovery = Date.now();
  state.signaling.lost();
}

/**
 * The server sent someone's frames on an m-line it said was another's: they were dropped, and
 * the tile it named says why it stays dark.
 * @param {string} mid @param {number} sender
 */
function misrouted(mid, sender) {
  const m = state.conn?.mapping.find((t) => t.mid === mid);
  const p = m && state.people.get(m.participant);
  if (!p || m.source !== 'camera') return;
  const who = state.people.get(sender);
  const from = who ? shown(sender, who.info.name).name : 'someone else';
  p.tile.setNote(`Video withheld: the server sent ${from}'s video in its place`, 'misrouted');
}

/** How long media may take to connect before the page says it cannot. */
const MEDIA_TIMEOUT_MS = 10000;

/**
 * The status follows the media as well as the signaling: "Connected" only once media flows,
 * and after 10 s without, the likely cause in words (a firewall) and what to ask for.
 * @param {Connection} conn
 */
function watchMedia(conn) {
  const timer = setInterval(() => {
    if (state.conn !== conn || state.leaving) { clearInterval(timer); return; }
    // While the signaling is away the status says "Reconnecting…", media or not.
    if (!state.signaling?.in) return;
    conn.checkFlow().catch(() => {});
    const media = conn.mediaState();
    const late = conn.negotiatedAt !== null && Date.now() - conn.negotiatedAt > MEDIA_TIMEOUT_MS;
    const stuck = media === 'failed' || (media === 'connecting' && late);
    if (media === 'connected') setConnState('Connected');
    else if (media === 'connecting') setConnState(stuck ? 'No media connection' : 'Connecting media…');
    const ports = conn.serverCandidates().join(' or ');
    const noRelay = conn.relayOnly && conn.iceServers.length === 0;
    $('media-banner').textContent = !stuck ? ''
      : noRelay ? 'You chose to relay all media through a TURN server, but this server offers none, so nobody sees or hears you, and you see and hear no one. Rejoin without "Relay all media through the TURN server".'
        : conn.relayOnly ? 'Your browser cannot reach the TURN server that was to relay your audio and video, so nobody sees or hears you. Check that your network allows it, or rejoin without "Relay all media through the TURN server".'
          : `Your browser cannot reach the server's audio and video, so nobody sees or hears you, and you see and hear no one. A firewall on your network most likely blocks it: ask your IT department to allow outgoing connections to ${ports || 'the server\'s media port'} (UDP, or at least TCP).`;
    $('media-banner').hidden = !stuck;
  }, FLOW_EVERY_MS);
}

/** Tells the encryption worker who may send on each m-line: nobody else's frames open there. */
function routeFrames() {
  const conn = state.conn;
  if (!state.frames || !conn) return;
  /** @type {Array<[string, number[]]>} */
  const routes = conn.mapping.filter((t) => !speakers.has(t.mid)).map((t) => [t.mid, [t.participant]]);
  if (conn.channelMid) routes.push([conn.channelMid, interp.channelSenders()]);
  // A speaker slot plays whoever of the floor speaks: each frame's key says who that is. In
  // an encrypted meeting the floor is who the key exchange proves is not an interpreter (the
  // server's roster could pass a booth off as the floor); otherwise the roster says.
  const e2ee = state.e2ee;
  const floor = [...state.people.values()]
    .filter((p) => (e2ee ? e2ee.identity(p.info.id)?.role ?? 'interpreter' : p.info.role) !== 'interpreter')
    .map((p) => p.info.id);
  for (const mid of speakers.mids) routes.push([mid, floor]);
  state.frames.route(routes);
}

/** @param {ServerMessage} msg */
async function onMessage(msg) {
  // The last message types, for debugging; bounded, as meetings last hours.
  state.log.push(msg.type);
  if (state.log.length > 200) state.log.splice(0, state.log.length - 200);
  try {
    await handleMessage(msg);
  } catch (e) {
    console.error(`handling ${msg.type} failed:`, e);
    state.log.push(`failed ${msg.type}: ${e}`);
  }
}

/** @param {ServerMessage} msg */
async function handleMessage(msg) {
  const conn = state.conn;
  if (!conn) return;
  switch (msg.type) {
    case 'welcome': return onWelcome(msg);
    case 'publish_answer': return conn.onPublishAnswer(msg.sdp);
    case 'subscribe_offer':
      speakers.offered(msg.speaker_mids ?? [], msg.tracks);
      state.videoMids = new Set(msg.video_mids ?? []);
      state.screenMid = msg.screen_mid ?? null;
      await conn.onSubscribeOffer(msg.sdp, msg.tracks, msg.channel_mid);
      showVideoSlots();
      return showScreenSlot();
    case 'speaker_slots':
      speakers.moved(msg.slots);
      conn.moveSlots(msg.slots, 'microphone');
      return;
    case 'video_slots':
      conn.moveSlots(msg.slots.filter((x) => state.videoMids.has(x.mid)), 'camera');
      conn.moveSlots(msg.slots.filter((x) => x.mid === state.screenMid), 'screen');
      showVideoSlots();
      showScreenSlot();
      return routeFrames();
    case 'active_speakers':
      speakers.setActive(msg.speakers, msg.dominant ?? null);
      return gallery.setDominant(msg.dominant ?? null);
    case 'interpretation':
      interp.update(msg);
      return routeFrames();
    case 'record_head': return record.update(msg.head);
    case 'participant_joined':
      addPerson(msg.participant);
      routeFrames();
      return state.e2ee?.joined(msg.participant.id);
    case 'participant_updated': return updatePerson(msg.participant);
    case 'participant_left':
      removePerson(msg.participant_id);
      routeFrames();
      return state.e2ee?.left(msg.participant_id);
    case 'e2ee': return state.e2ee?.receive(msg.from, msg.data, msg.key ?? null);
    case 'chat': return chat.add(msg);
    case 'lobby': return showLobby(msg);
    case 'lobby_changed': return peoplePanel.renderWaiting(msg.waiting, msg.denied ?? []);
    case 'meeting_locked': return setLocked(msg.locked, msg.by);
    case 'recording': return setRecording(msg.on, msg.by);
    case 'muted_by_host': return mutedByHost(msg.by);
    case 'audio_redundancy': return state.conn?.setRedundancy(!!msg.on);
    case 'your_uplink': return state.selfTile?.setQuality(!!msg.poor, msg.uplink);
    case 'video_paused':
      if (msg.source === 'camera') {
        state.people.get(msg.participant)?.tile.setNote(msg.paused ? 'Video paused: your connection is too slow for it' : '', 'bandwidth');
      }
      return;
    case 'invitation': return inviteDialog.showLink(msg.token);
    case 'ice_servers':
      // Fresh TURN credentials before the last expire: a relayed path needs them when its
      // allocation is refreshed, so the page gathers anew with them (an ICE restart; media
      // keeps flowing on the old path until the new one is chosen).
      state.conn?.setIceServers(iceServers(msg));
      state.conn?.restartIce();
      return;
    case 'error':
      console.warn('server:', msg.code, msg.message);
      if (inviteDialog.isOpen) inviteDialog.showError(msg.message);
      else toast(msg.message);
      return;
    default: return;
  }
}

/** This page's person, as its own link names them. */
function myName() {
  return typeof link.claims?.name === 'string' ? link.claims.name : String(state.me?.name ?? '');
}

/**
 * Who a participant is, as this page knows them: in an encrypted meeting, what their own link
 * says, proven in the key exchange; until then, the server's word, marked as such.
 * @param {number} id @param {string} name @param {string} [role]
 */
function shown(id, name, role = '') {
  if (!link.encrypted) return { name, role, verified: true };
  const proven = state.e2ee?.identity(id);
  if (proven) return { ...proven, verified: true };
  return { name: `${name} (unverified)`, role, verified: false };
}

/** How long a page keeps trying to get back in after losing its connection. */
const RECONNECT_FOR_MS = 120000;

/**
 * The pause before reconnection attempt `n` (1, 2, …): half a second, doubling up to 3 s,
 * each spread by up to half either way, so that pages that lost a server together do not all
 * come back in the same instant, and a server back from a restart finds them within seconds.
 * @param {number} n
 */
function reconnectDelay(n) {
  const base = Math.min(3000, 500 * 2 ** Math.min(n - 1, 3));
  return Math.round(base * (0.5 + Math.random()));
}

/** @param {WelcomeMessage} msg */
async function onWelcome(msg) {
  if (msg.resumed && state.conn && !state.conn.closed && state.me) return onResumed(msg);
  // A fresh session: media connections that served an earlier one go.
  if (state.conn?.used) freshConnection(/** @type {Signaling} */ (state.signaling));
  if (state.conn) state.conn.used = true;
  if (typeof msg.resume_token === 'string') link.resumeToken = msg.resume_token;
  state.conn?.setIceServers(iceServers(msg));
  state.me = { ...msg, name: myName(), role: link.claims?.role ?? msg.role };
  state.reconnects = 0;
  state.lostAt = null;
  for (const el of document.querySelectorAll('.host-only')) /** @type {HTMLElement} */ (el).hidden = !msg.can_moderate;
  sealer.configure(msg.recording_key, msg.recording_key_mac);
  meetingState(msg, state.recording === !!msg.recording);
  showView('meeting');
  overlay('');
  setConnState('Connected');
  watchMedia(/** @type {Connection} */ (state.conn));
  if (!state.joinedAt) state.joinedAt = Date.now();
  for (const p of [...state.people.keys()]) removePerson(p);
  // A new session (or a resumed one after a lost connection) has no sizes, view or slots yet.
  display.resend();
  state.lastView = '';
  state.videoMids = new Set();
  state.screenMid = null;
  state.selfTile?.remove();
  chat.reset(!!msg.can_chat);
  state.selfTile = new Tile($('grid'), 'self', myName(), true);
  for (const p of msg.participants) addPerson(p);
  interp.welcome(msg);
  await startE2ee(msg);
  for (const c of msg.chat) chat.add(c, true);
  // Without the meeting key this page could only send what no one can decrypt.
  const canSend = msg.can_publish && !state.e2eeProblem;
  $('btn-cam').hidden = !msg.can_publish_video || !canSend;
  $('btn-screen').hidden = !msg.can_publish_video || !canSend;
  $('btn-mic').hidden = !canSend;
  if (!canSend) return;
  const conn = /** @type {Connection} */ (state.conn);
  const audio = state.local?.getAudioTracks()[0];
  const video = msg.can_publish_video ? state.local?.getVideoTracks()[0] : undefined;
  if (audio) { audio.enabled = state.micOn; await conn.setSource('microphone', audio); }
  if (video) {
    state.selfTile.setVideo(video);
    await conn.setSource('camera', video);
    if (!state.camOn) await setCamera(false);
  } else {
    state.camOn = false;
  }
  if (!audio) state.micOn = false;
  reflectControls();
  state.signaling?.send({ type: 'mute', source: 'microphone', muted: !state.micOn });
  state.signaling?.send({ type: 'mute', source: 'camera', muted: !state.camOn });
  if (audio) watchLevel(audioCtx(), audio, (l) => state.selfTile?.speaking(state.micOn && l > 0.08));
}

/**
 * The session went on while the page was away, and the server kept its side of the media
 * connections: the page keeps everything it had, takes in the meeting as it is now, and the
 * messages it missed follow. Media that the network change broke restarts ICE.
 * @param {WelcomeMessage} msg
 */
async function onResumed(msg) {
  const conn = /** @type {Connection} */ (state.conn);
  if (typeof msg.resume_token === 'string') link.resumeToken = msg.resume_token;
  conn.setIceServers(iceServers(msg));
  state.me = { ...msg, name: myName(), role: link.claims?.role ?? msg.role };
  state.reconnects = 0;
  state.lostAt = null;
  overlay('');
  meetingState(msg, true);
  // Who is here now (those who left meanwhile go; their departure also comes in what follows).
  const here = new Set(msg.participants.map((p) => p.id));
  for (const id of [...state.people.keys()]) if (!here.has(id)) removePerson(id);
  for (const p of msg.participants) addPerson(p);
  // The server kept the view; told again, it changes nothing unless tiles came or went.
  state.lastView = '';
  gallery.schedule();
  // The interpretation state comes again: the listener's channel and a booth microphone
  // that went free are taken back as they were.
  interp.welcome(msg);
  conn.resendPublish();
  // Whatever took the signaling may have taken the media path too: new ICE credentials and
  // checks on both connections (the m-lines, SSRCs and keys stay).
  conn.restartIce();
  setConnState('Connected');
  await startE2ee(msg);
}

/**
 * @param {number} code
 * @param {string} reason
 * @param {boolean} wasIn in the meeting or its lobby
 */
function onClose(code, reason, wasIn) {
  if (state.leaving) return;
  const lost = code === CLOSE.ABNORMAL || code === CLOSE.GOING_AWAY || code === CLOSE.HEARTBEAT_TIMEOUT;
  // Media connections stay while the page tries to get back: the server keeps its side.
  if (!lost) state.conn?.close();
  // Gone for good: the token takes nothing back any more.
  if (!lost) link.resumeToken = null;
  // Lost while in (or while trying to get back in): keep trying, with growing pauses, for two
  // minutes; a server that restarts is back well within that.
  if (lost && (wasIn || state.lostAt !== null)) {
    state.lostAt ??= Date.now();
    if (Date.now() - state.lostAt < RECONNECT_FOR_MS) {
      state.reconnects += 1;
      setConnState('Reconnecting…');
      // With its media connections still up the page stays usable for the first seconds (the
      // status says "Reconnecting…"); after that, or without media, it says so over everything.
      const quiet = !!state.me && !!state.conn && !state.conn.closed && Date.now() - state.lostAt < 10000;
      if (!quiet) overlay(state.reconnects > 1 ? `Reconnecting… (attempt ${state.reconnects})` : 'Reconnecting…');
      setTimeout(connect, reconnectDelay(state.reconnects));
      return;
    }
    state.lostAt = null;
    state.conn?.close();
    setConnState('Disconnected');
    showView('refused');
    overlay('The connection to the meeting was lost and could not be made again in two minutes. Check your network, then rejoin.', true);
    return;
  }
  state.lostAt = null;
  const text = closeText(code, reason);
  if (!wasIn && state.view === 'prejoin') {
    prejoin.showError(text);
    $('join').textContent = 'Join';
    $('join').disabled = code === CLOSE.INVITATION_REFUSED;
    return;
  }
  setConnState(code === CLOSE.NORMAL ? 'Left' : 'Disconnected');
  showView(code === CLOSE.NORMAL ? 'left' : 'refused');
  overlay(text, code !== CLOSE.INVITATION_REFUSED);
}

function leave() {
  state.leaving = true;
  link.resumeToken = null;
  state.signaling?.send({ type: 'leave' });
  state.signaling?.close();
  state.conn?.close();
  state.local?.getTracks().forEach((t) => t.stop());
  state.screen?.stop();
  setConnState('Left');
  showView('left');
  overlay('You left the meeting.', true);
}

// ---------- People and media ----------

// ---------- End-to-end encryption ----------

/** @param {WelcomeMessage} welcome */
async function startE2ee(welcome) {
  // The link decides, never the server: a server that says "not encrypted" gets no plaintext.
  state.e2eeOn = link.encrypted;
  state.e2eeProblem = '';
  if (state.e2eeOn) {
    const support = frameSupport();
    if (!welcome.e2ee) state.e2eeProblem = 'Your link says this meeting is end-to-end encrypted, but the server says it is not. Summit sends nothing unencrypted: you cannot see, hear or write to the others. Tell the organizer.';
    else if (!support.ok) state.e2eeProblem = `${support.why} You can neither be seen nor heard here.`;
    else if (!secret) state.e2eeProblem = 'This meeting is end-to-end encrypted, and your link has no meeting key, so you cannot see, hear or read the others, and they cannot see or hear you. Ask the organizer for the complete link: it ends with # and a code.';
    else if (!state.frames) state.e2eeProblem = 'The page did not expect an encrypted meeting. Reload it.';
  }
  if (state.e2eeOn && !state.e2eeProblem && state.frames) {
    if (!state.e2ee) {
      state.e2ee = new E2ee({
        meeting,
        secret: /** @type {Uint8Array<ArrayBuffer>} */ (secret),
        name: myName(),
        role: String(link.claims?.role ?? welcome.role),
        send: (m) => state.signaling?.send({ type: 'e2ee', ...m }),
        // Own keys also go to the recording sealer (it seals them only while recording).
        sink: {
          sendKey: (s, i, b) => { state.frames?.sendKey(s, i, b); sealer.ownKey(s, i, b); },
          key: (s, i, b) => state.frames?.key(s, i, b),
          forget: (s) => state.frames?.forget(s),
        },
        onChange: () => { renderE2ee(); routeFrames(); },
        onRejected: (id) => toast(`${state.people.get(id)?.info.name || 'Someone'} could not prove they hold this meeting's key, so they get no keys.`, 6000),
      });
    }
    await state.e2ee.start(welcome.participant_id, welcome.participants.map((p) => p.id));
  }
  $('chat-input').disabled = state.e2eeOn && !state.e2ee;
  $('chat-input').placeholder = $('chat-input').disabled ? 'Chat needs the meeting key' : 'Message everyone';
  await renderE2ee();
}

/** Shows the encryption state: badge, a plain message when keys are missing, safety code. */
async function renderE2ee() {
  $('e2ee-badge').hidden = !state.e2eeOn;
  $('e2ee-badge').textContent = state.e2eeProblem ? '⚠ Encrypted: no key' : '🔒 End-to-end encrypted';
  $('e2ee-banner').textContent = state.e2eeProblem;
  $('e2ee-banner').hidden = !state.e2eeProblem;
  const e = state.e2ee;
  const missing = new Set(e ? e.missing() : []);
  for (const [id, p] of state.people) {
    p.tile.setNote(!state.e2eeOn ? '' : state.e2eeProblem ? '🔒 Encrypted' : missing.has(id) ? 'Waiting for their encryption key…' : '');
    p.tile.setName(shown(id, p.info.name).name);
  }
  renderPeople();
  $('safety').hidden = !e;
  if (!e) return;
  const code = await e.safetyCode();
  $('safety-code').textContent = code || '…';
  const names = [...missing].map((id) => shown(id, state.people.get(id)?.info.name || `#${id}`).name);
  $('safety-missing').textContent = names.length
    ? `No keys yet from ${names.join(', ')}. If this lasts, their link may lack the meeting key.` : '';
}

/** @param {ParticipantInfo} info */
function addPerson(info) {
  if (state.people.has(info.id)) return updatePerson(info);
  const tile = new Tile($('grid'), info.id, shown(info.id, info.name).name, false);
  tile.update(info);
  state.people.set(info.id, { info, tile });
  // Its size is known before a video slot brings the picture (which then fits at once).
  display.watch(info.id, 'camera', tile.el, false);
  renderPeople();
}

/** @param {ParticipantInfo} info */
function updatePerson(info) {
  const p = state.people.get(info.id);
  if (!p) return addPerson(info);
  p.info = info;
  p.tile.update(info);
  if (info.microphone_muted) p.tile.speaking(false);
  if (!info.screen_sharing) removeScreen(info.id);
  renderPeople();
}

/** @param {number} id */
function removePerson(id) {
  const p = state.people.get(id);
  if (!p) return;
  speaking.forget(id);
  p.tile.remove();
  removeScreen(id);
  display.forget(id);
  state.people.delete(id);
  renderPeople();
}

function renderPeople() {
  const people = [...state.people.values()].map((p) => ({ info: p.info, shown: shown(p.info.id, p.info.name, p.info.role) }));
  peoplePanel.render(state.me, people);
  interp.render();
}

/** @param {LobbyMessage} msg */
function showLobby(msg) {
  // A lost connection takes this place in the lobby back.
  if (typeof msg.resume_token === 'string') link.resumeToken = msg.resume_token;
  state.reconnects = 0;
  state.lostAt = null;
  overlay('');
  showView('lobby');
  setConnState('In the lobby');
  $('lobby-text').textContent = msg.host_present
    ? `Hello ${msg.name}. The host has been told you are here and will let you in shortly.`
    : `Hello ${msg.name}. No host has joined yet; you will be let in when one arrives.`;
}

/** @param {boolean} locked @param {string | null} by */
function setLocked(locked, by) {
  $('locked-badge').hidden = !locked;
  $('btn-lock').textContent = locked ? 'Unlock meeting' : 'Lock meeting';
  state.locked = locked;
  if (by) toast(locked ? `${by} locked the meeting` : `${by} unlocked the meeting`);
}

/**
 * What a welcome says of the meeting as a whole: the lock, the recording (and one a restart
 * cut), whether to send RED.
 * @param {WelcomeMessage} msg @param {boolean} quiet no news of the recording (see setRecording)
 */
function meetingState(msg, quiet) {
  setLocked(msg.locked, null);
  setRecording(!!msg.recording, msg.recording_by ?? null, quiet);
  $('recording-cut').hidden = !msg.recording_interrupted;
  state.conn?.setRedundancy(!!msg.audio_redundancy);
}

/**
 * Recording started or stopped. Everyone is told who started it, every time; this page's
 * keys go to the recording only after "Recording" has been shown for a while.
 * @param {boolean} on @param {string | null} by @param {boolean} [quiet] no news (a reconnection)
 */
function setRecording(on, by, quiet = false) {
  const was = state.recording;
  state.recording = on;
  state.recordingBy = on ? (by || '') : '';
  sealer.setRecording(on);
  if (on) $('recording-cut').hidden = true;
  $('btn-record').textContent = on ? 'Stop recording' : 'Start recording';
  renderRecording();
  if (quiet && was === on) return;
  const who = by || 'Someone (the server did not say who)';
  if (on) toast(`${who} started recording. Everything said and shown is recorded from now on.`, 6000);
  else if (was) toast(by ? `${by} stopped recording` : 'Recording stopped');
}

/** The badge, and what this page will not give the recording. */
function renderRecording() {
  const on = state.recording;
  $('recording-badge').hidden = !on;
  $('recording-badge').textContent = on
    ? `● Recording${state.recordingBy ? ` · started by ${state.recordingBy}` : ''}` : '';
  $('recording-banner').textContent = sealer.problem;
  $('recording-banner').hidden = !sealer.problem;
}

/** @param {string} by */
function mutedByHost(by) {
  const a = state.local?.getAudioTracks()[0];
  if (a) a.enabled = false;
  state.micOn = false;
  reflectControls();
  toast(`You were muted by the host (${by}). You can unmute yourself.`, 6000);
}

/** @type {number | undefined} */
let toastTimer;
/** @param {string} text @param {number} [ms] */
function toast(text, ms = 4000) {
  $('toast').textContent = text;
  $('toast').hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => { $('toast').hidden = true; }, ms);
}

/**
 * A subscribed m-line got (or kept) a track: attach it to whoever it carries now.
 * @param {string} mid
 * @param {MediaStreamTrack} track
 */
function onTrack(mid, track) {
  if (mid === state.conn?.channelMid) return interp.setChannelTrack(track);
  if (speakers.has(mid)) {
    speakers.play(mid, track);
    interp.mix();
    speaking.follow(track, mid);
    return;
  }
  if (state.videoMids.has(mid)) return showVideoSlots();
  if (mid === state.screenMid) return showScreenSlot();
  const m = state.conn?.mapping.find((t) => t.mid === mid);
  if (!m) return;
  const p = state.people.get(m.participant);
  if (!p) return;
  if (m.source === 'microphone') {
    // A booth partner's microphone, on their tile.
    p.tile.setAudio(track);
    speaking.follow(track, mid);
  } else if (m.source === 'camera') {
    p.tile.setVideo(track);
    // The tile, not its video element: a tile showing initials for a while (camera off, a key
    // or bandwidth missing) is still shown, and wants the video back when it can have it.
    display.watch(m.participant, 'camera', p.tile.el);
  } else if (m.source === 'screen') {
    display.watch(m.participant, 'screen', showScreen(m.participant, track));
  }
}

/**
 * Puts each video slot's picture on the tile of whom it carries now, and takes the slots'
 * pictures off every other tile (a slot that moved on leaves its last tile to its initials).
 */
function showVideoSlots() {
  const conn = state.conn;
  if (!conn) return;
  /** @type {Map<number, MediaStreamTrack>} */
  const on = new Map();
  /** @type {Set<MediaStreamTrack>} */
  const slotTracks = new Set();
  for (const t of conn.sub.getTransceivers()) {
    if (!t.mid || !state.videoMids.has(t.mid)) continue;
    slotTracks.add(t.receiver.track);
    const m = conn.mapping.find((x) => x.mid === t.mid);
    if (m) on.set(m.participant, t.receiver.track);
  }
  for (const [id, p] of state.people) {
    const track = on.get(id);
    if (track) p.tile.setVideo(track);
    else if (slotTracks.has(/** @type {MediaStreamTrack} */ (p.tile.videoTrack()))) p.tile.clearVideo();
  }
}

/**
 * Shows the shared screen the screen slot carries now, and takes down the one it carried before.
 */
function showScreenSlot() {
  const conn = state.conn;
  const mid = state.screenMid;
  if (!conn || !mid) return;
  const t = conn.sub.getTransceivers().find((x) => x.mid === mid);
  if (!t) return;
  const track = t.receiver.track;
  const m = conn.mapping.find((x) => x.mid === mid);
  /** @param {Element | null} v */
  const plays = (v) => v instanceof HTMLVideoElement && v.srcObject instanceof MediaStream && v.srcObject.getTracks()[0] === track;
  for (const v of $('screens').querySelectorAll('video')) {
    if (plays(v) && (!m || v.dataset.participant !== String(m.participant))) removeScreen(Number(v.dataset.participant));
  }
  if (!m || plays($('screens').querySelector(`video[data-participant="${m.participant}"]`))) return;
  display.watch(m.participant, 'screen', showScreen(m.participant, track));
}

/**
 * Tells the server whose cameras the page shows now (the gallery page's tiles, or the speaker
 * view's), when that changed: its video slots follow, with no new offer unless there are more
 * tiles than slots.
 */
function sendView() {
  if (state.view !== 'meeting' || !state.signaling?.in) return;
  const tiles = [...$('grid').querySelectorAll('.tile:not([hidden]):not(.self)')]
    .map((/** @type {HTMLElement} */ el) => Number(el.dataset.participant))
    .filter((id) => Number.isSafeInteger(id))
    .slice(0, MAX_TILES);
  // As many slots as a page of this layout has tiles, so that paging needs no new offer.
  const slots = Math.min(MAX_TILES, Math.max(gallery.perPage, tiles.length));
  const key = `${slots}:${tiles.join(',')}`;
  if (key === state.lastView) return;
  state.lastView = key;
  state.signaling.send({ type: 'view', tiles, slots });
}

/**
 * @param {number} id @param {MediaStreamTrack} track
 * @returns {HTMLVideoElement} where it is shown
 */
function showScreen(id, track) {
  removeScreen(id);
  const v = document.createElement('video');
  v.autoplay = true; v.playsInline = true; v.muted = true;
  v.dataset.participant = String(id);
  v.setAttribute('aria-label', `Screen shared by ${state.people.get(id)?.info.name || 'someone'}`);
  v.srcObject = new MediaStream([track]);
  $('screens').append(v);
  $('screens').hidden = false;
  return v;
}

/** @param {number} id */
function removeScreen(id) {
  $('screens').querySelectorAll(`video[data-participant="${id}"]`).forEach((/** @type {Element} */ v) => v.remove());
  $('screens').hidden = !$('screens').children.length;
}

// ---------- Controls ----------

function reflectControls() {
  $('btn-mic').setAttribute('aria-pressed', String(state.micOn));
  $('btn-mic').querySelector('.label').textContent = state.micOn ? 'Mute' : 'Unmute';
  $('btn-mic').title = state.micOn ? 'Mute microphone (M)' : 'Unmute microphone (M)';
  $('btn-cam').setAttribute('aria-pressed', String(state.camOn));
  $('btn-cam').querySelector('.label').textContent = state.camOn ? 'Stop video' : 'Start video';
  $('btn-cam').title = state.camOn ? 'Turn camera off (V)' : 'Turn camera on (V)';
  $('btn-screen').setAttribute('aria-pressed', String(!!state.screen));
  state.selfTile?.update({ microphone_muted: !state.micOn, camera_off: !state.camOn });
  interp.render();
}

function toggleMic() {
  const a = state.local?.getAudioTracks()[0];
  if (!a) return;
  state.micOn = !state.micOn;
  a.enabled = state.micOn;
  state.signaling?.send({ type: 'mute', source: 'microphone', muted: !state.micOn });
  reflectControls();
}

/** @param {boolean} on */
async function setCamera(on) {
  const conn = state.conn;
  if (!conn || !state.local) return;
  if (on) {
    // The camera was released when turned off (its light goes out); open it again.
    // Reopen the camera chosen before joining, not the default one.
    const deviceId = $('camera-select').value;
    const s = await navigator.mediaDevices.getUserMedia({
      video: deviceId ? { deviceId: { exact: deviceId }, width: 1280, height: 720 } : { width: 1280, height: 720 },
    });
    const v = s.getVideoTracks()[0];
    state.local.getVideoTracks().forEach((t) => { t.stop(); state.local?.removeTrack(t); });
    state.local.addTrack(v);
    state.selfTile?.setVideo(v);
    await conn.setSource('camera', v);
  } else {
    state.local.getVideoTracks().forEach((t) => t.stop());
    await conn.setSource('camera', null);
  }
  state.camOn = on;
  state.signaling?.send({ type: 'mute', source: 'camera', muted: !on });
  reflectControls();
}

async function toggleScreen() {
  const conn = state.conn;
  if (!conn) return;
  if (state.screen) {
    state.screen.stop();
    state.screen = null;
    await conn.setSource('screen', null);
  } else {
    try {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true });
      const t = s.getVideoTracks()[0];
      state.screen = t;
      t.onended = () => { if (state.screen === t) toggleScreen(); };
      await conn.setSource('screen', t);
    } catch { /* the person cancelled the picker */ }
  }
  reflectControls();
}

/** @param {string} panel */
function togglePanel(panel) {
  const el = $(panel);
  el.hidden = !el.hidden;
  $(panel === 'chat-panel' ? 'btn-chat' : 'btn-people').setAttribute('aria-pressed', String(!el.hidden));
  if (panel === 'chat-panel' && !el.hidden) chat.opened();
}

function tickElapsed() {
  if (!state.joinedAt) return;
  const s = Math.floor((Date.now() - state.joinedAt) / 1000);
  const hh = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  $('elapsed').textContent = hh ? `${hh}:${mm}:${ss}` : `${mm}:${ss}`;
}

// ---------- Wiring ----------

$('join').addEventListener('click', join);
$('btn-mic').addEventListener('click', toggleMic);
$('btn-cam').addEventListener('click', () => setCamera(!state.camOn));
$('btn-screen').addEventListener('click', toggleScreen);
$('btn-chat').addEventListener('click', () => togglePanel('chat-panel'));
$('btn-view').addEventListener('click', () => {
  const speaker = gallery.mode !== 'speaker';
  gallery.setMode(speaker ? 'speaker' : 'gallery');
  $('btn-view').setAttribute('aria-pressed', String(speaker));
});
$('btn-people').addEventListener('click', () => togglePanel('people-panel'));
$('btn-leave').addEventListener('click', leave);
$('lobby-leave').addEventListener('click', leave);
$('btn-record').addEventListener('click', () => state.signaling?.send({ type: state.recording ? 'stop_recording' : 'start_recording' }));
$('btn-record-again').addEventListener('click', () => state.signaling?.send({ type: 'start_recording' }));
$('btn-lock').addEventListener('click', () => state.signaling?.send({ type: 'lock', locked: !state.locked }));
$('btn-end').addEventListener('click', () => {
  if (confirm('End the meeting for everyone?')) state.signaling?.send({ type: 'end_meeting' });
});
$('btn-invite').addEventListener('click', () => inviteDialog.open());
$('overlay-rejoin').addEventListener('click', () => location.reload());
document.addEventListener('keydown', (e) => {
  if (state.view !== 'meeting' || (e.target instanceof HTMLInputElement)) return;
  if (e.key === 'm' || e.key === 'M') toggleMic();
  if (e.key === 'v' || e.key === 'V') setCamera(!state.camOn);
});
setInterval(tickElapsed, 1000);
showView('prejoin');
prejoin.start();
