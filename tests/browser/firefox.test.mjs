// Firefox ESR and Chromium in one meeting decode each other through Summit; Firefox sends
// simulcast like Chromium.
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
  const f = await ff.evaluate(() => /** @type {any} */ (window).summitTest.participantId());
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
  // Firefox sends its camera in the three simulcast layers too, each at its own size. It starts
  // the top layer only once its own bandwidth estimate has grown to cover all three, which takes
  // a few seconds after the first frames: wait for it.
  /** @type {Record<string, number>} */
  let layers = {};
  const deadline = Date.now() + 45000;
  while (Date.now() < deadline) {
    layers = await ff.evaluate(async () => {
      const sender = /** @type {any} */ (window).summitTest.sender('camera');
      /** @type {Record<string, number>} */
      const widths = {};
      if (!sender) return widths;
      (await sender.getStats()).forEach((/** @type {any} */ r) => {
        if (r.type === 'outbound-rtp' && r.rid && r.bytesSent > 0) widths[r.rid] = r.frameWidth;
      });
      return widths;
    });
    if (Object.keys(layers).length === 3) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.deepEqual(Object.keys(layers).sort(), ['f', 'h', 'q'], JSON.stringify(layers));
  assert.ok(layers.q < layers.h && layers.h < layers.f, JSON.stringify(layers));
  await ff.close();
  await cr.context().close();
});
