// The key exchange at the size of a multilateral meeting: 100 simulated pages, each running the
// web client's own key schedule (web/e2ee.js, on Node's WebCrypto) over a real server's
// signaling, without media. After a leave every remaining page holds every other's new key, in
// one round: each page sends one key message, the server delivers 99 × 98 entries. The
// messages and bytes the server relays for a join and for a leave are measured and bounded, and
// so is what one page's share of a rekey costs in CPU.
//
// What this cannot show on a small machine is the wall time of a real meeting, where each page
// runs on its own computer: here one Node process does the crypto of all 99 (about 8 s of CPU
// on two cores), so its wall time is the sum of their work, not one page's (docs/e2ee.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, until } from './harness.mjs';
import { E2ee, secretFromFragment, ROTATE_DELAY_MS } from '../../web/e2ee.js';

const PAGES = 100;

/** One page: its signaling socket, its key schedule, and the keys its media worker would hold. */
class SimPage {
  /** @param {string} url the server's @param {{token: string, meeting: string, secret: Uint8Array<ArrayBuffer>}} link */
  constructor(url, link, counts) {
    this.link = link;
    this.counts = counts;
    /** @type {Map<number, number>} the newest key index held of each sender */
    this.held = new Map();
    /** @type {number | null} */
    this.id = null;
    /** @type {E2ee | null} */
    this.e2ee = null;
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
    this.welcomed = new Promise((resolve, reject) => {
      this.ws.on('error', reject);
      this.ws.on('open', () => this.ws.send(JSON.stringify({ type: 'join', version: 2, meeting: link.meeting, invite: link.token })));
      this.ws.on('message', (raw) => {
        const text = String(raw);
        const m = JSON.parse(text);
        if (m.type === 'e2ee') { this.counts.messages += 1; this.counts.bytes += text.length; }
        if (m.type === 'welcome') { this.welcome(m); resolve(undefined); }
        this.handle(m);
      });
    });
    this.ping = setInterval(() => { if (this.ws.readyState === WebSocket.OPEN) this.ws.send('{"type":"ping"}'); }, 5000);
  }

  /** @param {any} m */
  welcome(m) {
    this.id = m.participant_id;
    this.e2ee = new E2ee({
      meeting: this.link.meeting,
      secret: this.link.secret,
      name: `Delegate ${m.participant_id}`,
      role: 'delegate',
      send: (msg) => this.ws.send(JSON.stringify({ type: 'e2ee', ...msg })),
      sink: {
        sendKey: () => {},
        key: (sender, index) => { if (index >= (this.held.get(sender) ?? -1)) this.held.set(sender, index); },
        forget: (sender) => { this.held.delete(sender); },
      },
    });
    void this.e2ee.start(m.participant_id, m.participants.map((/** @type {any} */ p) => p.id));
  }

  /** @param {any} m */
  handle(m) {
    if (!this.e2ee) return;
    if (m.type === 'e2ee') void this.e2ee.receive(m.from, m.data, m.key ?? null);
    if (m.type === 'participant_joined') this.e2ee.joined(m.participant.id);
    if (m.type === 'participant_left') void this.e2ee.left(m.participant_id);
  }

  /** Leaves as the Leave button does. */
  leave() {
    this.ws.send('{"type":"leave"}');
    this.close();
  }

  close() {
    clearInterval(this.ping);
    this.ws.close();
  }
}

/** Waits until no `e2ee` message has been relayed for `quiet` ms (at most `ms`). */
async function settle(counts, quiet, ms) {
  const end = Date.now() + ms;
  let last = counts.messages;
  let since = Date.now();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    if (counts.messages !== last) { last = counts.messages; since = Date.now(); } else if (Date.now() - since >= quiet) return;
  }
  throw new Error(`the key exchange did not settle within ${ms} ms`);
}

/** Whether every page holds, of every other page, a key newer than `before` says. */
function allHoldNewer(pages, before) {
  for (const p of pages) {
    for (const q of pages) {
      if (p === q || q.id === null) continue;
      if ((p.held.get(q.id) ?? -1) <= (before.get(`${p.id}:${q.id}`) ?? -1)) return false;
    }
  }
  return true;
}

test('a leave in a meeting of 100 rekeys everyone in one round; a join and a leave cost the relay and each page a bounded amount', async () => {
  const server = await startServer({ args: ['--max-participants', String(PAGES + 10)] });
  const pages = [];
  try {
    const invite = server.invite('e2ee-100', 'Delegate', '--skip-lobby');
    const url = new URL(invite.url);
    const link = {
      token: String(url.searchParams.get('invite')),
      meeting: 'e2ee-100',
      secret: /** @type {Uint8Array<ArrayBuffer>} */ (secretFromFragment(url.hash)),
    };
    assert.ok(link.secret, 'the link carries the meeting key');
    const counts = { messages: 0, bytes: 0 };
    // The first 99 join, ten at a time, and exchange keys.
    for (let i = 0; i < PAGES - 1; i += 10) {
      const batch = [];
      for (let j = i; j < Math.min(i + 10, PAGES - 1); j++) batch.push(new SimPage(server.url, link, counts));
      await Promise.all(batch.map((p) => p.welcomed));
      pages.push(...batch);
    }
    await settle(counts, 1500, 120000);
    await until(() => allHoldNewer(pages, new Map()), 60000, 'the 99 holding each other\'s keys');

    // The 100th joins.
    const join0 = { ...counts };
    const late = new SimPage(server.url, link, counts);
    await late.welcomed;
    pages.push(late);
    await until(() => pages.every((p) => p === late || (p.held.has(/** @type {number} */ (late.id)) && late.held.has(/** @type {number} */ (p.id)))),
      20000, 'the newcomer and everyone holding each other\'s keys');
    await settle(counts, 1500, 30000);
    const joinMessages = counts.messages - join0.messages;
    const joinBytes = counts.bytes - join0.bytes;

    // One leaves: everyone else moves to a new key and holds everyone else's.
    const before = new Map();
    for (const p of pages) for (const [s, i] of p.held) before.set(`${p.id}:${s}`, i);
    const leaver = pages.splice(37, 1)[0];
    const leave0 = { ...counts };
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    leaver.leave();
    await until(() => allHoldNewer(pages, before), 10000, 'every page holding every other page\'s new key');
    const rekeyMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const perPageMs = (cpu.user + cpu.system) / 1000 / pages.length;
    await settle(counts, 1500, 30000);
    const leaveMessages = counts.messages - leave0.messages;
    const leaveBytes = counts.bytes - leave0.bytes;

    console.log(`join of the 100th: ${joinMessages} e2ee messages delivered, ${(joinBytes / 1024).toFixed(0)} KiB`);
    console.log(`leave at 100: ${leaveMessages} e2ee messages delivered, ${(leaveBytes / 1024).toFixed(0)} KiB; `
      + `one page's share ${perPageMs.toFixed(0)} ms of CPU; all 99 simulated here rekeyed in ${rekeyMs} ms `
      + `(pages send with the new key ${ROTATE_DELAY_MS} ms after making it)`);
    // A real page's rekey: one relay hop and its own share of the work, well within 2 s.
    assert.ok(perPageMs < 500, `one page's share of a rekey took ${perPageMs} ms of CPU`);
    assert.ok(rekeyMs < 60000, `the simulation rekeyed in ${rekeyMs} ms`);
    // A join: the newcomer's hello to 99, and from each of the 99 a hello or key back to it
    // (and their ratchets need no message): linear in the meeting, not quadratic.
    assert.ok(joinMessages <= 4 * PAGES, `a join delivered ${joinMessages} messages`);
    // A leave: each of the 99 sends its new key once, to the 98 others, each of whom gets its
    // own entry: 99 × 98 deliveries, one round (a page may now and then send a key again to a
    // peer whose message crossed its own: a few more).
    const round = (PAGES - 1) * (PAGES - 2);
    assert.ok(leaveMessages >= round && leaveMessages <= round + 2 * PAGES, `a leave delivered ${leaveMessages} messages, one round is ${round}`);
    assert.ok(leaveBytes <= PAGES * PAGES * 1024, `a leave delivered ${leaveBytes} bytes`);
  } finally {
    for (const p of pages) p.close();
    await server.stop();
  }
});
