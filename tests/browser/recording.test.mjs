// Recording from real pages: a host starts and stops it, every page shows "Recording" while
// it runs, and each track lands in the data directory as Opus in Ogg or VP8 in WebM that
// ffprobe (Debian's ffmpeg) reads with the right codec and about the recorded duration. An
// encrypted meeting is recorded sealed, and `summit record unseal` with the organizer's
// recording key turns it into the same playable files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serverAndChromium, joinPage, until, myId, waitStats } from './harness.mjs';

const env = serverAndChromium();

/** Codec and duration (s) of a media file as ffprobe reads it, or null if it cannot. */
function probe(file) {
  try {
    const out = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name:format=duration',
      '-of', 'json', file], { encoding: 'utf8' });
    const j = JSON.parse(out);
    return { codec: j.streams?.[0]?.codec_name, duration: Number(j.format?.duration) };
  } catch {
    return null;
  }
}

/**
 * Waits until `dir` holds a playable file for each of `want` (name prefixes), then checks
 * each one's codec and that it lasts the recorded time within a second (video starts at the
 * first keyframe after the start, which a loaded machine can take a few hundred ms to send).
 */
async function checkPlayable(dir, want, recorded) {
  let files = [];
  let probes = {};
  await until(async () => {
    files = readdirSync(dir).filter((f) => f.endsWith('.ogg') || f.endsWith('.webm'));
    probes = Object.fromEntries(files.map((f) => [f, probe(join(dir, f))]));
    return want.every((w) => files.some((f) => f.startsWith(w) && probes[f]?.duration > 0));
  }, 10000, `playable files for ${want.join(', ')} in ${dir}`);
  assert.equal(files.length, want.length, files.join(', '));
  for (const f of files) {
    const p = probes[f];
    const codec = f.endsWith('.ogg') ? 'opus' : 'vp8';
    assert.equal(p.codec, codec, `${f}: ${JSON.stringify(p)}`);
    assert.ok(Math.abs(p.duration - recorded) <= 1,
      `${f} lasts ${p.duration} s; ${recorded} s were recorded`);
    // Every packet decodes: the sound itself, not RED's wrapping around it (Chromium sends
    // its microphone as RED, RFC 2198; the file holds the Opus frames alone).
    // The null output keeps the file's millisecond timestamps (`-enc_time_base -1`): by default
    // it counts in frames at the guessed frame rate, and two frames a browser sent 21 ms apart
    // on a busy machine then fall in one 50 ms tick and read as an error of the file.
    const run = spawnSync('ffmpeg', ['-v', 'error', '-i', join(dir, f), '-enc_time_base', '-1', '-f', 'null', '-'],
      { encoding: 'utf8' });
    assert.ok(run.status === 0 && run.stderr === '', `${f} does not decode cleanly: ${run.stderr.slice(0, 300)}`);
  }
}

/**
 * The host records for about six seconds; returns the seconds the server recorded, as the
 * host's page saw it: from the server's word that recording started to its word that it
 * stopped (both edges carry the same round trip, which a busy machine can stretch).
 */
async function recordAWhile(host, pages) {
  await host.getByRole('button', { name: 'Start recording' }).click();
  await host.getByText('● Recording').waitFor({ timeout: 5000 });
  const started = Date.now();
  for (const p of pages) await p.getByText('● Recording').waitFor({ timeout: 5000 });
  await new Promise((r) => setTimeout(r, 6000));
  await host.getByRole('button', { name: 'Stop recording' }).click();
  await host.getByText('● Recording').waitFor({ state: 'hidden', timeout: 5000 });
  const recorded = (Date.now() - started) / 1000;
  for (const p of pages) await p.getByText('● Recording').waitFor({ state: 'hidden', timeout: 5000 });
  return recorded;
}

const TRACKS = ['Ada-microphone', 'Ada-camera', 'Lin-microphone', 'Lin-camera'];

test('a host records the meeting: every page shows it, and each track plays back', async () => {
  env.server.summit('meeting', 'create', 'rec-media', '--no-e2ee');
  const inv = (name, ...args) => env.server.invite('rec-media', name, ...args).url;
  const host = await joinPage(env.browser, inv('Ada', '--role', 'host'));
  const lin = await joinPage(env.browser, inv('Lin', '--skip-lobby'));
  // Let both publish before recording starts.
  await new Promise((r) => setTimeout(r, 2000));
  const recorded = await recordAWhile(host, [host, lin]);
  await lin.getByText('Ada stopped recording').waitFor({ timeout: 5000 });
  const root = join(env.server.data, 'recordings', 'rec-media');
  const [session] = readdirSync(root);
  await checkPlayable(join(root, session), TRACKS, recorded);
  // The record says who recorded when.
  const md = env.server.summit('record', 'export', 'rec-media', '--format', 'md');
  assert.match(md, /Ada started recording\./);
  assert.match(md, /Recording stopped \(Ada\)\./);
  for (const p of [host, lin]) await p.context().close();
});

test('an encrypted meeting without a recording key is not recorded: refused with a reason', async () => {
  const host = await joinPage(env.browser, env.server.invite('rec-e2ee', 'Ada', '--role', 'host').url);
  await host.getByRole('button', { name: 'Start recording' }).click();
  await host.getByText(/this encrypted meeting has no recording key/).waitFor({ timeout: 5000 });
  assert.ok(await host.getByText('● Recording').isHidden());
  await host.context().close();
});

test('an encrypted meeting is recorded sealed, and unsealed offline with the recording key', async () => {
  const keyFile = join(env.server.data, 'rec.key');
  const pub = env.server.summit('keygen', '--recording', '--out', keyFile).trim();
  env.server.summit('meeting', 'create', 'rec-sealed', '--recording-key', pub);
  const inv = (name, ...args) => env.server.invite('rec-sealed', name, ...args).url;
  const host = await joinPage(env.browser, inv('Ada', '--role', 'host'));
  const lin = await joinPage(env.browser, inv('Lin', '--skip-lobby'));
  const ids = await Promise.all([host, lin].map((p) => myId(p)));
  for (const [page, from] of [[host, ids[1]], [lin, ids[0]]]) {
    await waitStats(page, (st) => st[`${from}:camera`]?.framesDecoded > 10, 20000, 'encrypted media flowing');
  }
  const recorded = await recordAWhile(host, [host, lin]);
  const root = join(env.server.data, 'recordings', 'rec-sealed');
  const [session] = readdirSync(root);
  const dir = join(root, session);
  // The server kept frames it cannot read, and keys sealed to a key it does not hold.
  await until(() => readdirSync(dir).filter((f) => f.endsWith('.sealed')).length === 4, 10000, 'four sealed tracks');
  assert.ok(readdirSync(dir).every((f) => !f.endsWith('.ogg') && !f.endsWith('.webm')));
  assert.ok(readFileSync(join(dir, 'keys.jsonl'), 'utf8').trim().split('\n').length >= 2);
  // Another recording key opens nothing.
  const wrong = join(env.server.data, 'wrong.key');
  env.server.summit('keygen', '--recording', '--out', wrong);
  assert.throws(() => env.server.summit('record', 'unseal', dir, '--key', wrong), /no sealed key opens/);
  // The organizer's key turns it into playable files.
  const out = env.server.summit('record', 'unseal', dir, '--key', keyFile);
  assert.doesNotMatch(out, /without a key/, out);
  await checkPlayable(join(dir, 'unsealed'), TRACKS, recorded);
  assert.match(env.server.summit('record', 'export', 'rec-sealed', '--format', 'md'), /Ada started a sealed recording\./);
  for (const p of [host, lin]) await p.context().close();
});
