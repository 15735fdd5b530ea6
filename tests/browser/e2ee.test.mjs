// End-to-end encrypted meetings in real Chromium: participants with the key decode each other
// through SFrame, frames captured from the meeting decrypt with an independent implementation
// (the Rust `sframe` crate), and one whose link lost its fragment receives packets but decodes
// nothing. e2ee-rotation.test.mjs and e2ee-paths.test.mjs hold the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serverAndChromium, joinPage, waitStats, myId, e2eeReport, until, unhex } from './harness.mjs';
import { splitKid } from '../../web/keyring.js';
import { decodeHeader } from '../../web/sframe.js';

const env = serverAndChromium();
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const safetyCode = (page) => page.locator('#safety-code').textContent();

test('two participants with the key decode each other; the frames decrypt with the sframe crate', async () => {
  const alice = await joinPage(env.browser, env.server.invite('enc-1', 'Alice', '--role', 'host').url);
  const bob = await joinPage(env.browser, env.server.invite('enc-1', 'Bob', '--skip-lobby').url);
  const [a, b] = [await myId(alice), await myId(bob)];
  for (const [page, from] of [[alice, b], [bob, a]]) {
    await waitStats(page, (s) => s[`${from}:camera`]?.framesDecoded > 10 && s[`${from}:microphone`]?.audioEnergy > 0,
      20000, `decoding ${from}'s video and hearing their audio`);
  }
  // Captured once both kinds decrypt: the first frames after joining may all be audio, or
  // come before the key (in a full run on a busy machine, the first 40 held no decrypted video).
  await bob.evaluate(() => /** @type {any} */ (window).summitTest.frames().capture(40));
  for (const page of [alice, bob]) {
    const r = await e2eeReport(page);
    assert.ok(r.stats.encrypted > 20 && r.stats.decryptedVideo > 10 && r.stats.decryptedAudio > 20, JSON.stringify(r.stats));
    assert.equal(await page.locator('#e2ee-badge').textContent(), '🔒 End-to-end encrypted');
    assert.ok(await page.locator('#e2ee-banner').isHidden());
  }
  // Both pages show the same safety code, in digit groups.
  await alice.getByRole('button', { name: 'Participants' }).click();
  await bob.getByRole('button', { name: 'Participants' }).click();
  await until(async () => /^\d{5} \d{5} \d{5}$/.test(await safetyCode(alice))
    && (await safetyCode(alice)) === (await safetyCode(bob)), 5000, 'the same safety code on both pages');

  // Chat is sealed on the wire and readable on the other side.
  await alice.getByRole('button', { name: 'Chat' }).click();
  await alice.getByLabel('Message').fill('Only for the delegations');
  await alice.getByRole('button', { name: 'Send' }).click();
  await bob.getByRole('button', { name: 'Chat' }).click();
  await bob.getByText('Only for the delegations').waitFor({ timeout: 5000 });
  // Someone who comes later cannot read it (the keys moved on), and is told so in one line.
  const carol = await joinPage(env.browser, env.server.invite('enc-1', 'Carol', '--skip-lobby').url);
  await carol.getByRole('button', { name: 'Chat' }).click();
  await carol.getByText('1 earlier message was sent before you joined').waitFor({ timeout: 5000 });
  assert.equal(await carol.getByText('Only for the delegations').count(), 0);
  await carol.context().close();

  // Frames as Bob received them (the SFU's output), with Bob's keys: the sframe crate opens
  // each to what Bob's browser decrypted.
  const r = await e2eeReport(bob);
  const frames = r.frames.filter((f) => f.plain && f.kid && splitKid(BigInt(f.kid)).sender === a);
  assert.ok(frames.some((f) => f.kind === 'video') && frames.some((f) => f.kind === 'audio'), 'captured both kinds');
  const dir = mkdtempSync(join(tmpdir(), 'summit-sframe-'));
  try {
    const file = join(dir, 'captured.json');
    writeFileSync(file, JSON.stringify({ keys: r.keys, frames }));
    // Built with the rest by `cargo build --release --all-targets` (scripts/test).
    const check = join(ROOT, 'target', 'release', 'examples', 'sframe_check');
    assert.ok(existsSync(check), `${check} is missing: run cargo build --release --all-targets`);
    const out = execFileSync(check, [file],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    assert.match(out, new RegExp(`^${frames.length} frames decrypted`, 'm'), out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const p of [alice, bob]) await p.context().close();
});

test('without the fragment a participant receives packets, decodes nothing and is told why', async () => {
  const alice = await joinPage(env.browser, env.server.invite('enc-2', 'Alice', '--role', 'host').url);
  const a = await myId(alice);
  const full = env.server.invite('enc-2', 'Eve', '--skip-lobby').url;
  assert.ok(full.includes('#'));
  const eve = await joinPage(env.browser, full.split('#')[0]);
  await eve.evaluate(() => /** @type {any} */ (window).summitTest.frames().capture(20));
  await eve.getByText('your link has no meeting key').waitFor({ timeout: 5000 });
  assert.equal(await eve.locator('#e2ee-badge').textContent(), '⚠ Encrypted: no key');
  // Packets arrive for a good while, and not one frame decodes.
  const s = await waitStats(eve, (st) => st[`${a}:camera`]?.packetsReceived > 100
    && st[`${a}:microphone`]?.packetsReceived > 100, 20000, 'RTP from Alice reaching Eve');
  assert.equal(s[`${a}:camera`].framesDecoded, 0);
  assert.equal(s[`${a}:microphone`].audioEnergy, 0);
  const r = await e2eeReport(eve);
  assert.equal(r.stats.decrypted, 0);
  assert.ok(r.stats.noKey > 50, JSON.stringify(r.stats));
  // What the SFU forwarded is SFrame from Alice's key, after the few clear codec bytes.
  assert.ok(r.frames.length >= 10);
  for (const f of r.frames) {
    const body = unhex(f.frame).subarray(f.clearBytes);
    assert.equal(splitKid(decodeHeader(body).kid).sender, a, `frame ${f.frame.slice(0, 40)}`);
  }
  await eve.getByRole('group', { name: 'Alice' }).getByText('🔒 Encrypted').waitFor({ timeout: 5000 });
  // Eve publishes nothing (she could only send what no one can decrypt).
  assert.ok(await eve.getByRole('button', { name: 'Microphone' }).isHidden());
  for (const p of [alice, eve]) await p.context().close();
});

