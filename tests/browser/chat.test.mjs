// Chat in real Chromium: messages reach the others in order with an unread count on the Chat
// button; in an encrypted meeting they travel sealed, and a late joiner is told which earlier
// ones its keys cannot open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAndChromium, joinPage, until } from './harness.mjs';

const env = serverAndChromium();

/** Opens the chat panel (if closed), sends `text` and waits for it in the page's own log. */
async function say(page, text) {
  if (await page.locator('#chat-panel').isHidden()) await page.getByRole('button', { name: 'Chat' }).click();
  await page.getByLabel('Message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('#chat-log li', { hasText: text }).waitFor({ timeout: 10000 });
}

/** The texts in a page's chat log, in order. */
const log = (page) => page.$$eval('#chat-log li div:last-child', (els) => els.map((e) => e.textContent));

/** The unread count on the Chat button ('' when none is shown). */
const unread = (page) => page.$eval('#unread', (e) => (e.hidden ? '' : e.textContent));

for (const encrypted of [true, false]) {
  const kind = encrypted ? 'an encrypted' : 'a plain';
  test(`chat in ${kind} meeting: in order to everyone, unread counted until the panel opens`, async () => {
    const name = encrypted ? 'chat-sealed' : 'chat-plain';
    if (!encrypted) env.server.summit('meeting', 'create', name, '--no-e2ee');
    const ann = await joinPage(env.browser, env.server.invite(name, 'Ann Host', '--role', 'host').url);
    const bob = await joinPage(env.browser, env.server.invite(name, 'Bob Delegate', '--skip-lobby').url);

    await say(ann, 'Good morning, delegations.');
    await say(ann, 'The agenda has three items.');
    // Bob's panel is closed: the button counts what he has not seen.
    await until(async () => (await unread(bob)) === '2', 10000, 'Bob told of two unread messages');
    await bob.getByRole('button', { name: 'Chat' }).click();
    assert.equal(await unread(bob), '');
    assert.deepEqual(await log(bob), ['Good morning, delegations.', 'The agenda has three items.']);
    const meta = await bob.$eval('#chat-log li .meta', (e) => e.textContent);
    assert.match(meta, /^Ann Host · /);

    // Ann's panel is open: a reply shows at once, with no count.
    await say(bob, 'Agreed.');
    await until(async () => (await log(ann)).length === 3, 10000, 'Ann receiving the reply');
    assert.deepEqual(await log(ann), ['Good morning, delegations.', 'The agenda has three items.', 'Agreed.']);
    assert.equal(await unread(ann), '');

    // Someone joining later gets the history: readable in a plain meeting; in an encrypted
    // one it was sealed with keys made before they came, and the page says so in one line.
    const cid = await joinPage(env.browser, env.server.invite(name, 'Cleo Late', '--skip-lobby').url);
    await cid.getByRole('button', { name: 'Chat' }).click();
    if (encrypted) {
      await cid.getByText('3 earlier messages were sent before you joined and cannot be read with your keys.')
        .waitFor({ timeout: 10000 });
      assert.deepEqual(await log(cid), []);
    } else {
      await until(async () => (await log(cid)).length === 3, 10000, 'the late joiner getting the history');
      assert.deepEqual(await log(cid), ['Good morning, delegations.', 'The agenda has three items.', 'Agreed.']);
    }
    // And what is said after they came, they read.
    await say(ann, 'Welcome, Cleo.');
    await until(async () => (await log(cid)).includes('Welcome, Cleo.'), 10000, 'the late joiner reading a new message');
    for (const p of [ann, bob, cid]) await p.context().close();
  });
}
