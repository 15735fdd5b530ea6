// The web client's key schedule (web/e2ee.js, web/keyring.js) under Node's WebCrypto: three
// participants exchange keys through a relay that, like the server, only passes messages on.
// Newcomers cannot decrypt what was sent before them; after a removal, nothing the removed
// participant held decrypts what is sent next; a wrong meeting secret gets no keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { E2ee, unb64 } from '../../web/e2ee.js';
import { KeyRing, kidOf, NoKeyError } from '../../web/keyring.js';
import { deriveKey, encrypt } from '../../web/sframe.js';

const MEETING = 'summit-test';
const SECRET = crypto.getRandomValues(new Uint8Array(32));
const META = new Uint8Array([0x90, 0x01, 0x02]);

/** A participant: its E2ee, and a stand-in for its media worker (send key, receiving ring). */
function participant(relay, id, secret = SECRET) {
  const worker = { sending: null, ring: new KeyRing(), counter: 0n };
  const rejected = [];
  const e = new E2ee({
    meeting: MEETING,
    secret,
    rotateDelayMs: 20,

    send: (m) => relay.queue.push({ from: id, ...m }),
    sink: {
      sendKey: (sender, index, base) => { worker.sending = { sender, index, base }; },
      key: (sender, index, base) => worker.ring.set(sender, index, base),
      forget: (sender) => worker.ring.forget(sender),
    },
    onRejected: (who) => rejected.push(who),
  });
  const p = { id, e, worker, rejected };
  relay.members.set(id, p);
  return p;
}

/**
 * The server's part: pass every queued message to its recipient(s), as a WebSocket would, one
 * after another without waiting for each to be handled; until none comes for a while.
 */
async function deliver(relay) {
  for (let idle = 0; idle < 4;) {
    if (!relay.queue.length) {
      idle += 1;
      await new Promise((r) => setTimeout(r, 15));
      continue;
    }
    idle = 0;
    const handled = [];
    for (const m of relay.queue.splice(0)) {
      relay.sent.push(m);
      const to = m.to !== undefined ? [m.to] : [...relay.members.keys()].filter((x) => x !== m.from);
      for (const r of to) handled.push(relay.members.get(r)?.e.receive(m.from, m.data));
    }
    await Promise.all(handled);
  }
}

const newRelay = () => ({ queue: [], sent: [], members: new Map() });

async function enter(relay, id, secret) {
  const others = [...relay.members.keys()];
  const p = participant(relay, id, secret);
  for (const o of others) relay.members.get(o).e.joined(id);
  await p.e.start(id, others);
  await deliver(relay);
  return p;
}

async function leave(relay, id) {
  relay.members.delete(id);
  for (const p of relay.members.values()) await p.e.left(id);
  await deliver(relay);
  await new Promise((r) => setTimeout(r, 60)); // the rotation delay
  await deliver(relay);
}

/** A frame as p's worker sends it now. */
async function frame(p, text) {
  const s = p.worker.sending;
  const kid = kidOf(s.sender, s.index);
  return encrypt(await deriveKey(s.base, kid), kid, p.worker.counter++, META, new TextEncoder().encode(text));
}

async function opens(ring, f) {
  try {
    return new TextDecoder().decode(await ring.decryptFrame(META, f));
  } catch (e) {
    return e instanceof NoKeyError ? 'no key' : 'does not authenticate';
  }
}

test('keys reach everyone with the secret; the safety code agrees', async () => {
  const relay = newRelay();
  const a = await enter(relay, 1);
  const b = await enter(relay, 2);
  const c = await enter(relay, 3);
  for (const p of [a, b, c]) assert.deepEqual(p.e.missing(), [], `participant ${p.id} has every key`);
  const codes = await Promise.all([a, b, c].map((p) => p.e.safetyCode()));
  assert.match(codes[0], /^\d{5} \d{5} \d{5}$/);
  assert.equal(new Set(codes).size, 1, `codes differ: ${codes}`);
  for (const [from, to] of [[a, b], [b, c], [c, a], [a, c]]) {
    assert.equal(await opens(to.worker.ring, await frame(from, 'hi')), 'hi', `${from.id} -> ${to.id}`);
  }
  const sealed = await a.e.sealChat('chat in confidence');
  assert.equal(await b.e.openChat(1, sealed), 'chat in confidence');
  assert.equal(await a.e.openChat(1, sealed), 'chat in confidence', 'own message comes back readable');
  assert.equal(await b.e.openChat(3, sealed), null, 'a message is bound to its sender');
});

test('a newcomer cannot decrypt what was sent before they came', async () => {
  const relay = newRelay();
  const a = await enter(relay, 1);
  const b = await enter(relay, 2);
  const before = await frame(a, 'before');
  const chatBefore = await a.e.sealChat('before');
  const c = await enter(relay, 3);
  const after = await frame(a, 'after');
  assert.notEqual(await opens(c.worker.ring, before), 'before');
  assert.equal(await c.e.openChat(1, chatBefore), null);
  assert.equal(await opens(c.worker.ring, after), 'after');
  // Those already present follow the sender's ratchet on their own.
  assert.equal(await opens(b.worker.ring, before), 'before');
  assert.equal(await opens(b.worker.ring, after), 'after');
});

test('after a removal, nothing the removed participant held decrypts what comes next', async () => {
  const relay = newRelay();
  const a = await enter(relay, 1);
  const b = await enter(relay, 2);
  const c = await enter(relay, 3);
  assert.equal(await opens(c.worker.ring, await frame(a, 'shared')), 'shared');
  // Everything C holds, as the browser test exports it from a page.
  const held = new KeyRing();
  for (const { kid, base } of c.e.exportKeys()) {
    const k = BigInt(kid);
    held.set(Number(k >> 16n), Number(k & 0xffffn), unb64(base));
  }
  await leave(relay, 3);
  for (const [from, to] of [[a, b], [b, a]]) {
    const f = await frame(from, 'after removal');
    assert.equal(await opens(to.worker.ring, f), 'after removal', 'the others still hear each other');
    assert.notEqual(await opens(c.worker.ring, f), 'after removal', 'C\'s worker keys');
    assert.notEqual(await opens(held, f), 'after removal', 'C\'s exported keys, ratcheted forward');
  }
  assert.equal(await c.e.openChat(1, await a.e.sealChat('after')), null);
});

test('a participant with the wrong meeting secret gets no keys', async () => {
  const relay = newRelay();
  const a = await enter(relay, 1);
  const d = await enter(relay, 4, crypto.getRandomValues(new Uint8Array(32)));
  assert.deepEqual(a.rejected, [4]);
  assert.deepEqual(d.e.missing(), [1]);
  assert.equal(await opens(d.worker.ring, await frame(a, 'x')), 'no key');
});

test('a newcomer to a large meeting sends its key in one message, not one per participant', async () => {
  const relay = newRelay();
  for (let id = 1; id <= 20; id++) await enter(relay, id);
  const before = relay.sent.length;
  const n = await enter(relay, 21);
  const fromNewcomer = relay.sent.slice(before).filter((m) => m.from === 21);
  assert.equal(fromNewcomer.length, 2, `hello, then one key message for all, not ${fromNewcomer.length}`);
  assert.deepEqual(n.e.missing(), []);
  for (const p of relay.members.values()) assert.deepEqual(p.e.missing(), [], `participant ${p.id}`);
});
