// Getting in from networks that make it hard, in private network namespaces the test makes
// (./netns.mjs): a page behind a firewall that drops all UDP joins over ICE-TCP and is seen and
// heard, and sees and hears, a page that has UDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, joinPage, waitStats, myId } from './harness.mjs';
import { createNetwork } from './netns.mjs';

/** The transport of a page's selected ICE candidate pair on both its connections. */
async function transports(page) {
  return page.evaluate(async () => {
    const s = /** @type {any} */ (window).summit;
    const out = [];
    for (const pc of [s.conn.pub, s.conn.sub]) {
      const stats = await pc.getStats();
      let pair = null;
      stats.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
      const local = pair && stats.get(pair.localCandidateId);
      out.push(local ? local.protocol : null);
    }
    return out;
  });
}

test('with UDP dropped, a page joins over ICE-TCP and is seen and heard both ways', async () => {
  const net = createNetwork();
  /** @type {any} */ let server;
  const browsers = [];
  try {
    server = await startServer({ prefix: net.inside(net.srv), listen: net.srvIp });
    net.dropUdp(net.cli);
    const origin = new URL(server.url).origin;
    const open = await net.chromium(net.srv, origin);
    const walled = await net.chromium(net.cli, origin);
    browsers.push(open, walled);
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
  } finally {
    for (const br of browsers) await br.close().catch(() => {});
    await server?.stop();
    net.destroy();
  }
});

test('without a way through the firewall, the page says so within seconds instead of "Connected"', async () => {
  const net = createNetwork();
  /** @type {any} */ let server;
  const browsers = [];
  try {
    // The control for the test above: the same wall, and no TCP to fall back on.
    server = await startServer({ prefix: net.inside(net.srv), listen: net.srvIp, args: ['--no-tcp'] });
    net.dropUdp(net.cli);
    const origin = new URL(server.url).origin;
    const open = await net.chromium(net.srv, origin);
    const walled = await net.chromium(net.cli, origin);
    browsers.push(open, walled);
    const a = await joinPage(open, server.invite('tcp-2', 'Ana', '--role', 'host').url);
    const b = await joinPage(walled, server.invite('tcp-2', 'Ben', '--skip-lobby').url);
    await b.getByRole('alert').filter({ hasText: 'A firewall on your network most likely blocks it' })
      .waitFor({ timeout: 20000 });
    assert.ok(await b.getByRole('alert').filter({ hasText: `udp ${net.srvIp}:` }).count() === 1, 'names what to open');
    assert.equal(await b.locator('#conn-state').textContent(), 'No media connection');
    assert.equal(await a.locator('#conn-state').textContent(), 'Connected');
  } finally {
    for (const br of browsers) await br.close().catch(() => {});
    await server?.stop();
    net.destroy();
  }
});
