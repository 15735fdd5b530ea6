// Lobby and moderation in real Chromium: wait, admit, deny, lock, mute by host, removal,
// and an invitation made from the meeting page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, waitStats, inbound, myId, view } from './harness.mjs';

const env = serverAndChromium();

/** Opens a link and clicks Join; returns the page without waiting for the meeting view. */
async function open(url) {
  const ctx = await env.browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(url);
  await page.getByRole('button', { name: 'Join' }).click();
  return page;
}

/** The host's participants panel row for `name`. */
const row = (page, name) => page.getByRole('listitem', { name: new RegExp(`^${name} \\(`) });

test('the lobby: a delegate waits, is admitted and gets media; another is denied', async () => {
  const waiting = await open(env.server.invite('lobby-1', 'Wendy Waiting').url);
  await waiting.getByText('No host has joined yet').waitFor({ timeout: 10000 });
  assert.equal(await view(waiting), 'lobby');
  const host = await joinPage(env.browser, env.server.invite('lobby-1', 'Hana Host', '--role', 'host').url);
  await waiting.getByText('will let you in shortly').waitFor({ timeout: 5000 });
  // The host sees who waits, by name, and admits.
  await row(host, 'Wendy Waiting').getByRole('button', { name: 'Admit' }).click();
  await waiting.locator('#meeting').waitFor({ state: 'visible', timeout: 10000 });
  assert.equal(await view(waiting), 'meeting');
  const h = await myId(host);
  await waitStats(waiting, (s) => s[`${h}:camera`]?.framesDecoded > 0, 15000, 'admitted delegate decoding the host');

  const deniedUrl = env.server.invite('lobby-1', 'Dan Denied').url;
  const denied = await open(deniedUrl);
  await denied.getByText('will let you in shortly').waitFor({ timeout: 10000 });
  // The host is warned that a denial turns the link away, for everyone who holds it.
  let warning = '';
  host.once('dialog', (d) => { warning = d.message(); d.accept(); });
  await row(host, 'Dan Denied').getByRole('button', { name: 'Deny' }).click();
  await denied.getByText('The host did not let you in.').waitFor({ timeout: 5000 });
  assert.equal(await view(denied), 'refused');
  assert.match(warning, /nobody who holds it, whoever shares it, can wait in the lobby again/);
  // The same link cannot come back to the lobby, until the host allows it again.
  const again = await open(deniedUrl);
  await again.getByRole('alert').filter({ hasText: 'The host did not let you in' }).waitFor({ timeout: 10000 });
  // Turned away at the door: the pre-join screen says why.
  assert.equal(await view(again), 'prejoin');
  await row(host, 'Dan Denied').getByRole('button', { name: 'Allow again' }).click();
  await row(host, 'Dan Denied').waitFor({ state: 'detached', timeout: 5000 });
  const third = await open(deniedUrl);
  await third.getByText('will let you in shortly').waitFor({ timeout: 10000 });
  for (const p of [waiting, host, denied, again, third]) await p.context().close();
});

test('a locked meeting refuses newcomers; mute by host and removal reach the participant', async () => {
  const host = await joinPage(env.browser, env.server.invite('mod-1', 'Hana Host', '--role', 'host').url);
  const guestUrl = env.server.invite('mod-1', 'Gus Guest', '--skip-lobby').url;
  const guest = await joinPage(env.browser, guestUrl);
  const g = await myId(guest);
  await waitStats(host, (s) => s[`${g}:microphone`]?.packetsReceived > 0, 15000, 'host receiving the guest');
  await host.getByRole('button', { name: 'Participants' }).click();

  // Mute: the guest is told, and the host stops receiving the guest's microphone at once.
  await row(host, 'Gus Guest').getByRole('button', { name: 'Mute' }).click();
  await guest.getByText(/muted by the host/).waitFor({ timeout: 5000 });
  await guest.getByRole('button', { name: 'Microphone' }).and(guest.locator('[aria-pressed="false"]')).waitFor({ timeout: 5000 });
  await new Promise((r) => setTimeout(r, 500));
  // The guest's place among the speakers is freed: no slot of the host's carries them, and no
  // sound arrives on any (the guest is the only other one).
  const audioIn = () => host.evaluate(async () => {
    let n = 0;
    (await /** @type {any} */ (window).summitTest.subscribing().getStats()).forEach((/** @type {any} */ r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.packetsReceived || 0;
    });
    return n;
  });
  const before = await audioIn();
  await new Promise((r) => setTimeout(r, 1500));
  const after = await audioIn();
  assert.ok(after - before <= 2, `microphone still forwarded after mute by host: ${before} -> ${after}`);
  assert.equal((await inbound(host))[`${g}:microphone`], undefined, 'a slot still carries the muted guest');

  // Lock: a valid invitation is refused with a reason.
  await host.getByRole('button', { name: 'Lock meeting' }).click();
  await guest.getByText('Locked', { exact: true }).waitFor({ timeout: 5000 });
  const late = await open(env.server.invite('mod-1', 'Lou Late', '--skip-lobby').url);
  await late.getByRole('alert').filter({ hasText: 'This meeting is locked' }).waitFor({ timeout: 10000 });
  await host.getByRole('button', { name: 'Unlock meeting' }).click();

  // Remove: the guest is disconnected with the reason, and the same link cannot rejoin.
  const link = guestUrl;
  await row(host, 'Gus Guest').getByRole('button', { name: 'Remove' }).click();
  await guest.getByText(/You were removed from the meeting/).waitFor({ timeout: 5000 });
  await host.getByRole('group', { name: 'Gus Guest' }).waitFor({ state: 'detached', timeout: 5000 });
  const again = await open(link);
  await again.getByRole('alert').filter({ hasText: 'revoked' }).waitFor({ timeout: 10000 });
  for (const p of [host, guest, late, again]) await p.context().close();
});

test('a host invites from the page and ends the meeting for all', async () => {
  const hostUrl = env.server.invite('mod-2', 'Hana Host', '--role', 'host').url;
  const host = await joinPage(env.browser, hostUrl);
  await host.getByRole('button', { name: 'Invite' }).click();
  await host.getByLabel('Name').fill('Ivy Invited');
  await host.getByLabel('Role').selectOption('delegate');
  await host.getByRole('button', { name: 'Create link' }).click();
  await host.getByRole('button', { name: 'Copy link' }).waitFor({ timeout: 10000 });
  const link = await host.getByLabel('Link', { exact: true }).inputValue();
  assert.match(link, /\/m\/mod-2\?invite=/);
  // The page appends the meeting secret from its own link: the server never had it.
  assert.equal(link.split('#')[1], hostUrl.split('#')[1]);
  await host.getByRole('button', { name: 'Close' }).click();
  const ivy = await open(link);
  await row(host, 'Ivy Invited').getByRole('button', { name: 'Admit' }).click();
  await ivy.locator('#meeting').waitFor({ state: 'visible', timeout: 10000 });
  await ivy.locator('#e2ee-badge').filter({ hasText: 'End-to-end encrypted' }).waitFor({ timeout: 5000 });

  host.once('dialog', (d) => d.accept());
  await host.getByRole('button', { name: 'End meeting for all' }).click();
  await ivy.getByText(/This meeting has ended/).waitFor({ timeout: 5000 });
  const later = await open(link);
  await later.getByRole('alert').filter({ hasText: 'has ended' }).waitFor({ timeout: 10000 });
  for (const p of [host, ivy, later]) await p.context().close();
});
