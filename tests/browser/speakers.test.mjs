// The loudest speakers in real Chromium: each page hears the meeting through a few speaker
// slots that the server hands from speaker to speaker by their RFC 6464 levels (no new offer),
// and the speaker view shows the dominant speaker large. Chromium's fake microphone is the same
// beep in every page, so each page here speaks through a WebAudio tone the test switches on and
// off. Encrypted, as meetings are by default: the levels stay readable, the sound does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, myId, until, inbound } from './harness.mjs';

// Two slots, so that four people are more than the slots.
const env = serverAndChromium({ args: ['--audio-slots', '2'] });

/** Runs in each page before its scripts: its microphone is a tone, off until `__tone(true)`. */
function toneMicrophone() {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  /** @type {GainNode[]} */
  const gains = [];
  /** @type {any} */ (window).__tone = (/** @type {boolean} */ on) => {
    for (const g of gains) g.gain.value = on ? 0.5 : 0;
  };
  navigator.mediaDevices.getUserMedia = async (c) => {
    const s = await real(c);
    if (!c?.audio) return s;
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    osc.frequency.value = 300 + 100 * gains.length;
    const gain = ctx.createGain();
    gain.gain.value = 0;
    gains.push(gain);
    const dest = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    for (const t of s.getAudioTracks()) { s.removeTrack(t); t.stop(); }
    s.addTrack(dest.stream.getAudioTracks()[0]);
    return s;
  };
}

/** @param {import('playwright-core').Page} page @param {boolean} on */
const tone = (page, on) => page.evaluate((v) => /** @type {any} */ (window).__tone(v), on);

/** The participant the page shows large, if it is in the speaker view. */
const featured = (page) => page.evaluate(() => {
  const t = document.querySelector('#grid.speaker-view > .tile.featured');
  return t ? Number(/** @type {HTMLElement} */ (t).dataset.participant) : null;
});

/** Whose microphones the page's speaker slots carry, as the page was told. */
const slots = (page) => page.evaluate(() => /** @type {any} */ (window).summitTest.tracks()
  .filter((/** @type {any} */ t) => t.source === 'microphone').map((/** @type {any} */ t) => t.participant));

/** Whether `page` shows `who`'s tile as speaking (from the sound it decoded). */
const highlighted = (page, who) =>
  page.evaluate((id) => !!document.querySelector(`.tile[data-participant="${id}"].speaking`), who);

test('the speaker view follows who speaks, through two slots handed over without a new offer', async () => {
  const names = ['Ana', 'Ben', 'Cleo', 'Dan'];
  const pages = [];
  for (const n of names) {
    const page = await joinPage(env.browser, env.server.invite('speakers-1', n, '--skip-lobby').url, toneMicrophone);
    // Sound alone: four decoders of video would measure the machine more than the slots.
    await page.getByRole('button', { name: 'Camera' }).click();
    pages.push(page);
  }
  const [ana, ben, cleo, dan] = pages;
  const [a, , c] = await Promise.all([myId(ana), myId(ben), myId(cleo)]);
  await dan.getByRole('button', { name: 'Speaker view' }).click();
  assert.equal(await dan.getByRole('button', { name: 'Speaker view' }).getAttribute('aria-pressed'), 'true');
  await until(async () => (await slots(dan)).length > 0, 20000, 'Dan\'s speaker slots carrying someone');
  const offers = await dan.evaluate(() => /** @type {any} */ (window).summitTest.offers());

  // Ana speaks: Dan hears her, sees her highlighted and large.
  let t0 = Date.now();
  await tone(ana, true);
  await until(async () => (await slots(dan)).includes(a), 10000, 'a slot of Dan\'s carrying Ana');
  await until(async () => (await inbound(dan))[`${a}:microphone`]?.audioEnergy > 0, 10000, 'Dan hearing Ana');
  await until(() => highlighted(dan, a), 10000, 'Ana highlighted on Dan\'s page');
  await until(async () => (await featured(dan)) === a, 10000, 'Ana large in Dan\'s speaker view');
  console.log(`Ana large on Dan's page ${Date.now() - t0} ms after she started`);

  // Ana stops, Cleo speaks: after Ana's hold a slot goes to Cleo, and the view follows.
  await tone(ana, false);
  t0 = Date.now();
  await tone(cleo, true);
  await until(async () => (await slots(dan)).includes(c), 10000, 'a slot of Dan\'s carrying Cleo');
  const heard = Date.now() - t0;
  await until(async () => (await inbound(dan))[`${c}:microphone`]?.audioEnergy > 0, 10000, 'Dan hearing Cleo');
  await until(async () => (await featured(dan)) === c, 10000, 'Cleo large in Dan\'s speaker view');
  console.log(`Cleo on a slot of Dan's ${heard} ms, large ${Date.now() - t0} ms after she started`);
  await until(async () => !(await highlighted(dan, a)), 5000, 'Ana no longer highlighted');
  await until(() => highlighted(dan, c), 5000, 'Cleo highlighted');

  // Never more than the two slots, and no renegotiation for any of it.
  assert.ok((await slots(dan)).length <= 2, `Dan's slots: ${await slots(dan)}`);
  const receiving = await dan.evaluate(() => /** @type {any} */ (window).summitTest.subscribing().getTransceivers()
    .filter((/** @type {RTCRtpTransceiver} */ t) => t.receiver.track.kind === 'audio' && t.currentDirection !== 'inactive').length);
  assert.ok(receiving <= 2, `Dan receives ${receiving} audio streams`);
  assert.equal(await dan.evaluate(() => /** @type {any} */ (window).summitTest.offers()), offers, 'an offer for a change of speaker');

  // Back to the gallery: everyone in tiles of one size again.
  await dan.getByRole('button', { name: 'Speaker view' }).click();
  assert.equal(await featured(dan), null);
  for (const p of pages) await p.context().close();
});
