// Interpretation in real Chromium: a speaker on the floor, two interpreters sharing a ru-zh
// booth, a listener who picks Chinese and one who stays on the floor. What each hears, a
// handover (the channel track keeps flowing, no renegotiation), the holder dropping (the lease
// returns within 2 s), and the same in an end-to-end encrypted meeting, where the SFrame key
// ids show whose voice the channel carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, waitStats, inbound, myId, e2eeReport, until } from './harness.mjs';
import { splitKid } from '../../web/keyring.js';

const env = serverAndChromium();

/** The listener's channel track as its subscribing connection reports it (or null). */
async function channelStats(page) {
  return page.evaluate(async () => {
    const s = /** @type {any} */ (window).summitTest;
    const mid = s.channelMid();
    const t = mid && s.subscribing()?.getTransceivers().find((x) => x.mid === mid);
    if (!t) return null;
    let out = null;
    (await t.receiver.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp') out = { packetsReceived: r.packetsReceived || 0, audioEnergy: r.totalAudioEnergy || 0 };
    });
    return out;
  });
}

/** Waits until the channel track has received more than `n` packets and some sound. */
async function channelBeyond(page, n, what) {
  let last = null;
  await until(async () => {
    last = await channelStats(page);
    return last && last.packetsReceived > n && last.audioEnergy > 0;
  }, 20000, `${what} (last ${JSON.stringify(last)})`);
  return /** @type {any} */ (last);
}

/** Audio tracks this page receives with packets, by "participant:source" (the channel apart). */
async function audioFrom(page) {
  const s = await inbound(page);
  return Object.keys(s).filter((k) => k.endsWith(':microphone') && s[k].packetsReceived > 0);
}

const offers = (page) => page.evaluate(() => /** @type {any} */ (window).summitTest.offers());
const booth = (page) => page.locator('#booth-status');

/** The meeting of the issue: speaker, interpreters A and B (ru-zh), listeners zh and floor. */
async function summit(meeting, ...create) {
  env.server.summit('meeting', 'create', meeting, '--languages', 'ru,zh', ...create);
  const inv = (name, ...args) => env.server.invite(meeting, name, ...args).url;
  const speaker = await joinPage(env.browser, inv('Speaker', '--role', 'host'));
  const interpreter = ['--role', 'interpreter', '--interprets', 'ru-zh', '--skip-lobby'];
  const a = await joinPage(env.browser, inv('Anna', ...interpreter));
  const b = await joinPage(env.browser, inv('Boris', ...interpreter));
  const zh = await joinPage(env.browser, inv('Listener zh', '--role', 'observer', '--skip-lobby'));
  const floor = await joinPage(env.browser, inv('Listener floor', '--role', 'observer', '--skip-lobby'));
  const ids = { speaker: await myId(speaker), a: await myId(a), b: await myId(b) };
  // Anna takes the microphone in her booth bar; the listener picks Chinese.
  await a.getByRole('button', { name: 'Take microphone' }).click();
  await booth(a).getByText('You have the microphone').waitFor({ timeout: 5000 });
  await zh.getByLabel('Listen in').selectOption('zh');
  return { speaker, a, b, zh, floor, ids };
}

test('a listener on zh hears the interpreter over the floor; a handover keeps the track; the lease returns when the holder drops', async () => {
  const m = await summit('interp-1', '--no-e2ee');
  const { ids } = m;
  // The zh listener: the channel (interpreter audio decoded) and the floor (the speaker).
  const before = await channelBeyond(m.zh, 50, 'the zh listener receives the channel');
  await waitStats(m.zh, (s) => s[`${ids.speaker}:microphone`]?.audioEnergy > 0, 20000, 'the zh listener hears the floor');
  assert.deepEqual(await audioFrom(m.zh), [`${ids.speaker}:microphone`], 'no interpreter as a track of its own');
  // The floor listener: the speaker only, no channel at all.
  await waitStats(m.floor, (s) => s[`${ids.speaker}:microphone`]?.audioEnergy > 0, 20000, 'the floor listener hears the floor');
  assert.equal(await channelStats(m.floor), null);
  assert.deepEqual(await audioFrom(m.floor), [`${ids.speaker}:microphone`]);
  // The mix: the floor under the channel at 20 %, adjustable.
  assert.ok(await m.zh.getByLabel('Volume of the original under the interpretation').isVisible());
  const volumes = await m.zh.evaluate(() => [...document.querySelectorAll('#speaker-audio audio')].map((x) => /** @type {HTMLAudioElement} */ (x).volume));
  assert.ok(volumes.includes(0.2), `floor at 20 %: ${volumes}`);
  // The host sees who holds the booth's microphone.
  await m.speaker.getByRole('button', { name: 'Participants' }).click();
  await m.speaker.getByText('ru-zh into zh: Anna 🎙, Boris — Anna holds the microphone').waitFor({ timeout: 5000 });

  // Handover: Boris has the microphone at once; the listener's one track keeps flowing.
  const offersBefore = await offers(m.zh);
  await m.a.getByRole('button', { name: 'Hand over to Boris' }).click();
  await booth(m.b).getByText('You have the microphone').waitFor({ timeout: 5000 });
  const after = await channelBeyond(m.zh, before.packetsReceived + 100, 'the channel keeps flowing after the handover');
  assert.ok(after.audioEnergy > before.audioEnergy);
  assert.equal(await offers(m.zh), offersBefore, 'no renegotiation at the handover');
  await m.speaker.getByText('Boris holds the microphone').waitFor({ timeout: 5000 });

  // Boris's connection drops: the microphone is free again within 2 s, Anna takes it, and
  // the channel carries her voice on the same track.
  await m.b.context().close();
  await booth(m.a).getByText('The microphone is free.').waitFor({ timeout: 2000 });
  await m.a.getByRole('button', { name: 'Take microphone' }).click();
  const later = await channelStats(m.zh);
  await channelBeyond(m.zh, later.packetsReceived + 50, 'the channel flows again from Anna');
  assert.equal(await offers(m.zh), offersBefore);
  for (const p of [m.speaker, m.a, m.zh, m.floor]) await p.context().close();
});

test('encrypted: the channel decrypts, and its key ids follow the handover', async () => {
  const m = await summit('interp-2');
  const { ids } = m;
  await channelBeyond(m.zh, 50, 'the zh listener decrypts the channel');
  await waitStats(m.zh, (s) => s[`${ids.speaker}:microphone`]?.audioEnergy > 0, 20000, 'the zh listener hears the floor');
  assert.deepEqual(await audioFrom(m.floor), [`${ids.speaker}:microphone`]);
  assert.equal(await channelStats(m.floor), null);
  /** Senders of the audio frames the listener's page decrypted while capturing. */
  const senders = async () => {
    await m.zh.evaluate(() => /** @type {any} */ (window).summitTest.frames().capture(150));
    let frames = [];
    await until(async () => {
      frames = (await e2eeReport(m.zh)).frames.filter((f) => f.kind === 'audio' && f.plain && f.kid);
      return frames.length >= 100;
    }, 15000, 'audio frames captured');
    return new Set(frames.map((f) => splitKid(BigInt(f.kid)).sender));
  };
  let s = await senders();
  assert.ok(s.has(ids.a) && !s.has(ids.b), `before the handover: ${[...s]}`);
  await m.a.getByRole('button', { name: 'Hand over to Boris' }).click();
  await booth(m.b).getByText('You have the microphone').waitFor({ timeout: 5000 });
  await until(async () => {
    s = await senders();
    return s.has(ids.b) && !s.has(ids.a);
  }, 20000, 'the channel carries Boris, decrypted with his key');
  const r = await e2eeReport(m.zh);
  assert.ok(r.stats.decryptedAudio > 100, JSON.stringify(r.stats));
  for (const p of [m.speaker, m.a, m.b, m.zh, m.floor]) await p.context().close();
});

test('a host invites an interpreter from the page: the pair is asked for, and the booth appears', async () => {
  env.server.summit('meeting', 'create', 'interp-3', '--no-e2ee');
  const host = await joinPage(env.browser, env.server.invite('interp-3', 'Host', '--role', 'host').url);
  // No channels yet: no "Listen in".
  assert.ok(await host.getByLabel('Listen in').isHidden());
  await host.getByRole('button', { name: 'Invite' }).click();
  await host.getByLabel('Name').fill('Dora');
  assert.ok(await host.getByLabel('Interprets between').isHidden());
  await host.getByLabel('Role').selectOption('interpreter');
  await host.getByLabel('Interprets between').fill('de-fr');
  await host.getByRole('button', { name: 'Create link' }).click();
  const link = host.locator('#invite-link');
  await until(async () => (await link.inputValue()).includes('invite='), 5000, 'an invitation link');
  const url = await link.inputValue();
  await host.getByRole('button', { name: 'Close' }).click();
  // Dora waits in the lobby; the host admits her.
  const ctx = await env.browser.newContext({ permissions: ['camera', 'microphone'] });
  const dora = await ctx.newPage();
  await dora.goto(url);
  await dora.getByRole('button', { name: 'Join' }).click();
  await host.getByRole('button', { name: 'Admit' }).click();
  await dora.locator('#booth-title').getByText('Booth de–fr · speaking into French (fr)').waitFor({ timeout: 10000 });
  // Going live unmutes; muting while live is flagged in the booth bar.
  const mic = dora.getByRole('button', { name: 'Microphone', exact: true });
  await mic.click();
  await until(async () => (await mic.getAttribute('aria-pressed')) === 'false', 5000, 'Dora muted');
  await dora.getByRole('button', { name: 'Take microphone' }).click();
  await dora.locator('#booth-status').getByText('You have the microphone: listeners of this channel hear you.').waitFor({ timeout: 5000 });
  assert.equal(await mic.getAttribute('aria-pressed'), 'true');
  await mic.click();
  await dora.locator('#booth-status').getByText('but yours is muted').waitFor({ timeout: 5000 });
  await dora.getByRole('button', { name: 'Switch to German (de)' }).click();
  await dora.locator('#booth-title').getByText('speaking into German (de)').waitFor({ timeout: 5000 });
  // The pair's languages became channels for everyone.
  await until(async () => (await host.getByLabel('Listen in').locator('option').allTextContents()).join('|')
    === 'Floor (original)|German (de)|French (fr)', 5000, 'German and French on offer');
  for (const p of [host, dora]) await p.context().close();
});
