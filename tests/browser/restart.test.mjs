// A server that dies (kill -9) in the middle of an encrypted meeting of three and comes back on
// the same data directory and ports: every page is back by itself, with the id it had, none
// through the lobby, and all decode each other again; the record continues, says so, and
// verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, launchChromium, joinPage, inMeeting, waitStats, myId, until } from './harness.mjs';

/** Waits until every page decodes every other page's camera and hears its microphone. */
async function allDecode(pages, ids, ms, what) {
  for (const [i, page] of pages.entries()) {
    const others = ids.filter((_, j) => j !== i);
    await waitStats(page, (s) => others.every((o) => s[`${o}:camera`]?.framesDecoded > 5
      && s[`${o}:microphone`]?.packetsReceived > 0), ms, `${what}: page ${ids[i]} decoding ${others}`);
  }
}

/**
 * Frames decoded from everyone's camera, per page, on the page's current media connections,
 * with the tag those connections were given (see `tag`), if any.
 */
async function decoded(pages, ids) {
  return Promise.all(pages.map(async (page) => page.evaluate(async (all) => {
    const s = /** @type {any} */ (window).summitTest;
    const out = { tag: s.connectionsLabel(), frames: /** @type {Record<number, number>} */ ({}) };
    const tracks = s.tracks();
    for (const t of s.subscribing()?.getTransceivers() ?? []) {
      const m = tracks.find((/** @type {any} */ x) => x.mid === t.mid);
      if (!m || m.source !== 'camera' || !all.includes(m.participant)) continue;
      (await t.receiver.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') out.frames[m.participant] = r.framesDecoded; });
    }
    return out;
  }, ids)));
}

/** Tags each page's media connections, to tell later whether the page still has them. */
async function tag(pages, name) {
  for (const p of pages) await p.evaluate((n) => { /** @type {any} */ (window).summitTest.labelConnections(n); }, name);
}

/**
 * Waits until every page decodes every other's camera again: more than 5 frames past `before`
 * on the connections it had then, or more than 5 on new ones.
 */
async function allDecodeAgain(pages, ids, before, ms, what) {
  const end = Date.now() + ms;
  let now = await decoded(pages, ids);
  const again = (i, o) => {
    const was = now[i].tag !== null && now[i].tag === before[i].tag ? (before[i].frames[o] ?? 0) : 0;
    return (now[i].frames[o] ?? 0) > was + 5;
  };
  while (!pages.every((_, i) => ids.filter((_, j) => j !== i).every((o) => again(i, o)))) {
    if (Date.now() > end) throw new Error(`${what}: not all decoding again in ${ms} ms: ${JSON.stringify({ before, now })}`);
    await new Promise((r) => setTimeout(r, 250));
    now = await decoded(pages, ids);
  }
}

test('after kill -9, back after 2 s and after 20 s: everyone returns by themselves, as they were', async () => {
  const server = await startServer({ fixedPorts: true });
  const browser = await launchChromium();
  try {
    const inv = (name, ...args) => server.invite('restarted', name, ...args).url;
    const ana = await joinPage(browser, inv('Ana', '--role', 'host'));
    const ben = await joinPage(browser, inv('Ben', '--skip-lobby'));
    // Cai comes through the lobby: after the restart he must not be sent back to it.
    const caiCtx = await browser.newContext({ permissions: ['camera', 'microphone'] });
    const cai = await caiCtx.newPage();
    await cai.goto(inv('Cai', '--uses', '1'));
    await cai.getByRole('button', { name: 'Join' }).click();
    await ana.getByRole('listitem', { name: /^Cai \(/ }).getByRole('button', { name: 'Admit' }).click();
    await inMeeting(cai, 15000);
    const pages = [ana, ben, cai];
    const ids = await Promise.all(pages.map((p) => myId(p)));
    await allDecode(pages, ids, 30000, 'before');

    for (const down of [2000, 20000]) {
      await tag(pages, `before ${down}`);
      const before = await decoded(pages, ids);
      // The page's log of message types, from here on.
      await cai.evaluate(() => { /** @type {any} */ (window).summitTest.forgetReceived(); });
      await server.crash();
      await new Promise((r) => setTimeout(r, down));
      await server.restart();
      const back = Date.now();
      // Back by themselves (nobody clicks), with the ids they had, decoding each other anew.
      await allDecodeAgain(pages, ids, before, 30000, `after ${down / 1000} s down`);
      console.log(`back ${down / 1000} s after a crash: everyone decoding ${((Date.now() - back) / 1000).toFixed(1)} s after the restart`);
      assert.deepEqual(await Promise.all(pages.map((p) => myId(p))), ids, 'the same ids');
      const log = await cai.evaluate(() => /** @type {any} */ (window).summitTest.received());
      assert.ok(log.includes('welcome') && !log.includes('lobby'), `Cai was not sent to the lobby: ${log}`);
      for (const p of pages) {
        await p.locator('#e2ee-badge').filter({ hasText: 'End-to-end encrypted' }).waitFor({ timeout: 5000 });
      }
    }

    // The record continues across both restarts and verifies.
    const file = join(server.data, 'restarted.json');
    writeFileSync(file, server.summit('record', 'export', 'restarted', '--format', 'json'));
    assert.match(server.summit('record', 'verify', file), /^OK/);
    const md = server.summit('record', 'export', 'restarted', '--format', 'md');
    assert.equal(md.match(/The server restarted/g)?.length, 2, md);
    for (const p of pages) await p.context().close();
  } finally {
    await browser.close();
    await server.stop();
  }
});

/** The listener's language channel on its current connections: packets and sound so far. */
async function channel(page) {
  return page.evaluate(async () => {
    const s = /** @type {any} */ (window).summitTest;
    const mid = s.channelMid();
    const t = mid && s.subscribing()?.getTransceivers().find((/** @type {any} */ x) => x.mid === mid);
    let out = { fresh: s.connectionsLabel() === null, packets: 0, energy: 0 };
    if (t) (await t.receiver.getStats()).forEach((r) => { if (r.type === 'inbound-rtp') out = { ...out, packets: r.packetsReceived || 0, energy: r.totalAudioEnergy || 0 }; });
    return out;
  });
}

test('after kill -9, the interpreter has the booth microphone back and the listener hears the channel again', async () => {
  const server = await startServer({ fixedPorts: true });
  const browser = await launchChromium();
  try {
    server.summit('meeting', 'create', 'booths', '--languages', 'ru,zh');
    const inv = (name, ...args) => server.invite('booths', name, ...args).url;
    await joinPage(browser, inv('Speaker', '--role', 'host'));
    const anna = await joinPage(browser, inv('Anna', '--role', 'interpreter', '--interprets', 'ru-zh', '--skip-lobby'));
    const zh = await joinPage(browser, inv('Listener zh', '--role', 'observer', '--skip-lobby'));
    await anna.getByRole('button', { name: 'Take microphone' }).click();
    await anna.locator('#booth-status').getByText('You have the microphone').waitFor({ timeout: 5000 });
    await zh.getByLabel('Listen in').selectOption('zh');
    await until(async () => { const c = await channel(zh); return c.packets > 50 && c.energy > 0; }, 20000, 'the channel before');
    await tag([anna, zh], 'before');

    await server.crash();
    await new Promise((r) => setTimeout(r, 2000));
    await server.restart();
    // Nobody clicks: Anna's page takes the free microphone back, the listener's asks for zh
    // again, and the channel carries her voice on the listener's new connection.
    let last = null;
    await until(async () => { last = await channel(zh); return last.fresh && last.packets > 50 && last.energy > 0; }, 30000,
      'the channel again after the restart').catch((e) => { throw new Error(`${e.message}; last ${JSON.stringify(last)}`); });
    assert.equal(await zh.getByLabel('Listen in').inputValue(), 'zh');
    await anna.locator('#booth-status').getByText('You have the microphone').waitFor({ timeout: 5000 });
  } finally {
    await browser.close();
    await server.stop();
  }
});

/**
 * Codec and duration (s) of a media file as ffprobe reads it (from its last packet: a file cut
 * by a crash has no duration in its header), or null if it cannot be read.
 */
function probe(file) {
  try {
    const codec = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', file],
      { encoding: 'utf8' }).trim();
    const times = execFileSync('ffprobe', ['-v', 'error', '-select_streams', '0', '-show_entries', 'packet=pts_time',
      '-of', 'csv=p=0', file], { encoding: 'utf8' }).split('\n').map(Number).filter((t) => Number.isFinite(t));
    return { codec, duration: times.length ? Math.max(...times) - Math.min(...times) : 0, packets: times.length };
  } catch {
    return null;
  }
}

test('a recording cut by kill -9 leaves files that play up to the crash; the host is told and starts it again', async () => {
  const server = await startServer({ fixedPorts: true });
  const browser = await launchChromium();
  try {
    server.summit('meeting', 'create', 'cut', '--no-e2ee');
    const inv = (name, ...args) => server.invite('cut', name, ...args).url;
    const host = await joinPage(browser, inv('Host', '--role', 'host'));
    const guest = await joinPage(browser, inv('Guest', '--skip-lobby'));
    const [ih, ig] = [await myId(host), await myId(guest)];
    await waitStats(host, (s) => s[`${ig}:camera`]?.framesDecoded > 5, 20000, 'host decoding the guest');
    await host.getByRole('button', { name: 'Start recording' }).click();
    await guest.locator('#recording-badge').waitFor({ timeout: 5000 });
    const recorded = Date.now();
    await new Promise((r) => setTimeout(r, 6000));

    await server.crash();
    const ran = (Date.now() - recorded) / 1000;
    // Every track's file plays, and lasts about as long as the recording ran (what the writer
    // had not yet handed to the disk, at most a second or two, is lost with the process).
    const root = join(server.data, 'recordings', 'cut');
    const dir = join(root, readdirSync(root)[0]);
    const files = readdirSync(dir).filter((f) => f.endsWith('.ogg') || f.endsWith('.webm'));
    assert.equal(files.length, 4, `two cameras and two microphones: ${files.join(', ')}`);
    for (const f of files) {
      const p = probe(join(dir, f));
      assert.ok(p, `${f} does not play`);
      assert.equal(p.codec, f.endsWith('.ogg') ? 'opus' : 'vp8', f);
      assert.ok(p.duration > ran - 3 && p.duration < ran + 1, `${f} lasts ${p.duration} s of ${ran.toFixed(1)} s recorded`);
    }

    await new Promise((r) => setTimeout(r, 2000));
    await server.restart();
    // The host's page says so, and offers to start again; the others see no recording.
    const cut = host.getByRole('alert').filter({ hasText: 'Recording stopped by a server restart' });
    await cut.waitFor({ timeout: 20000 });
    // The guest's page is back once its badge goes (only the new welcome says no recording).
    await guest.locator('#recording-badge').waitFor({ state: 'hidden', timeout: 20000 });
    assert.ok(await guest.getByRole('alert').filter({ hasText: 'Recording stopped by a server restart' }).isHidden(),
      'only hosts are offered to start again');
    assert.equal(await myId(guest), ig);
    assert.equal(await myId(host), ih);
    await cut.getByRole('button', { name: 'Start recording' }).click();
    await guest.locator('#recording-badge').waitFor({ timeout: 10000 });
    await cut.waitFor({ state: 'hidden', timeout: 5000 });

    const md = server.summit('record', 'export', 'cut', '--format', 'md');
    const stops = md.match(/Recording stopped \(the server restarted\)\./g)?.length;
    assert.equal(stops, 1, md);
    assert.ok(md.indexOf('The server restarted') < md.indexOf('Recording stopped (the server restarted)'), md);
    assert.equal(md.match(/Host started recording\./g)?.length, 2, md);
  } finally {
    await browser.close();
    await server.stop();
  }
});
