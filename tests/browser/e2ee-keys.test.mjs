// The web client's key schedule (web/e2ee.js, web/keyring.js) under Node's WebCrypto: three
// participants exchange keys through a relay that, like the server, only passes messages on.
// Newcomers cannot decrypt what was sent before them; after a removal, nothing the removed
// participant held decrypts what is sent next; a wrong meeting secret gets no keys. And what a
// compromised relay tries: relabelling people, replaying frames and key messages, swapping the
// recording key, a recording switched on and straight off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { E2ee, unb64 } from '../../web/e2ee.js';
import { KeyRing, kidOf, NoKeyError, ReplayError, ReplayWindow } from '../../web/keyring.js';
import { deriveKey, encrypt } from '../../web/sframe.js';
import { RecordingSealer, recordingKeyMac } from '../../web/recording-keys.js';

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
    name: `Person ${id}`,
    role: 'delegate',

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
      const message = relay.tamper ? relay.tamper(m) : m;
      // With `keys`, each recipient gets the common part and its own entry alone.
      const to = message.keys ? Object.keys(message.keys).map(Number)
        : message.to !== undefined ? [message.to] : [...relay.members.keys()].filter((x) => x !== message.from);
      for (const r of to) {
        handled.push(relay.members.get(r)?.e.receive(message.from, message.data, message.keys?.[String(r)] ?? null));
      }
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
  const ctr = p.worker.counter;
  p.worker.counter += 1n;
  return encrypt(await deriveKey(s.base, kid), kid, ctr, META, new TextEncoder().encode(text));
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
  // The replies reach it one after another (the relay passes on what it has, then what came
  // meanwhile); it answers once they stop. Two batches would still be far from one per person.
  assert.ok(fromNewcomer.length <= 3, `hello, then its key for all at once, not ${fromNewcomer.length - 1} messages`);
  assert.deepEqual(n.e.missing(), []);
  for (const p of relay.members.values()) assert.deepEqual(p.e.missing(), [], `participant ${p.id}`);
});

test('each recipient of a key message gets only its own entry', async () => {
  const relay = newRelay();
  for (let id = 1; id <= 4; id++) await enter(relay, id);
  const keyMessages = relay.sent.filter((m) => JSON.parse(m.data).t === 'key');
  assert.ok(keyMessages.length > 0);
  for (const m of keyMessages) {
    assert.ok(m.keys && !('keys' in JSON.parse(m.data)), 'entries travel apart from the common part');
    for (const entry of Object.values(m.keys)) assert.ok(entry.length < 200, `${entry.length} bytes`);
  }
});

test('names and roles shown come from the key exchange: a relay cannot relabel anyone', async () => {
  const relay = newRelay();
  const a = await enter(relay, 1);
  await enter(relay, 2);
  assert.deepEqual(a.e.identity(2), { name: 'Person 2', role: 'delegate' });
  // A relay that renames participant 3, or passes their hello off as someone else's.
  relay.tamper = (m) => {
    if (m.from !== 3) return m;
    const d = JSON.parse(m.data);
    return { ...m, data: JSON.stringify({ ...d, name: 'The Head of State', role: 'host' }) };
  };
  await enter(relay, 3);
  assert.equal(a.e.identity(3), null, 'a renamed hello is not believed');
  assert.deepEqual(a.rejected, [3]);
  relay.tamper = (m) => (m.from === 4 ? { ...m, from: 2 } : m);
  await enter(relay, 4);
  assert.deepEqual(a.e.identity(2), { name: 'Person 2', role: 'delegate' }, 'nor one passed off as another\'s');
});

test('a frame opens once: replayed frames and replayed key messages are refused', async () => {
  const relay = newRelay();
  const a = await enter(relay, 1);
  const b = await enter(relay, 2);
  const f1 = await frame(a, 'one');
  const f2 = await frame(a, 'two');
  assert.equal(await opens(b.worker.ring, f2), 'two');
  assert.equal(await opens(b.worker.ring, f1), 'one', 'out of order is fine');
  await assert.rejects(b.worker.ring.decryptFrame(META, f1), ReplayError);
  await assert.rejects(b.worker.ring.decryptFrame(META, f2), ReplayError);
  // The relay sends A's key message to B again: the key's memory of counters stays.
  const lastKey = relay.sent.filter((m) => m.from === 1 && m.keys?.['2']).pop();
  relay.queue.push(lastKey);
  await deliver(relay);
  await assert.rejects(b.worker.ring.decryptFrame(META, f1), ReplayError);
});

test('the replay window: new counters pass once, old and repeated ones do not', () => {
  const w = new ReplayWindow(64);
  assert.ok(w.accept(5n));
  assert.ok(!w.accept(5n));
  assert.ok(w.accept(3n), 'late but new');
  assert.ok(!w.accept(3n));
  assert.ok(w.accept(100n));
  assert.ok(w.accept(40n), 'inside the window');
  assert.ok(!w.accept(36n), 'older than the window');
  assert.ok(!w.accept(100n));
  assert.ok(w.accept(101n) && w.accept(164n));
  assert.ok(!w.accept(101n), 'still remembered after a shift');
});

test('the recording key is believed only with the organizer\'s MAC, and keys go only after 2 s', async () => {
  // The same vector as the Rust side (crates/auth/src/secret.rs).
  assert.equal(await recordingKeyMac(unb64('A'.repeat(43)), 'summit-test', new TextEncoder().encode('key')),
    'TIYWxBQna5drpzS8wAKAaBiGaicR8tGxPCfVu4Wy3zI');
  const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const keyText = Buffer.from(raw).toString('base64url');
  const good = await recordingKeyMac(SECRET, MEETING, raw);
  const other = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
  const otherText = Buffer.from(new Uint8Array(await crypto.subtle.exportKey('raw', other.publicKey))).toString('base64url');
  const sealer = (sent) => new RecordingSealer({ meeting: MEETING, secret: SECRET, send: (m) => sent.push(m), sealAfterMs: 50 });
  const base = crypto.getRandomValues(new Uint8Array(32));
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));

  // A key the server swapped in (with the old MAC, or none): refused, said, nothing sealed.
  for (const mac of [good, undefined, 'x']) {
    const sent = [];
    const s = sealer(sent);
    await s.configure(otherText, mac);
    assert.match(s.problem, /did not register/);
    s.ownKey(1, 0, base);
    s.setRecording(true);
    await wait(120);
    await s.queue;
    assert.deepEqual(sent, []);
  }
  // The organizer's key: sealed, but only once "Recording" has been up for the delay.
  const sent = [];
  const s = sealer(sent);
  await s.configure(keyText, good);
  assert.equal(s.problem, '');
  s.ownKey(1, 0, base);
  s.setRecording(true);
  await wait(10);
  s.setRecording(false);
  await wait(120);
  await s.queue;
  assert.deepEqual(sent, [], 'on and straight off again: nothing');
  s.setRecording(true);
  await wait(120);
  await s.queue;
  assert.equal(sent.length, 1);
  assert.equal(sent[0].type, 'recording_key');
});
