// A page in a meeting of twenty more: `summit-bench peers` joins twenty simulated participants
// (real Opus and VP8, the first three speaking by their RFC 6464 levels), and a Chromium page in
// a small window receives no more than it shows: the three loudest microphones through its
// speaker slots, and video only for the tiles of the gallery page it shows, through as many
// video slots as it shows tiles; the next page moves the slots, with no new offer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { serverAndChromium, joinPage, until, SUMMIT } from './harness.mjs';

const env = serverAndChromium();
const PEERS = 20;
const BENCH = process.env.SUMMIT_BENCH_BIN || join(dirname(SUMMIT), 'summit-bench');

/** What flows into the page now, per receiving m-line: bytes, and frames decoded for video. */
const flows = (page) => page.evaluate(async () => {
  const sub = /** @type {any} */ (window).summitTest.subscribing();
  /** @type {Record<string, {kind: string, bytes: number}>} */
  const out = {};
  for (const t of sub.getTransceivers()) {
    if (!t.mid) continue;
    (await t.receiver.getStats()).forEach((/** @type {any} */ r) => {
      if (r.type === 'inbound-rtp') out[t.mid] = { kind: r.kind, bytes: r.bytesReceived || 0 };
    });
  }
  return out;
});

/** The receiving m-lines of video, active or not, and the tiles showing a picture and not. */
const videoState = (page) => page.evaluate(() => {
  const sub = /** @type {any} */ (window).summitTest.subscribing();
  const lines = sub.getTransceivers().filter((/** @type {any} */ t) => t.mid && t.receiver.track.kind === 'video').length;
  const tiles = [...document.querySelectorAll('#grid > .tile:not(.self)')].map((el) => {
    const v = /** @type {HTMLVideoElement} */ (el.querySelector('video'));
    return { id: /** @type {HTMLElement} */ (el).dataset.participant, shown: !(/** @type {HTMLElement} */ (el).hidden), picture: !!v.srcObject, frames: v.getVideoPlaybackQuality().totalVideoFrames };
  });
  return { lines, offers: /** @type {any} */ (window).summitTest.offers(), tiles };
});

/** The m-lines of each kind whose bytes grew between two readings. */
function growing(a, b) {
  const n = { audio: 0, video: 0 };
  for (const [mid, x] of Object.entries(b)) {
    if (x.bytes > (a[mid]?.bytes ?? 0)) n[/** @type {'audio' | 'video'} */ (x.kind)] += 1;
  }
  return n;
}

test('with twenty simulated participants, a page receives three microphones and the video of the tiles it shows', async () => {
  const work = mkdtempSync(join(tmpdir(), 'summit-peers-'));
  // The simulated pages do not encrypt frames.
  env.server.summit('meeting', 'create', 'peers-1', '--no-e2ee');
  const links = [];
  for (let i = 1; i <= PEERS; i++) links.push(env.server.invite('peers-1', `Peer ${i}`, '--skip-lobby').url);
  writeFileSync(join(work, 'links'), `${links.join('\n')}\n`);
  const peers = spawn(BENCH, ['--work', join(work, 'bench'), 'peers', '--server', env.server.url, '--links', join(work, 'links')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let said = '';
  peers.stdout.on('data', (d) => { said += d; });
  peers.stderr.on('data', (d) => { said += d; });
  try {
    await until(() => said.includes('simulated participants joined'), 90000, `the simulated participants joining: ${said}`);
    const page = await joinPage(env.browser, env.server.invite('peers-1', 'Ada', '--skip-lobby').url, undefined, { width: 800, height: 520 });
    await until(async () => growing({}, await flows(page)).audio >= 3, 20000, 'the page hearing three speakers');
    // What the page shows: its gallery page's tiles (one of them its own), out of 21.
    const shown = await page.evaluate(() => document.querySelectorAll('#grid > .tile:not([hidden]):not(.self)').length);
    const pages = await page.getByRole('status').filter({ hasText: /^Page 1 of / }).textContent();
    assert.ok(shown < PEERS, `the gallery shows ${shown} of ${PEERS} others (${pages})`);
    // Over three seconds, after the hidden tiles' video has had time to stop.
    await new Promise((r) => setTimeout(r, 3000));
    const a = await flows(page);
    await new Promise((r) => setTimeout(r, 3000));
    const n = growing(a, await flows(page));
    console.log(`shown ${shown} tiles (${pages}); flowing: ${n.audio} microphones, ${n.video} videos, of ${PEERS} participants`);
    assert.ok(n.audio <= 3, `${n.audio} microphones flow to the page`);
    assert.ok(n.video <= shown, `${n.video} videos flow for ${shown} tiles shown`);
    assert.ok(n.video > 0, 'no video flows at all');
    // Video slots: no more video m-lines than tiles shown, whoever publishes.
    const before = await videoState(page);
    // (A page of this window has room for one tile more: its own, on the first page; and one
    // m-line more is the screen slot.)
    assert.ok(before.lines <= shown + 2, `${before.lines} video m-lines for ${shown} tiles shown`);
    const pictured = (/** @type {any} */ st) => st.tiles.filter((/** @type {any} */ t) => t.shown && t.picture).map((/** @type {any} */ t) => t.id);
    assert.deepEqual(before.tiles.filter((t) => !t.shown && t.picture), [], 'a hidden tile holds a picture');
    // The next page's tiles get their video instead, through the same slots: no new offer.
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByRole('status').filter({ hasText: /^Page 2 of / }).waitFor({ timeout: 5000 });
    await until(async () => {
      const st = await videoState(page);
      return st.tiles.filter((t) => t.shown).every((t) => t.picture) && st.tiles.every((t) => t.shown || !t.picture);
    }, 10000, 'the slots moving to the second page\'s tiles');
    const f0 = await videoState(page);
    await new Promise((r) => setTimeout(r, 3000));
    const after = await videoState(page);
    const decoding = after.tiles.filter((t) => t.shown && t.frames > (f0.tiles.find((x) => x.id === t.id)?.frames ?? 0));
    console.log(`page 2: ${pictured(after).length} tiles with a picture, ${decoding.length} decoding; ${after.lines} video m-lines; offers ${before.offers} -> ${after.offers}`);
    assert.equal(after.offers, before.offers, 'paging made a new offer');
    assert.equal(after.lines, before.lines, 'paging changed the video m-lines');
    assert.ok(decoding.length > 0, 'no tile of the second page decodes video');
    await page.context().close();
  } finally {
    peers.kill('SIGINT');
  }
});
