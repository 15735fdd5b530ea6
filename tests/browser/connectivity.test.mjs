// Getting in from networks that make it hard, in private network namespaces the test makes
// (./netns.mjs): a page behind a firewall that drops all UDP joins over ICE-TCP and is seen and
// heard, and sees and hears, a page that has UDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, joinPage, inMeeting, waitStats, myId, inbound, until } from './harness.mjs';
import { createNetwork } from './netns.mjs';

/**
 * The local end of a page's selected ICE candidate pair on both its connections: its transport
 * (`udp`, `tcp`), or with `kind`, its type and, for a relay, the transport to the TURN server
 * (`relay/tcp`).
 */
async function transports(page, kind = false) {
  return page.evaluate(async (withKind) => {
    const s = /** @type {any} */ (window).summitTest;
    const out = [];
    for (const pc of [s.publishing(), s.subscribing()]) {
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
      const local = pair && stats.get(pair.localCandidateId);
      out.push(!local ? null : withKind ? `${local.candidateType}/${local.relayProtocol ?? local.protocol}` : local.protocol);
    }
    return out;
  }, kind);
}

/**
 * Runs `body` with a server in a fresh pair of namespaces (started with `args`, or what
 * `args(net)` gives), and a way to launch Chromium in either; cleans everything up after.
 * @param {string[] | ((net: any) => string[])} args
 * @param {(env: {net: any, server: any, browser: (ns: string) => Promise<any>}) => Promise<void>} body
 */
async function inNamespaces(args, body) {
  const net = createNetwork();
  /** @type {any} */ let server;
  const browsers = [];
  try {
    server = await startServer({ prefix: net.inside(net.srv), listen: net.srvIp, args: typeof args === 'function' ? args(net) : args });
    const origin = new URL(server.url).origin;
    await body({ net, server, browser: async (ns) => { const b = await net.chromium(ns, origin); browsers.push(b); return b; } });
  } finally {
    for (const br of browsers) await br.close().catch(() => {});
    await server?.stop();
    net.destroy();
  }
}

test('with UDP dropped, a page joins over ICE-TCP and is seen and heard both ways', () => inNamespaces([], async ({ net, server, browser }) => {
  net.dropUdp(net.cli);
  const open = await browser(net.srv);
  const walled = await browser(net.cli);
  const a = await joinPage(open, server.invite('tcp-1', 'Ana', '--role', 'host').url);
  const b = await joinPage(walled, server.invite('tcp-1', 'Ben', '--skip-lobby').url);
  const [ia, ib] = [await myId(a), await myId(b)];
  await waitStats(b, (s) => s[`${ia}:camera`]?.framesDecoded > 20 && s[`${ia}:microphone`]?.audioEnergy > 0,
    30000, 'Ben, without UDP, decoding Ana');
  await waitStats(a, (s) => s[`${ib}:camera`]?.framesDecoded > 20 && s[`${ib}:microphone`]?.audioEnergy > 0,
    30000, 'Ana decoding Ben');
  assert.deepEqual(await transports(b), ['tcp', 'tcp'], 'Ben\'s media goes over TCP');
  assert.deepEqual(await transports(a), ['udp', 'udp'], 'Ana keeps UDP');
  // Encrypted end to end over TCP as over UDP.
  await b.locator('#e2ee-badge').filter({ hasText: 'End-to-end encrypted' }).waitFor({ timeout: 5000 });
}));

test('without a way through the firewall, the page says so within seconds instead of "Connected"', () => inNamespaces(['--no-tcp'], async ({ net, server, browser }) => {
  // The control for the test above: the same wall, and no TCP to fall back on.
  net.dropUdp(net.cli);
  const open = await browser(net.srv);
  const walled = await browser(net.cli);
  const a = await joinPage(open, server.invite('tcp-2', 'Ana', '--role', 'host').url);
  const b = await joinPage(walled, server.invite('tcp-2', 'Ben', '--skip-lobby').url);
  await b.getByRole('alert').filter({ hasText: 'A firewall on your network most likely blocks it' })
    .waitFor({ timeout: 20000 });
  assert.ok(await b.getByRole('alert').filter({ hasText: `udp ${net.srvIp}:` }).count() === 1, 'names what to open');
  assert.equal(await b.locator('#conn-state').textContent(), 'No media connection');
  assert.equal(await a.locator('#conn-state').textContent(), 'Connected');
}));

test('a participant whose uplink loses packets is shown with a poor connection to the others and to themselves, until it heals', () => inNamespaces([], async ({ net, server, browser }) => {
  const open = await browser(net.srv);
  const lossy = await browser(net.cli);
  const a = await joinPage(open, server.invite('lossy', 'Ana', '--role', 'host').url);
  const b = await joinPage(lossy, server.invite('lossy', 'Ben', '--skip-lobby').url);
  const ib = await myId(b);
  await waitStats(a, (s) => s[`${ib}:camera`]?.framesDecoded > 20, 30000, 'Ana decoding Ben');
  const badge = a.locator(`.tile[data-participant="${ib}"] .quality`);
  // The control: a clean link is not called poor (two rounds of the server's reports).
  await new Promise((r) => setTimeout(r, 11000));
  assert.ok(await badge.isHidden(), 'no badge on a clean link');
  // 15 % of what Ben sends is lost before it reaches the server.
  net.loseFrom(net.srv, net.cliIp, 0.15);
  await badge.filter({ hasText: 'Poor connection' }).waitFor({ timeout: 30000 });
  assert.match(await badge.getAttribute('title') ?? '', /reaches the server with \d+% loss/);
  // Ben's own tile says it too: his page's statistics only describe what he receives.
  const own = b.locator('.tile.self .quality');
  await own.filter({ hasText: 'Poor connection' }).waitFor({ timeout: 5000 });
  assert.match(await own.getAttribute('title') ?? '', /^What you send reaches the server with \d+% loss/);
  await a.getByRole('button', { name: 'Participants' }).click();
  await a.getByRole('listitem', { name: /^Ben \(delegate\), poor connection/ }).waitFor({ timeout: 5000 });
  net.clearFirewall(net.srv);
  await badge.waitFor({ state: 'hidden', timeout: 40000 });
  await own.waitFor({ state: 'hidden', timeout: 5000 });
}));

/** Frames decoded of `who`'s camera on `page`. */
async function framesOf(page, who) {
  const s = await inbound(page);
  return s[`${who}:camera`]?.framesDecoded ?? 0;
}

test('the network changes under a page: media resumes through an ICE restart, same seat, nobody sees a leave', () => inNamespaces([], async ({ net, server, browser }) => {
  const stay = await browser(net.srv);
  const moving = await browser(net.cli);
  const a = await joinPage(stay, server.invite('moved', 'Ana', '--role', 'host').url);
  const b = await joinPage(moving, server.invite('moved', 'Ben', '--skip-lobby').url);
  const [ia, ib] = [await myId(a), await myId(b)];
  await waitStats(b, (s) => s[`${ia}:camera`]?.framesDecoded > 20, 30000, 'Ben decoding Ana');
  await waitStats(a, (s) => s[`${ib}:camera`]?.framesDecoded > 20, 30000, 'Ana decoding Ben');
  await b.evaluate(() => { const s = /** @type {any} */ (window).summitTest; s.labelConnections('before'); s.forgetReceived(); });
  await a.evaluate(() => { /** @type {any} */ (window).summitTest.forgetReceived(); });

  const moved = Date.now();
  net.renumber();
  // Frames stop on the old path; then they flow again, both ways, on the new one.
  const [fb, fa] = [await framesOf(b, ia), await framesOf(a, ib)];
  await until(async () => (await framesOf(b, ia)) > fb + 30 && (await framesOf(a, ib)) > fa + 30, 30000,
    'media both ways after the address changed');
  const took = (Date.now() - moved) / 1000;
  console.log(`media resumed ${took.toFixed(1)} s after the address changed`);
  assert.deepEqual(await transports(b), ['udp', 'udp']);
  // The same seat and the same media connections: an ICE restart, not a new session.
  assert.equal(await myId(b), ib);
  assert.ok(await b.evaluate(() => /** @type {any} */ (window).summitTest.connectionsLabel() === 'before'), 'the same connections');
  const seenByAna = await a.evaluate(() => /** @type {any} */ (window).summitTest.received());
  assert.ok(!seenByAna.includes('participant_left') && !seenByAna.includes('participant_joined'),
    `Ana saw no leave and no join: ${seenByAna}`);
  assert.equal(await b.locator('#conn-state').textContent(), 'Connected');
  await b.locator('#e2ee-badge').filter({ hasText: 'End-to-end encrypted' }).waitFor({ timeout: 5000 });
}));

test('only a TURN server over TCP reachable: relay-only through coturn, seen and heard; credentials renewed, expired ones refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'summit-turn-'));
  const secret = randomBytes(24).toString('base64url');
  writeFileSync(join(dir, 'turn-secret'), `${secret}\n`, { mode: 0o600 });
  try {
    const args = (/** @type {any} */ net) => ['--turn-url', `turn:${net.srvIp}:3478?transport=tcp`,
      '--turn-secret-file', join(dir, 'turn-secret'), '--turn-ttl', '5s'];
    await inNamespaces(args, async ({ net, server, browser }) => {
      await net.coturn(net.srv, net.srvIp, secret, net.srvIp);
      // The page's namespace reaches the web server and coturn, and nothing else of the server.
      net.onlyTcpTo(net.cli, net.srvIp, [new URL(server.url).port, 3478]);
      const open = await browser(net.srv);
      const walled = await browser(net.cli);
      const a = await joinPage(open, server.invite('turn-1', 'Ana', '--role', 'host').url);
      const b = await walled.newContext({ permissions: ['camera', 'microphone'] }).then((c) => c.newPage());
      await b.goto(server.invite('turn-1', 'Ben', '--skip-lobby').url);
      await b.getByRole('checkbox', { name: 'Relay all media through the TURN server' }).check();
      await b.getByRole('button', { name: 'Join' }).click();
      await inMeeting(b, 15000);
      const [ia, ib] = [await myId(a), await myId(b)];
      await waitStats(b, (s) => s[`${ia}:camera`]?.framesDecoded > 20 && s[`${ia}:microphone`]?.audioEnergy > 0,
        30000, 'Ben, relayed, decoding Ana');
      await waitStats(a, (s) => s[`${ib}:camera`]?.framesDecoded > 20 && s[`${ib}:microphone`]?.audioEnergy > 0,
        30000, 'Ana decoding Ben');
      assert.deepEqual(await transports(b, true), ['relay/tcp', 'relay/tcp'], 'Ben\'s media goes through the TURN server over TCP');
      // Credentials live 5 s and are renewed after 3.75 s, each time with an ICE restart: the
      // media goes on over new allocations, past the first credentials' expiry.
      const first = await b.evaluate(() => /** @type {any} */ (window).summitTest.welcomeIceServers()[0]);
      assert.match(first.username, new RegExp(`^\\d+:${ib}$`));
      const [fb, fa] = [await framesOf(b, ia), await framesOf(a, ib)];
      await new Promise((r) => setTimeout(r, 9000));
      const renewed = await b.evaluate(() => /** @type {any} */ (window).summitTest.received().filter((/** @type {string} */ t) => t === 'ice_servers').length);
      assert.ok(renewed >= 2, `renewed twice in 9 s: ${renewed}`);
      await until(async () => (await framesOf(b, ia)) > fb + 100 && (await framesOf(a, ib)) > fa + 100, 20000,
        'media both ways across the renewals');
      // Each renewal restarts ICE over a new allocation, every 3.75 s: a snapshot of the stats
      // can fall while a connection's selected pair still names the old relay candidate, whose
      // stats are gone (seen once in CI as `null`). What counts is where the media settles.
      /** @type {(string | null)[]} */ let settled = [];
      await until(async () => {
        settled = await transports(b, true);
        return settled.every((t) => t === 'relay/tcp');
      }, 10000, 'both connections on a relay over TCP after the renewals');
      assert.deepEqual(settled, ['relay/tcp', 'relay/tcp']);
      // coturn itself refuses the first credential now that it expired, and takes the latest.
      // (The latest first: it has at least 1.25 s left.)
      const latest = await b.evaluate(() => /** @type {any} */ (window).summitTest.iceServers()[0]);
      const fresh = net.turnAllocates(net.cli, net.srvIp, latest.username, latest.credential);
      assert.ok(fresh.ok, `the latest credential gets a relay: ${fresh.out}`);
      const old = net.turnAllocates(net.cli, net.srvIp, first.username, first.credential);
      assert.ok(!old.ok, `an expired credential gets no relay: ${old.out}`);
      // This browser remembers that it relays: its next meeting link has the box ticked.
      const next = await b.context().newPage();
      await next.goto(server.invite('turn-2', 'Ben', '--skip-lobby').url);
      assert.ok(await next.getByRole('checkbox', { name: 'Relay all media through the TURN server' }).isChecked(),
        'the relay choice is remembered');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
