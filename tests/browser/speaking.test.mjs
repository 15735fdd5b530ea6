// The speaking highlight in real Chromium, from the sound the page decoded (web/speaking.js, one
// getStats() a few times a second instead of an analyser per track): in an encrypted meeting,
// Ben's page highlights Ana's tile while her microphone sounds (Chromium's fake one beeps), and
// drops the highlight once she mutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, waitStats, myId, until } from './harness.mjs';

const env = serverAndChromium();

/**
 * Whether `page` shows `who`'s tile as speaking.
 * @param {import('playwright-core').Page} page
 * @param {number} who
 */
async function speakingOn(page, who) {
  return page.evaluate((id) => !!document.querySelector(`.tile[data-participant="${id}"].speaking`), who);
}

test('the tile of whoever is heard is highlighted, and not once they mute', async () => {
  const ana = await joinPage(env.browser, env.server.invite('speaking-1', 'Ana', '--skip-lobby').url);
  const ben = await joinPage(env.browser, env.server.invite('speaking-1', 'Ben', '--skip-lobby').url);
  const a = await myId(ana);
  await waitStats(ben, (s) => s[`${a}:microphone`]?.audioEnergy > 0, 30000, 'Ben hearing Ana', env.server);
  await until(() => speakingOn(ben, a), 10000, 'Ana\'s tile highlighted on Ben\'s page while she is heard');

  await ana.getByRole('button', { name: 'Microphone' }).click();
  await until(async () => !(await speakingOn(ben, a)), 5000, 'the highlight gone once Ana muted');
  // And it stays off: nothing of her is heard.
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 250));
    assert.ok(!(await speakingOn(ben, a)), 'Ana\'s tile highlighted again while she is muted');
  }
});
