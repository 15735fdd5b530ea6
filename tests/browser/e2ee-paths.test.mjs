// The other ways into a meeting's media: a browser that only has createEncodedStreams (the
// older encoded-transform API) takes part in an encrypted meeting through the same worker, and a
// meeting made with --no-e2ee runs in the clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, waitStats, myId, e2eeReport } from './harness.mjs';

const env = serverAndChromium();

test('a browser with only createEncodedStreams takes part through the same worker', async () => {
  const alice = await joinPage(env.browser, env.server.invite('enc-4', 'Alice', '--role', 'host').url);
  // Chromium has both APIs: take the newer away, as in browsers that never had it.
  const bob = await joinPage(env.browser, env.server.invite('enc-4', 'Bob', '--skip-lobby').url,
    () => { delete (/** @type {any} */ (window)).RTCRtpScriptTransform; });
  assert.equal(await bob.evaluate(() => /** @type {any} */ (window).summitTest.frames().legacy), true);
  const [a, b] = [await myId(alice), await myId(bob)];
  for (const [page, from] of [[alice, b], [bob, a]]) {
    await waitStats(page, (s) => s[`${from}:camera`]?.framesDecoded > 10 && s[`${from}:microphone`]?.audioEnergy > 0,
      20000, `decoding ${from}`);
  }
  const r = await e2eeReport(bob);
  assert.ok(r.stats.encrypted > 20 && r.stats.decryptedVideo > 10, JSON.stringify(r.stats));
  for (const p of [alice, bob]) await p.context().close();
});

test('a meeting made with --no-e2ee works in the clear and says nothing of encryption', async () => {
  env.server.summit('meeting', 'create', 'plain-1', '--no-e2ee');
  const alice = await joinPage(env.browser, env.server.invite('plain-1', 'Alice', '--role', 'host').url);
  const bob = await joinPage(env.browser, env.server.invite('plain-1', 'Bob', '--skip-lobby').url);
  const [a, b] = [await myId(alice), await myId(bob)];
  for (const [page, from] of [[alice, b], [bob, a]]) {
    await waitStats(page, (s) => s[`${from}:camera`]?.framesDecoded > 10, 20000, `decoding ${from}`);
    assert.ok(await page.locator('#e2ee-badge').isHidden());
    assert.equal(await e2eeReport(page), null, 'no encryption worker');
  }
  await alice.getByRole('button', { name: 'Chat' }).click();
  await alice.getByLabel('Message').fill('In the clear');
  await alice.getByRole('button', { name: 'Send' }).click();
  await bob.getByRole('button', { name: 'Chat' }).click();
  await bob.getByText('In the clear').waitFor({ timeout: 5000 });
  for (const p of [alice, bob]) await p.context().close();
});

test('a browser that cannot encrypt frames does not publish in an encrypted meeting, and says why', async () => {
  const alice = await joinPage(env.browser, env.server.invite('enc-5', 'Alice', '--role', 'host').url);
  const bob = await joinPage(env.browser, env.server.invite('enc-5', 'Bob', '--skip-lobby').url, () => {
    delete (/** @type {any} */ (window)).RTCRtpScriptTransform;
    delete (/** @type {any} */ (RTCRtpSender.prototype)).createEncodedStreams;
  });
  await bob.getByRole('alert').filter({ hasText: 'This browser cannot encrypt media end to end' }).waitFor({ timeout: 10000 });
  assert.ok(await bob.locator('#btn-mic').isHidden() && await bob.locator('#btn-cam').isHidden());
  assert.equal(await bob.evaluate(() => /** @type {any} */ (window).summitTest.sending()), 0, 'nothing sent');
  const b = await myId(bob);
  await new Promise((r) => setTimeout(r, 3000));
  const got = (await waitStats(alice, () => true, 1000, ''))[`${b}:camera`];
  assert.ok(!got || got.packetsReceived === 0, `Alice received Bob's camera: ${JSON.stringify(got)}`);
  for (const p of [alice, bob]) await p.context().close();
});
