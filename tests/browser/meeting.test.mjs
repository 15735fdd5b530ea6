// A meeting in real Chromium: two join through `summit invite` links and decode each other,
// a third joins late, one leaves, and bad invitations are refused with a visible message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, waitStats, inbound, myId, until, view } from './harness.mjs';

const env = serverAndChromium();

/** Both sources of `from` rising at `page`: video frames decoded and audio packets received. */
async function receivesFrom(page, from, ms, what) {
  const first = await waitStats(page, (s) => (s[`${from}:camera`]?.framesDecoded > 0)
    && (s[`${from}:microphone`]?.packetsReceived > 0), ms, what);
  await new Promise((r) => setTimeout(r, 1500));
  const later = await inbound(page);
  assert.ok(later[`${from}:camera`].framesDecoded > first[`${from}:camera`].framesDecoded, `${what}: video frames stopped`);
  assert.ok(later[`${from}:microphone`].packetsReceived > first[`${from}:microphone`].packetsReceived, `${what}: audio stopped`);
}

test('two participants decode each other, a late joiner sees both, a leaver disappears', async () => {
  const alice = await joinPage(env.browser, env.server.invite('summit-1', 'Alice Example', '--role', 'host').url);
  const bob = await joinPage(env.browser, env.server.invite('summit-1', 'Bob Example', '--skip-lobby').url);
  const [a, b] = [await myId(alice), await myId(bob)];
  await receivesFrom(alice, b, 15000, 'Alice receiving Bob');
  await receivesFrom(bob, a, 15000, 'Bob receiving Alice');

  const carol = await joinPage(env.browser, env.server.invite('summit-1', 'Carol Example', '--skip-lobby').url);
  await waitStats(carol, (s) => s[`${a}:camera`]?.framesDecoded > 0 && s[`${b}:camera`]?.framesDecoded > 0,
    15000, 'late joiner decoding both cameras');
  // Everyone sees everyone's tile by name.
  for (const p of [alice, bob]) {
    await p.getByRole('group', { name: 'Carol Example' }).waitFor({ timeout: 5000 });
  }

  // Chat reaches the others with the sender's name.
  await alice.getByRole('button', { name: 'Chat' }).click();
  await alice.getByLabel('Message').fill('Welcome, delegations');
  await alice.getByRole('button', { name: 'Send' }).click();
  await bob.getByRole('button', { name: 'Chat' }).click();
  await bob.getByText('Welcome, delegations').waitFor({ timeout: 5000 });
  await bob.getByText(/Alice Example · /).waitFor({ timeout: 5000 });

  await bob.getByRole('button', { name: 'Leave' }).click();
  await bob.getByText('You left the meeting.').waitFor({ timeout: 5000 });
  assert.equal(await view(bob), 'left');
  const left = Date.now();
  for (const p of [alice, carol]) {
    await p.getByRole('group', { name: 'Bob Example' }).waitFor({ state: 'detached', timeout: 2000 });
  }
  assert.ok(Date.now() - left < 2500);
  for (const p of [alice, bob, carol]) await p.context().close();
});

test('a closed tab disappears from the others within 2 s', async () => {
  const alice = await joinPage(env.browser, env.server.invite('summit-2', 'Alice', '--skip-lobby').url);
  const bob = await joinPage(env.browser, env.server.invite('summit-2', 'Bob', '--skip-lobby').url);
  await alice.getByRole('group', { name: 'Bob' }).waitFor({ timeout: 5000 });
  await bob.context().close();
  await alice.getByRole('group', { name: 'Bob' }).waitFor({ state: 'detached', timeout: 2000 });
  await alice.context().close();
});

test('bad invitations are refused with a visible reason', async () => {
  const ctx = await env.browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await ctx.newPage();
  const good = env.server.invite('summit-3', 'Dana').url;
  const cases = [
    ['expired', env.server.forge({ mtg: 'summit-3', exp: Math.floor(Date.now() / 1000) - 3600 }), /expired/],
    ['tampered', good.split('invite=')[1].replace(/\.([^.]+)\./, (m, p) => {
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      claims.role = 'host';
      return `.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    }), /not issued for this server or has been altered/],
    ['other meeting', env.server.invite('elsewhere', 'Dana').url.split('invite=')[1], /not for this meeting/],
  ];
  for (const [what, token, reason] of cases) {
    await page.goto(`${env.server.url}/m/summit-3?invite=${token}`);
    await page.getByRole('button', { name: 'Join' }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: reason }).waitFor({ timeout: 5000 }).catch(async () => {
      assert.fail(`${what}: page says "${await alert.textContent()}"`);
    });
    assert.match(await alert.textContent(), /refused/, what);
  }
  await ctx.close();
});

test('a shared screen is decoded by the others and goes away when stopped, with no new offer', async () => {
  const alice = await joinPage(env.browser, env.server.invite('summit-4', 'Alice', '--skip-lobby').url);
  const bob = await joinPage(env.browser, env.server.invite('summit-4', 'Bob', '--skip-lobby').url);
  const a = await myId(alice);
  // Bob's connection is settled (his slots negotiated, Alice's camera decoding) before she shares.
  await waitStats(bob, (s) => s[`${a}:camera`]?.framesDecoded > 0, 20000, 'Bob decoding Alice\'s camera');
  const offers = () => bob.evaluate(() => /** @type {any} */ (window).summitTest.offers());
  const before = await offers();
  await alice.getByRole('button', { name: 'Share screen' }).click();
  await waitStats(bob, (s) => s[`${a}:screen`]?.framesDecoded > 0, 10000, 'Bob decoding Alice\'s screen');
  await bob.getByLabel('Screen shared by Alice').waitFor({ timeout: 5000 });
  await alice.getByRole('button', { name: 'Share screen' }).click();
  await bob.getByLabel('Screen shared by Alice').waitFor({ state: 'detached', timeout: 5000 });
  // The screen came and went through Bob's screen slot.
  assert.equal(await offers(), before, 'Bob was sent an offer for the screen');
  for (const p of [alice, bob]) await p.context().close();
});

test('Prometheus metrics show the meeting, its participants and what was forwarded', async () => {
  const a = await joinPage(env.browser, env.server.invite('metrics-1', 'Ada', '--role', 'host', '--skip-lobby').url);
  const b = await joinPage(env.browser, env.server.invite('metrics-1', 'Lin', '--skip-lobby').url);
  let text = '';
  const value = (re) => Number((text.match(re) || [])[1] || NaN);
  await until(async () => {
    text = await (await fetch(env.server.metrics)).text();
    return value(/^summit_meeting_forwarded_packets_total\{meeting="metrics-1"\} (\d+)/m) > 200;
  }, 20000, 'packets forwarded in metrics-1');
  assert.equal(value(/^summit_meeting_participants\{meeting="metrics-1"\} (\d+)/m), 2, text);
  assert.ok(value(/^summit_tracks (\d+)/m) >= 4, text);
  assert.ok(value(/^summit_forwarded_bytes_total (\d+)/m) > 10000, text);
  assert.ok(value(/^summit_keyframe_requests_total (\d+)/m) >= 1, text);
  assert.match(text, /^summit_nacks_sent_total \d+/m);
  for (const p of [a, b]) await p.context().close();
});
