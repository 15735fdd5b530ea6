// The SFrame implementation of the web client against the RFC 9605 test vectors, in both
// browsers that run it: every header encoding, and the AES_128_GCM_SHA256_128 frame.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { resolve, dirname, join } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startServer, launchChromium, launchFirefox } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The vectors: in the shared reference data beside the project, or else where that data comes
 * from, the `sframe` crate's sources, which `cargo test` has fetched before these tests run.
 */
function findVectors() {
  const shared = resolve(here, '../../../shared/data/rfc9605-test-vectors.json');
  if (existsSync(shared)) return shared;
  const registry = join(process.env.CARGO_HOME || join(homedir(), '.cargo'), 'registry', 'src');
  for (const index of existsSync(registry) ? readdirSync(registry) : []) {
    for (const crate of readdirSync(join(registry, index)).filter((d) => d.startsWith('sframe-')).sort().reverse()) {
      const p = join(registry, index, crate, 'src', 'test_vectors', 'test-vectors.json');
      if (existsSync(p)) return p;
    }
  }
  return null;
}
const vectorsPath = findVectors();

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

test('the test vectors are found', () => {
  assert.ok(vectorsPath, 'RFC 9605 vectors: neither ../shared/data nor the sframe crate sources (run cargo test first)');
});

/** Runs every vector in a page of either browser (Playwright and Puppeteer pages alike). */
async function checkVectors(page) {
  // Quote every kid and ctr so that values above 2^53 reach the page exactly.
  const text = readFileSync(/** @type {string} */ (vectorsPath), 'utf8').replace(/"(kid|ctr)": (\d+)/g, '"$1": "$2"');
  await page.goto(`${server.url}/`);
  const result = await page.evaluate(async (text) => {
    // Served by Summit, so only the page can resolve it.
    const served = '/assets/sframe.js';
    const sf = await import(served);
    const v = JSON.parse(text);
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    const bytes = (h) => Uint8Array.from(h.match(/../g) || [], (x) => parseInt(x, 16));
    const failures = [];
    for (const h of v.header) {
      const [kid, ctr] = [BigInt(h.kid), BigInt(h.ctr)];
      const got = hex(sf.encodeHeader(kid, ctr));
      if (got !== h.encoded) failures.push(`encode ${kid}/${ctr}: ${got} != ${h.encoded}`);
      const back = sf.decodeHeader(bytes(h.encoded));
      if (back.kid !== kid || back.ctr !== ctr || back.length * 2 !== h.encoded.length) {
        failures.push(`decode ${h.encoded}: ${back.kid}/${back.ctr}`);
      }
    }
    const c = v.sframe.find((s) => s.cipher_suite === sf.CIPHER_SUITE);
    const [kid, ctr] = [BigInt(c.kid), BigInt(c.ctr)];
    const k = await sf.deriveKey(bytes(c.base_key), kid);
    if (hex(k.rawKey) !== c.sframe_key) failures.push(`key ${hex(k.rawKey)}`);
    if (hex(k.salt) !== c.sframe_salt) failures.push(`salt ${hex(k.salt)}`);
    if (hex(sf.nonce(k.salt, ctr)) !== c.nonce) failures.push('nonce');
    const ct = await sf.encrypt(k, kid, ctr, bytes(c.metadata), bytes(c.pt));
    if (hex(ct) !== c.ct) failures.push(`ct ${hex(ct)}`);
    const pt = await sf.decrypt(async (id) => (id === kid ? k : undefined), bytes(c.metadata), bytes(c.ct));
    if (hex(pt) !== c.pt) failures.push('pt');
    // A flipped bit anywhere fails authentication.
    const bad = bytes(c.ct);
    bad[bad.length - 1] ^= 1;
    try { await sf.decrypt(async () => k, bytes(c.metadata), bad); failures.push('tampered frame decrypted'); } catch { /* expected */ }
    return { failures, headers: v.header.length };
  }, text);
  assert.deepEqual(result.failures, []);
  assert.equal(result.headers, 289);
}

test('RFC 9605 vectors pass in Chromium (KID and CTR as BigInt)', { skip: !vectorsPath }, async () => {
  const browser = await launchChromium();
  try { await checkVectors(await browser.newPage()); } finally { await browser.close(); }
});

test('RFC 9605 vectors pass in Firefox ESR', { skip: !vectorsPath }, async () => {
  const firefox = await launchFirefox();
  try { await checkVectors(await firefox.browser.newPage()); } finally { await firefox.close(); }
});
