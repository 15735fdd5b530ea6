// Shared helpers for browser tests: start a Summit server on free ports with a fresh data
// directory, make invitations with the real CLI, open participants in Chromium or Firefox.
import { spawn, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer as createNetServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPrivateKey, sign, randomUUID } from 'node:crypto';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, 'target');
export const SUMMIT = process.env.SUMMIT_BIN || join(target, 'release/summit');
/**
 * A test build that attacks its own meetings as a compromised server would (`cargo build -p
 * summit --features danger-test-attacks`, debug only; scripts/test builds it).
 */
export const DANGER_SUMMIT = process.env.SUMMIT_DANGER_BIN || join(target, 'debug/summit');

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  // getDisplayMedia picks the (fake) screen without a picker.
  '--auto-select-desktop-capture-source=Entire screen',
];

/** A port no one listens on now, for a server that must come back on the same one. */
async function freePort(kind) {
  if (kind === 'udp') {
    const sock = createSocket('udp4');
    await new Promise((r) => sock.bind(0, '127.0.0.1', () => r(undefined)));
    const { port } = sock.address();
    await new Promise((r) => sock.close(() => r(undefined)));
    return port;
  }
  const srv = createNetServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', () => r(undefined)));
  const port = /** @type {any} */ (srv.address()).port;
  await new Promise((r) => srv.close(() => r(undefined)));
  return port;
}

/** How many of the server's log lines `recent()` keeps. */
const RECENT_LINES = 400;

/**
 * Starts `summit serve` on free ports; resolves once it prints its address.
 * @param {{bin?: string, args?: string[], listen?: string, prefix?: string[], fixedPorts?: boolean,
 *   log?: string}} [opts] another build of summit, more arguments, the address to listen on
 *   (127.0.0.1 by default), a command to run it under (`ip netns exec <namespace>`), whether its
 *   ports are chosen once, so that `crash()` and `restart()` bring it back where pages look for
 *   it, and its log filter (RUST_LOG; `SUMMIT_LOG` overrides it)
 */
export async function startServer(opts = {}) {
  const bin = opts.bin ?? SUMMIT;
  const data = mkdtempSync(join(tmpdir(), 'summit-test-'));
  const prefix = opts.prefix ?? [];
  const [http, udp] = opts.fixedPorts ? [await freePort('tcp'), await freePort('udp')] : [0, 0];
  const argv = [bin, '--data', data, 'serve', '--listen', `${opts.listen ?? '127.0.0.1'}:${http}`, '--udp', String(udp),
    '--metrics-listen', '127.0.0.1:0', ...(opts.args ?? [])];
  // With fixed ports, TCP media takes any free port: the UDP number need not be free for TCP.
  if (opts.fixedPorts) argv.push('--tcp', '0');
  /** The server's last log lines, for a failure's report. */
  const recent = [];
  /** Starts the process; resolves with it and its addresses once it prints them. */
  const launch = async () => {
    const proc = spawn(prefix[0] ?? argv[0], [...prefix.slice(1), ...(prefix.length ? argv : argv.slice(1))], {
      stdio: ['ignore', 'pipe', process.env.SUMMIT_STDERR ? 'inherit' : 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.SUMMIT_LOG || opts.log || 'summit=info,warn' },
    });
    proc.stderr?.on('data', (d) => {
      for (const line of String(d).replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
        if (!line) continue;
        recent.push(line);
        if (recent.length > RECENT_LINES) recent.shift();
      }
    });
    let out = '';
    const [url, metrics] = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 15000);
      proc.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/Web and signaling: (http:\/\/\S+)/);
        const mm = out.match(/Metrics: +(http:\/\/\S+)/);
        if (m && mm) { clearTimeout(timer); resolve([m[1], mm[1]]); }
      });
      proc.stderr?.on('data', (d) => { out += d; });
      proc.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${bin}: ${e.message}`)); });
      proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${out}`)); });
    });
    return { proc, url, metrics };
  };
  let { proc, url, metrics } = await launch();
  const exited = () => new Promise((r) => { if (proc.exitCode !== null || proc.signalCode !== null) r(undefined); else proc.on('exit', r); });
  return {
    get url() { return url; },
    /** The Prometheus endpoint (`/metrics`). */
    get metrics() { return metrics; },
    /** Its last log lines (none while `SUMMIT_STDERR` sends them to the terminal). */
    recent(n = 40) { return recent.slice(-n); },
    data,
    /** Kills the server as a crash would (SIGKILL): nothing is closed, flushed or said. */
    async crash() {
      proc.kill('SIGKILL');
      await exited();
    },
    /** Starts the server again on the same data directory (and, with fixed ports, ports). */
    async restart() {
      ({ proc, url, metrics } = await launch());
    },
    invite(meeting, name, ...extra) {
      return JSON.parse(this.summit('invite', '--meeting', meeting, '--name', name, '--server', url, '--json', ...extra));
    },
    /**
     * Runs a `summit` subcommand on this server's data (the organizer's secrets file lands there
     * too). Its stderr goes into the error thrown when it fails, not into the test output.
     */
    summit(...args) {
      return execFileSync(SUMMIT, ['--data', data, ...args], { cwd: data, stdio: ['ignore', 'pipe', 'pipe'] })
        .toString();
    },
    /** A token signed with the server's real key but with chosen claims (e.g. expired). */
    forge(claims) {
      // The key file is PKCS#8 v2 (seed and public key); rebuild the v1 form OpenSSL reads.
      const der = Buffer.from(readFileSync(join(data, 'invite-signing.key'), 'utf8')
        .replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
      const at = der.indexOf(Buffer.from('04220420', 'hex')) + 4;
      const v1 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), der.subarray(at, at + 32)]);
      const key = createPrivateKey({ key: v1, format: 'der', type: 'pkcs8' });
      const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const body = `${enc({ alg: 'EdDSA', typ: 'JWT' })}.${enc({ iss: 'summit', iat: now, nbf: now,
        exp: now + 3600, jti: randomUUID(), role: 'delegate', name: 'Test', ...claims })}`;
      return `${body}.${sign(null, Buffer.from(body), key).toString('base64url')}`;
    },
    async stop() {
      proc.kill('SIGINT');
      await exited();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/**
 * Opens `url` in a new page, clicks "Join" and waits until the meeting view shows.
 * `init`, if given, runs in the page before its own scripts (to take a browser feature away);
 * `viewport`, if given, is the window's size from the start.
 */
export async function joinPage(browser, url, init = undefined, viewport = undefined) {
  const ctx = await browser.newContext({ permissions: ['camera', 'microphone'], ...(viewport ? { viewport } : {}) });
  if (init) await ctx.addInitScript(init);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  // What went wrong on the way in, for the report if the page never joins.
  const troubles = [];
  page.on('requestfailed', (r) => troubles.push(`${r.url()}: ${r.failure()?.errorText}`));
  page.on('console', (m) => { if (m.type() === 'error' && troubles.length < 20) troubles.push(m.text()); });
  await page.goto(url);
  // The page's script is running (it made its test hook) before anyone clicks.
  await page.waitForFunction(() => !!(/** @type {any} */ (window).summitTest), null, { timeout: 10000 })
    .catch((e) => { throw new Error(`the page's script did not start: ${e}; ${JSON.stringify(troubles)}`); });
  await page.getByRole('button', { name: 'Join' }).click();
  await inMeeting(page, 15000);
  return page;
}

/**
 * Where the page is: `prejoin`, `lobby`, `meeting`, `left` or `refused`, as the page itself
 * keeps it (`showView` in web/app.js sets `document.body.dataset.view`). Tests read the page's
 * screen through this hook, not through which elements happen to be hidden.
 * @param {import('playwright-core').Page} page
 */
export async function view(page) {
  return page.evaluate(() => document.body.dataset.view);
}

/**
 * Waits until the page shows the meeting (its Leave button; the lobby has one of its own), and
 * if it does not, fails with what the page shows instead.
 */
export async function inMeeting(page, timeout) {
  try {
    await page.locator('#meeting').getByRole('button', { name: 'Leave' }).waitFor({ state: 'visible', timeout });
  } catch (e) {
    const shows = await page.evaluate(() => {
      const text = (/** @type {string} */ id) => {
        const el = document.getElementById(id);
        return el && !el.hidden ? el.textContent?.trim().slice(0, 200) : null;
      };
      const s = /** @type {any} */ (window).summitTest;
      return { join: text('join'), invitee: text('invitee'), prejoinError: text('prejoin-error'), lobby: text('lobby'),
        overlay: text('overlay'), connState: text('conn-state'), script: !!s, devices: !!s?.hasLocalMedia(),
        messages: s?.received().slice(-20) };
    }).catch((err) => ({ error: String(err) }));
    throw new Error(`${String(e).split('\n')[0]}; the page shows ${JSON.stringify(shows)}`);
  }
}

/**
 * Inbound media per (participant, source) as the page's subscribing connection reports it.
 * Works for Playwright and Puppeteer pages alike.
 */
export async function inbound(page) {
  return page.evaluate(async () => {
    const s = /** @type {any} */ (window).summitTest;
    const sub = s?.subscribing();
    if (!sub) return {};
    // Per receiver, since Firefox's inbound-rtp stats carry no mid.
    const byMid = {};
    for (const t of sub.getTransceivers()) {
      if (!t.mid) continue;
      (await t.receiver.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') byMid[t.mid] = r; });
    }
    const out = {};
    for (const t of s.tracks()) {
      const r = byMid[t.mid];
      if (!r) continue;
      out[`${t.participant}:${t.source}`] = {
        framesDecoded: r.framesDecoded || 0,
        packetsReceived: r.packetsReceived || 0,
        frameWidth: r.frameWidth || 0,
        framesReceived: r.framesReceived || 0,
        audioEnergy: r.totalAudioEnergy || 0,
        concealedSamples: r.concealedSamples || 0,
        totalSamplesReceived: r.totalSamplesReceived || 0,
        framesDropped: r.framesDropped || 0,
        keyFramesDecoded: r.keyFramesDecoded || 0,
        nackCount: r.nackCount || 0,
        packetsLost: r.packetsLost || 0,
        freezeCount: r.freezeCount || 0,
        totalFreezesDuration: r.totalFreezesDuration || 0,
        pliCount: r.pliCount || 0,
        retransmittedPacketsReceived: r.retransmittedPacketsReceived || 0,
        jitterBufferDelay: r.jitterBufferDelay || 0,
        jitterBufferTargetDelay: r.jitterBufferTargetDelay || 0,
        jitterBufferEmittedCount: r.jitterBufferEmittedCount || 0,
      };
    }
    return out;
  });
}

/** Waits for `check()` to be true, polling; fails saying `what` after `ms`. */
export async function until(check, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** Bytes from hex. */
export const unhex = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));

/**
 * Waits until `check(stats)` is true, polling; fails with the last stats after `ms` (and, given
 * the `server`, its last log lines).
 */
export async function waitStats(page, check, ms, what, server = undefined) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await inbound(page);
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  // What the page's encryption worker and signaling saw, to tell a stall's cause afterwards.
  const more = await page.evaluate(async () => {
    const s = /** @type {any} */ (window).summitTest;
    const frames = s?.frames();
    const report = frames ? await frames.report() : null;
    return { worker: report && { stats: report.stats, lines: report.lines }, messages: s?.received().slice(-30) };
  }).catch((e) => ({ error: String(e) }));
  const log = server ? `\nserver log:\n${server.recent().join('\n')}` : '';
  throw new Error(`${what}: not reached in ${ms} ms; last stats ${JSON.stringify(last)}; ${JSON.stringify(more)}${log}`);
}

/**
 * The page's media encryption worker: frame counts, and while capturing, frames and keys.
 * Works for Playwright and Puppeteer pages alike.
 */
export async function e2eeReport(page) {
  return page.evaluate(async () => {
    const frames = /** @type {any} */ (window).summitTest.frames();
    return frames ? frames.report() : null;
  });
}

/** The participant id a page got in its welcome. */
export async function myId(page) {
  return page.evaluate(() => /** @type {any} */ (window).summitTest.participantId());
}

/** Launches Debian's Chromium with fake devices. */
export function launchChromium() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

/**
 * A server and a Chromium shared by the tests of one file: started before them, stopped after.
 * @param {{bin?: string, args?: string[], log?: string}} [opts] as for `startServer`
 * @returns {{server: any, browser: any}}
 */
export function serverAndChromium(opts = {}) {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer(opts);
    env.browser = await launchChromium();
  });
  after(async () => {
    // A slow record holds signaling back (tiles linger, words come late): said here, so a
    // test that timed out on it shows why.
    const slow = env.server?.recent().filter((/** @type {string} */ l) => l.includes('to be durable')) ?? [];
    if (slow.length) console.error(`the server's record was slow:\n${slow.join('\n')}`);
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/**
 * Launches Debian's Firefox ESR with fake devices, driven by Puppeteer over WebDriver BiDi
 * (../shared/notes/browser-webrtc.md says why each pref is needed). `close()` also removes
 * its profile.
 */
export async function launchFirefox() {
  const profile = mkdtempSync(join(tmpdir(), 'summit-ff-'));
  const firefox = await puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    userDataDir: profile,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      'permissions.default.camera': 1,
      'permissions.default.microphone': 1,
      'media.peerconnection.ice.loopback': true,
      'media.peerconnection.ice.obfuscate_host_addresses': false,
      'media.autoplay.default': 0,
    },
  });
  return {
    browser: firefox,
    async close() {
      await firefox.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
