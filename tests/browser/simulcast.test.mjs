// Simulcast in real Chromium: a delegate's camera goes out in three layers; a viewer showing
// that camera as a thumbnail receives the low layer, a viewer showing it full-window the high
// one (frameWidth in their stats); a viewer that stops showing it (a collapsed tile, a tab in
// the background) stops receiving its frames, and gets a picture again when it shows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, waitStats, inbound, myId } from './harness.mjs';

// The server logs its layer choices (and the budget behind each), for a failure's report.
const env = serverAndChromium({ log: 'summit=info,summit_core::router::bandwidth=debug,warn' });

/** The sizes the publishing page encodes each layer at, by rid. */
async function sentLayers(page) {
  return page.evaluate(async () => {
    const out = {};
    const sender = /** @type {any} */ (window).summitTest.sender('camera');
    if (!sender) return out;
    (await sender.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.rid) out[r.rid] = { frameWidth: r.frameWidth || 0, bytesSent: r.bytesSent };
    });
    return out;
  });
}

/**
 * Shows `who`'s tile at a fixed size (a thumbnail, or the whole window). Through the CSSOM:
 * the page's Content-Security-Policy refuses inline style elements.
 */
async function tileSize(page, who, css) {
  await page.evaluate((rule) => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(rule);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }, `.tile[data-participant="${who}"] { ${css} }`);
}

test('a thumbnail gets the low layer, a full-window tile the high one, a hidden one nothing', async () => {
  const alice = await joinPage(env.browser, env.server.invite('simulcast-1', 'Alice', '--skip-lobby').url);
  const small = await joinPage(env.browser, env.server.invite('simulcast-1', 'Thumbnail viewer', '--role', 'observer', '--skip-lobby').url);
  const large = await joinPage(env.browser, env.server.invite('simulcast-1', 'Full-window viewer', '--role', 'observer', '--skip-lobby').url);
  const a = await myId(alice);
  await tileSize(small, a, 'position:fixed !important; left:0; top:0; width:200px !important; height:112px !important; min-height:0 !important; z-index:5;');
  await tileSize(large, a, 'position:fixed !important; inset:0 !important; width:100vw !important; height:100vh !important; z-index:5;');

  const cam = `${a}:camera`;
  // Chromium's own bandwidth estimate starts low and the top layer comes last: generous time.
  await waitStats(large, (s) => s[cam]?.frameWidth >= 1000, 45000, 'full-window viewer receiving the high layer', env.server);
  const sent = await sentLayers(alice);
  assert.ok(Object.keys(sent).length === 3, `Alice sends three layers: ${JSON.stringify(sent)}`);
  // The thumbnail may first get a bigger layer (its tile had its grid size for a moment).
  const thumb = await waitStats(small, (s) => s[cam]?.framesDecoded > 0 && s[cam].frameWidth > 0
    && s[cam].frameWidth <= 400, 15000, `thumbnail decoding the low layer (Alice sends ${JSON.stringify(sent)})`, env.server);
  // Both keep decoding at their own size. (The full-window viewer's layer also follows its
  // bandwidth estimate, which three browsers on a small machine can push below the 720p layer
  // for a while: it must be back on it within the time the estimate takes to climb.)
  await new Promise((r) => setTimeout(r, 2000));
  const s2 = await inbound(small);
  assert.ok(s2[cam].framesDecoded > thumb[cam].framesDecoded, 'thumbnail frames stopped');
  assert.ok(s2[cam].frameWidth <= 400, `thumbnail switched up: ${s2[cam].frameWidth}`);
  await waitStats(large, (s) => s[cam].frameWidth >= 1000, 30000, 'full-window viewer on the high layer again', env.server);

  // The thumbnail viewer collapses its strip: the server stops sending that video (frames; the
  // connection's bandwidth estimation may still send a little padding)...
  await tileSize(small, a, "display:none !important;");
  await new Promise((r) => setTimeout(r, 1500));
  const stopped = (await inbound(small))[cam].framesReceived;
  await new Promise((r) => setTimeout(r, 2000));
  const after = (await inbound(small))[cam].framesReceived;
  assert.ok(after - stopped <= 1, `hidden video still arrives: ${after - stopped} frames in 2 s`);
  // ...while audio keeps coming.
  const mic = `${a}:microphone`;
  const audio = (await inbound(small))[mic].packetsReceived;
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok((await inbound(small))[mic].packetsReceived > audio + 20, 'audio stopped with the video');

  // Shown again: frames are decoded again (the server resumes at a keyframe).
  await tileSize(small, a, "display:block !important;");
  const frames = (await inbound(small))[cam].framesDecoded;
  await waitStats(small, (s) => s[cam].framesDecoded > frames + 10, 10000, 'video back after showing it again', env.server);
  // The full-window viewer's tab goes to the background: its video stops too, and comes back.
  const setHidden = (h) => large.evaluate((hidden) => {
    Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, h);
  await setHidden(true);
  await new Promise((r) => setTimeout(r, 1500));
  const bg = (await inbound(large))[cam].framesReceived;
  await new Promise((r) => setTimeout(r, 2000));
  const bgAfter = (await inbound(large))[cam].framesReceived;
  assert.ok(bgAfter - bg <= 1, `a background tab still receives video: ${bgAfter - bg} frames in 2 s`);
  await setHidden(false);
  const back = (await inbound(large))[cam].framesDecoded;
  await waitStats(large, (s) => s[cam].framesDecoded > back + 10, 10000, 'video back in the foreground', env.server);
  for (const p of [alice, small, large]) await p.context().close();
});
