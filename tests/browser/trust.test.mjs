// What a person relies on, in real Chromium: a wait in the lobby as long as a host takes, a
// reload that keeps the seat (the link gone from the address bar, nothing broken by the
// Content-Security-Policy), and a recording that gets no key unless the organizer's recording
// key checks out and "Recording" has been shown for a while.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverAndChromium, joinPage, waitStats, myId, until } from './harness.mjs';

const env = serverAndChromium();

/** Opens a link and clicks Join, collecting what the CSP refused; the page and that list. */
async function open(url) {
  const ctx = await env.browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await ctx.newPage();
  const refused = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) refused.push(m.text()); });
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  await page.getByRole('button', { name: 'Join' }).click();
  return { page, refused };
}

/** The host's participants panel row for `name`. */
const row = (page, name) => page.getByRole('listitem', { name: new RegExp(`^${name} \\(`) });

/** A delegate waits `ms` in meeting `m`'s lobby (a host there or arriving later), then decodes. */
async function waitInLobby(m, hostFirst, ms) {
  const hostUrl = env.server.invite(m, 'Hana Host', '--role', 'host').url;
  const host = hostFirst ? await joinPage(env.browser, hostUrl) : null;
  const { page: guest } = await open(env.server.invite(m, 'Wendy Waiting').url);
  const text = hostFirst ? 'will let you in shortly' : 'No host has joined yet';
  await guest.getByText(text).waitFor({ timeout: 10000 });
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 5000));
    // Still waiting, never told the connection was lost.
    assert.ok(await guest.getByText(text).isVisible(), `${m}: no longer waiting`);
    assert.ok(await guest.locator('#overlay').isHidden(), `${m}: ${await guest.locator('#overlay').textContent()}`);
  }
  const h = host ?? await joinPage(env.browser, hostUrl);
  // The participants panel opens by itself when someone waits.
  await row(h, 'Wendy Waiting').getByRole('button', { name: 'Admit' }).click();
  await guest.locator('#meeting').waitFor({ state: 'visible', timeout: 10000 });
  const hid = await myId(h);
  await waitStats(guest, (s) => s[`${hid}:camera`]?.framesDecoded > 10, 20000, `${m}: admitted after the wait, decoding`);
  for (const p of [h, guest]) await p.context().close();
}

test('a delegate waits a minute in the lobby, with and without a host there, then is admitted and decodes', async () => {
  // The two waits run side by side; each is longer than anything a page or the server
  // allowed before (a 7 s heartbeat, a 40 s DTLS handshake).
  await Promise.all([waitInLobby('wait-host', true, 60000), waitInLobby('wait-alone', false, 60000)]);
});

test('the address bar loses the link; a reload takes the same seat back without the lobby or a use', async () => {
  const host = await joinPage(env.browser, env.server.invite('reload', 'Hana Host', '--role', 'host').url);
  const { page: guest, refused } = await open(env.server.invite('reload', 'Ruth Reload', '--uses', '1').url);
  await guest.getByText('will let you in shortly').waitFor({ timeout: 10000 });
  const url = new URL(guest.url());
  assert.equal(url.search + url.hash, '', `the link's secret parts stay out of the address bar: ${guest.url()}`);
  await row(host, 'Ruth Reload').getByRole('button', { name: 'Admit' }).click();
  await guest.locator('#meeting').waitFor({ state: 'visible', timeout: 10000 });
  const id = await myId(guest);
  const h = await myId(host);
  await waitStats(guest, (s) => s[`${h}:camera`]?.framesDecoded > 5, 20000, 'guest decoding');
  await guest.reload();
  await guest.getByRole('button', { name: 'Join' }).click();
  // The one-use link is spent, and still the seat is taken back, past the lobby.
  await guest.locator('#meeting').waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(await myId(guest), id, 'the same session');
  await guest.locator('#e2ee-badge').filter({ hasText: 'End-to-end encrypted' }).waitFor({ timeout: 5000 });
  await waitStats(guest, (s) => s[`${h}:camera`]?.framesDecoded > 5, 20000, 'decoding again after the reload');
  await waitStats(host, (s) => s[`${id}:camera`]?.framesDecoded > 5, 20000, 'the host decodes the guest again');
  assert.deepEqual(refused, [], 'the page runs under its Content-Security-Policy without a refusal');
  for (const p of [host, guest]) await p.context().close();
});

/** Sets a meeting's recording key in the registry behind the organizer's back. */
function tamperRecordingKey(meeting, key) {
  execFileSync('python3', ['-c', `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE meetings SET recording_key = ? WHERE name = ?", (sys.argv[2], sys.argv[3]))
db.commit()`, join(env.server.data, 'summit.db'), key, meeting]);
}

/** The sealed keys a recording of `meeting` kept (none when no page gave any). */
function sealedKeys(meeting) {
  const root = join(env.server.data, 'recordings', meeting);
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((session) => {
    const f = join(root, session, 'keys.jsonl');
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : [];
  });
}

test('a recording key the organizer did not register gets nothing, and every page says so', async () => {
  const pub = env.server.summit('keygen', '--recording', '--out', join(env.server.data, 'org.key')).trim();
  env.server.summit('meeting', 'create', 'rec-tampered', '--recording-key', pub);
  // Whoever controls the server swaps in a key of their own, keeping the organizer's MAC.
  const theirs = env.server.summit('keygen', '--recording', '--out', join(env.server.data, 'theirs.key')).trim();
  tamperRecordingKey('rec-tampered', theirs);
  const inv = (name, ...args) => env.server.invite('rec-tampered', name, ...args).url;
  const host = await joinPage(env.browser, inv('Ada', '--role', 'host'));
  const lin = await joinPage(env.browser, inv('Lin', '--skip-lobby'));
  for (const p of [host, lin]) {
    await p.getByRole('alert').filter({ hasText: 'recording key that this meeting\'s organizer did not register' })
      .waitFor({ timeout: 10000 });
  }
  await host.getByRole('button', { name: 'Start recording' }).click();
  await lin.getByText('● Recording · started by Ada').waitFor({ timeout: 5000 });
  await new Promise((r) => setTimeout(r, 5000));
  await host.getByRole('button', { name: 'Stop recording' }).click();
  await host.getByText('● Recording').waitFor({ state: 'hidden', timeout: 5000 });
  assert.deepEqual(sealedKeys('rec-tampered'), [], 'no page sealed a key to the swapped one');
  for (const p of [host, lin]) await p.context().close();
});

test('a recording switched on and off within a second gets no key; one left on does', async () => {
  const pub = env.server.summit('keygen', '--recording', '--out', join(env.server.data, 'flash.key')).trim();
  env.server.summit('meeting', 'create', 'rec-flash', '--recording-key', pub);
  const inv = (name, ...args) => env.server.invite('rec-flash', name, ...args).url;
  const host = await joinPage(env.browser, inv('Ada', '--role', 'host'));
  const lin = await joinPage(env.browser, inv('Lin', '--skip-lobby'));
  const ids = await Promise.all([host, lin].map((p) => myId(p)));
  await waitStats(lin, (s) => s[`${ids[0]}:camera`]?.framesDecoded > 5, 20000, 'encrypted media flowing');
  // Straight off again: the badge came and went, and nothing was handed over.
  await host.getByRole('button', { name: 'Start recording' }).click();
  await host.getByRole('button', { name: 'Stop recording' }).click();
  await host.getByRole('button', { name: 'Start recording' }).waitFor({ timeout: 5000 });
  await lin.getByText('Ada stopped recording').waitFor({ timeout: 5000 });
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(sealedKeys('rec-flash'), []);
  // Left on: after two seconds on the screen, each page seals its key.
  await host.getByRole('button', { name: 'Start recording' }).click();
  await until(() => sealedKeys('rec-flash').length >= 2, 10000, 'both pages sealing their keys');
  await host.getByRole('button', { name: 'Stop recording' }).click();
  for (const p of [host, lin]) await p.context().close();
});
