// What pages withstand from a server that attacks its own encrypted meetings: a test build of
// summit (`cargo build -p summit --features danger-test-attacks`; crates/core/src/attacks.rs)
// that shows one participant's frames in another's slot, plays old frames again, says the
// meeting is not encrypted, injects chat in the clear and signs invitations for an unencrypted
// meeting. A release build cannot make any of these attacks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startServer, launchChromium, joinPage, waitStats, myId, e2eeReport, until, DANGER_SUMMIT } from './harness.mjs';

/** @type {any} */
let browser;
before(async () => {
  assert.ok(existsSync(DANGER_SUMMIT), `${DANGER_SUMMIT} is missing: cargo build -p summit --features danger-test-attacks`);
  browser = await launchChromium();
});
after(async () => { await browser?.close(); });

/**
 * A server of the attacking build, making `attacks`. Layers are chosen by tile size alone:
 * what is tested here is the pages, not how much this debug build's link estimate allows.
 */
function attacking(...attacks) {
  return startServer({
    bin: DANGER_SUMMIT,
    args: ['--no-bandwidth-estimation', ...attacks.flatMap((a) => ['--danger-test-attack', a])],
  });
}

/** The m-line on `page` that the server says carries `who`'s `source`. */
async function midOf(page, who, source) {
  return page.evaluate(([w, s]) => /** @type {any} */ (window).summitTest.tracks()
    .find((/** @type {any} */ t) => t.participant === w && t.source === s)?.mid, [who, source]);
}

test('misrouted frames never show under another name, and replayed frames are dropped', async () => {
  const server = await attacking('misroute-video', 'replay-audio');
  try {
    const inv = (name) => server.invite('attacked', name, '--skip-lobby').url;
    const ana = await joinPage(browser, inv('Ana'));
    const ben = await joinPage(browser, inv('Ben'));
    const cai = await joinPage(browser, inv('Cai'));
    const [b, c] = await Promise.all([ben, cai].map((p) => myId(p)));
    // Ana gets two cameras: the server sends Ben's frames in the slot it says is Cai's.
    await waitStats(ana, (s) => s[`${b}:camera`]?.framesDecoded > 20, 30000, 'Ana decoding Ben under his own name');
    let caiMid;
    let line;
    await until(async () => {
      // Cai's camera comes to Ana's page (by the server's account) a moment after Ben's.
      caiMid = await midOf(ana, c, 'camera');
      line = caiMid && (await e2eeReport(ana)).lines[caiMid];
      return line?.misrouted > 20;
    }, 30000, `Ben's frames refused in Cai's slot ${caiMid}: ${JSON.stringify(line)}`);
    assert.ok(line.from.includes(b), `the refused frames were Ben's: ${JSON.stringify(line)}`);
    assert.ok(line.sender === null || line.sender === c, `only Cai's own frames ever opened there: ${JSON.stringify(line)}`);
    // Ana is told why Cai's tile stays dark.
    await ana.getByRole('group', { name: 'Cai' }).getByText('Video withheld: the server sent Ben\'s video in its place')
      .waitFor({ timeout: 5000 });
    // Nothing of Ben's is decoded in Cai's tile while the attack goes on.
    const before = (await waitStats(ana, () => true, 1000, ''))[`${c}:camera`]?.framesDecoded ?? 0;
    await new Promise((r) => setTimeout(r, 3000));
    const afterward = (await waitStats(ana, () => true, 1000, ''))[`${c}:camera`]?.framesDecoded ?? 0;
    assert.equal(afterward, before, 'no frame decoded in Cai\'s tile');
    // Old audio played again is dropped; the rest of the audio still plays (50 packets a
    // second from each of two speakers, a tenth of them replays).
    const r1 = await e2eeReport(ana);
    let r2 = r1;
    await until(async () => {
      r2 = await e2eeReport(ana);
      return r2.stats.replayed > r1.stats.replayed + 5 && r2.stats.decryptedAudio > r1.stats.decryptedAudio + 50;
    }, 15000, `replayed audio dropped while the rest decrypts: ${JSON.stringify(r1.stats)} then ${JSON.stringify(r2.stats)}`);
    for (const p of [ana, ben, cai]) await p.context().close();
  } finally {
    await server.stop();
  }
});

test('a server that says the meeting is not encrypted gets nothing in the clear', async () => {
  const server = await attacking('claim-unencrypted');
  try {
    const page = await joinPage(browser, server.invite('claimed', 'Ana', '--skip-lobby').url);
    await page.getByRole('alert').filter({ hasText: 'the server says it is not' }).waitFor({ timeout: 10000 });
    assert.ok(await page.locator('#btn-mic').isHidden(), 'no microphone to publish');
    assert.ok(await page.locator('#btn-cam').isHidden(), 'no camera to publish');
    assert.ok(await page.locator('#chat-input').isDisabled(), 'no chat in the clear');
    const sending = await page.evaluate(() => /** @type {any} */ (window).summitTest.sending());
    assert.equal(sending, 0);
    await page.context().close();
  } finally {
    await server.stop();
  }
});

test('chat the server injects is dropped, and an invitation it forges shows no link', async () => {
  const server = await attacking('inject-chat', 'forge-invitation');
  try {
    const host = await joinPage(browser, server.invite('injected', 'Ana', '--role', 'host').url);
    const ben = await joinPage(browser, server.invite('injected', 'Ben', '--skip-lobby').url);
    const a = await myId(host);
    // Keys exchanged: Ben knows Ana by her own link's name.
    await until(() => ben.evaluate((id) => !!(/** @type {any} */ (window).summitTest.e2ee()?.identity(id)), a), 15000, 'keys exchanged');
    await host.getByRole('button', { name: 'Chat' }).click();
    await ben.getByRole('button', { name: 'Chat' }).click();
    await host.getByLabel('Message').fill('Good morning');
    await host.getByRole('button', { name: 'Send' }).click();
    await ben.getByText('Good morning').waitFor({ timeout: 10000 });
    await ben.getByText('A message that was not end-to-end encrypted was dropped').waitFor({ timeout: 5000 });
    assert.equal(await ben.getByText('Injected by the server').count(), 0);
    // The sender's name is the one its key exchange proved.
    await ben.locator('#chat-log .meta').filter({ hasText: 'Ana ·' }).first().waitFor({ timeout: 5000 });

    await host.getByRole('button', { name: 'Invite' }).click();
    await host.getByLabel('Name').fill('Ivy');
    await host.getByLabel('Role').selectOption('delegate');
    await host.getByRole('button', { name: 'Create link' }).click();
    await host.getByRole('alert').filter({ hasText: 'not what you asked for' }).waitFor({ timeout: 10000 });
    assert.equal(await host.getByLabel('Link', { exact: true }).inputValue(), '');
    assert.ok(await host.locator('#invite-result').isHidden());
    for (const p of [host, ben]) await p.context().close();
  } finally {
    await server.stop();
  }
});
