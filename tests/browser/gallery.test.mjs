// The gallery (web/gallery.js) in real Chromium: tiles keep the camera's 16:9 shape; once there
// are more people than fit the window, the page says "Page 1 of 2" and "Next page" shows the
// next tiles; a tile on another page costs no video (the server sends only what is shown) but
// its sound still comes; the pages share one video slot, handed from Ben to Cleo and back with
// no frame of either taken for the other's; and a window with room for everyone shows them all
// on one page (that a tile shown again gets its video back is simulcast.test.mjs's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, waitStats, inbound, myId, until, e2eeReport } from './harness.mjs';
import { capacity, fit, MAX_TILES, MIN_TILE_WIDTH } from '../../web/gallery.js';

const env = serverAndChromium();

/**
 * The tiles the page shows now, in order: whose, and their size in CSS pixels.
 * @param {import('playwright-core').Page} page
 */
async function shownTiles(page) {
  return page.evaluate(() => [...document.querySelectorAll('#grid .tile')]
    .filter((t) => !(/** @type {HTMLElement} */ (t)).hidden)
    .map((t) => {
      const r = t.getBoundingClientRect();
      return { who: /** @type {HTMLElement} */ (t).dataset.participant, width: r.width, height: r.height };
    }));
}

/** @param {import('playwright-core').Page} page */
async function pageLabel(page) {
  return page.evaluate(() => {
    const pager = /** @type {HTMLElement} */ (document.getElementById('pager'));
    return pager.hidden ? '' : pager.querySelector('[role="status"]')?.textContent ?? '';
  });
}

/**
 * Frames of `key` the page has received so far (0 before any).
 * @param {import('playwright-core').Page} page
 * @param {string} key
 */
async function framesOf(page, key) {
  return (await inbound(page))[key]?.framesReceived ?? 0;
}

/**
 * Whether no frame of `key` arrives over 2 s (one may be on its way when it stops).
 * @param {import('playwright-core').Page} page
 * @param {string} key
 */
async function noVideo(page, key) {
  const before = await framesOf(page, key);
  await new Promise((r) => setTimeout(r, 2000));
  return (await framesOf(page, key)) - before <= 1;
}

test('16:9 tiles, paged when more people than fit, and a page out of sight costs no video', async () => {
  const meeting = 'gallery-1';
  const ana = await joinPage(env.browser, env.server.invite(meeting, 'Ana', '--skip-lobby').url);
  // Room for two tiles of the smallest size side by side, and one row.
  await ana.setViewportSize({ width: 640, height: 340 });
  const ben = await myId(await joinPage(env.browser, env.server.invite(meeting, 'Ben', '--skip-lobby').url));
  const cleo = await myId(await joinPage(env.browser, env.server.invite(meeting, 'Cleo', '--skip-lobby').url));

  // Three tiles (Ana's own first), two a page.
  await until(async () => (await pageLabel(ana)) === 'Page 1 of 2', 10000, 'Ana sees "Page 1 of 2"');
  const first = await shownTiles(ana);
  assert.deepEqual(first.map((t) => t.who), ['self', String(ben)], `page 1: ${JSON.stringify(first)}`);
  for (const t of first) {
    assert.ok(Math.abs(t.width / t.height - 16 / 9) < 0.03, `a tile of ${t.width} by ${t.height} is not 16:9`);
  }
  assert.ok(await ana.getByRole('button', { name: 'Previous page' }).isDisabled(), 'Previous page enabled on the first page');

  // Ben's video plays; Cleo's, on the next page, is not sent, while her sound is.
  await waitStats(ana, (s) => s[`${ben}:camera`]?.framesDecoded > 20, 30000, 'Ana decoding Ben', env.server);
  await waitStats(ana, (s) => s[`${cleo}:microphone`]?.audioEnergy > 0, 30000, 'Ana hearing Cleo', env.server);
  assert.ok(await noVideo(ana, `${cleo}:camera`), 'Cleo\'s video arrives though her tile is on page 2');

  // The next page: Cleo alone, larger, and her video comes; Ben's stops.
  await ana.getByRole('button', { name: 'Next page' }).click();
  await until(async () => (await pageLabel(ana)) === 'Page 2 of 2', 5000, 'Ana sees "Page 2 of 2"');
  const second = await shownTiles(ana);
  assert.deepEqual(second.map((t) => t.who), [String(cleo)], `page 2: ${JSON.stringify(second)}`);
  assert.ok(Math.abs(second[0].width / second[0].height - 16 / 9) < 0.03, `Cleo's tile is ${second[0].width} by ${second[0].height}`);
  const decoded = (await inbound(ana))[`${cleo}:camera`]?.framesDecoded ?? 0;
  await waitStats(ana, (s) => (s[`${cleo}:camera`]?.framesDecoded ?? 0) > decoded + 20, 30000, 'Ana decoding Cleo on page 2', env.server);
  assert.ok(await noVideo(ana, `${ben}:camera`), 'Ben\'s video still arrives with his tile on page 1');

  // Back to page 1: the slot carries Ben again, and his frames open on it.
  await ana.getByRole('button', { name: 'Previous page' }).click();
  await until(async () => (await inbound(ana))[`${ben}:camera`] !== undefined, 5000, 'the slot carrying Ben again');
  const again = (await inbound(ana))[`${ben}:camera`]?.framesDecoded ?? 0;
  await waitStats(ana, (s) => (s[`${ben}:camera`]?.framesDecoded ?? 0) > again + 20, 30000, 'Ana decoding Ben back on page 1', env.server);
  // The meeting is encrypted: a slot moving between senders is no misrouting.
  const report = await e2eeReport(ana);
  assert.ok(report, 'the meeting is not encrypted');
  assert.equal(report.stats.misrouted, 0, `frames counted as misrouted: ${JSON.stringify(report.lines)}`);

  // A window with room for everyone: one page, no pager, all three tiles.
  await ana.setViewportSize({ width: 1280, height: 720 });
  await until(async () => (await pageLabel(ana)) === '' && (await shownTiles(ana)).length === 3, 5000, 'all three tiles on one page');
});

test('the gallery\'s arithmetic: how many tiles a page holds, and a size at which they fit', () => {
  assert.equal(capacity(624, 200, 8), 2, 'two across, one down');
  assert.equal(capacity(100, 50, 8), 1, 'a page always holds one');
  assert.equal(capacity(10000, 10000, 8), MAX_TILES);
  // Over many areas and counts: the tiles are 16:9 and their rows fit the area, at least the
  // smallest size wherever the page's count came from capacity().
  for (let i = 0; i < 2000; i++) {
    const width = 200 + ((i * 7919) % 3000);
    const height = 150 + ((i * 104729) % 2000);
    const n = 1 + (i % capacity(width, height, 8));
    const { cols, tileWidth, tileHeight } = fit(n, width, height, 8);
    const rows = Math.ceil(n / cols);
    const where = `${n} tiles in ${width} by ${height}: ${cols} across, ${tileWidth} by ${tileHeight}`;
    assert.ok(cols * tileWidth + (cols - 1) * 8 <= width && rows * tileHeight + (rows - 1) * 8 <= height, `overflows: ${where}`);
    assert.ok(Math.abs(tileWidth / tileHeight - 16 / 9) < 0.02, `not 16:9: ${where}`);
    if (width >= MIN_TILE_WIDTH && height >= MIN_TILE_WIDTH * 9 / 16) assert.ok(tileWidth >= MIN_TILE_WIDTH - 1, `smaller than a tile may be: ${where}`);
  }
});
