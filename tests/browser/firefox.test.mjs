// Firefox ESR and Chromium in one meeting decode each other through Summit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, joinPage, waitStats, myId, launchChromium, launchFirefox, e2eeReport } from './harness.mjs';

let server;
let chrome;
let firefox;

before(async () => {
  server = await startServer();
  chrome = await launchChromium();
  firefox = await launchFirefox();
});

after(async () => {
  await firefox?.close();
  await chrome?.close();
  await server?.stop();
});

test('a Firefox and a Chromium participant decode each other in an encrypted meeting', async () => {
  const cr = await joinPage(chrome, server.invite('interop', 'Chromium User', '--skip-lobby').url);
  const ff = await firefox.browser.newPage();
  await ff.goto(server.invite('interop', 'Firefox User', '--skip-lobby').url);
  await ff.locator('#join').click();
  await ff.waitForSelector('#btn-leave', { visible: true, timeout: 20000 });
  const c = await myId(cr);
  const f = await ff.evaluate(() => /** @type {any} */ (window).summit.me.participant_id);
  await waitStats(cr, (s) => s[`${f}:camera`]?.framesDecoded > 5 && s[`${f}:microphone`]?.packetsReceived > 20,
    20000, 'Chromium decoding Firefox');
  await waitStats(ff, (s) => s[`${c}:camera`]?.framesDecoded > 5 && s[`${c}:microphone`]?.packetsReceived > 20,
    20000, 'Firefox decoding Chromium');
  // What they decoded went through each browser's SFrame transform both ways.
  for (const [page, who] of [[cr, 'Chromium'], [ff, 'Firefox']]) {
    const r = await e2eeReport(page);
    assert.ok(r.stats.encrypted > 20 && r.stats.decryptedVideo > 5 && r.stats.decryptedAudio > 20,
      `${who}: ${JSON.stringify(r.stats)}`);
  }
  assert.equal(await ff.$eval('#e2ee-badge', (e) => e.textContent), '🔒 End-to-end encrypted');
  await ff.close();
  await cr.context().close();
});
