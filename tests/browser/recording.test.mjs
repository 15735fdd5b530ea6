// Recording from real pages: a host starts and stops it, every page shows "Recording" while
// it runs, and each track lands in the data directory as Opus in Ogg or VP8 in WebM that
// ffprobe (Debian's ffmpeg) reads with the right codec and about the recorded duration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serverAndChromium, joinPage, until } from './harness.mjs';

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

test('a host records the meeting: every page shows it, and each track plays back', async () => {
  env.server.summit('meeting', 'create', 'rec-media', '--no-e2ee');
  const inv = (name, ...args) => env.server.invite('rec-media', name, ...args).url;
  const host = await joinPage(env.browser, inv('Ada', '--role', 'host'));
  const lin = await joinPage(env.browser, inv('Lin', '--skip-lobby'));
  // Let both publish before recording starts.
  await new Promise((r) => setTimeout(r, 2000));
  await host.getByRole('button', { name: 'Start recording' }).click();
  const started = Date.now();
  for (const p of [host, lin]) await p.getByText('● Recording').waitFor({ timeout: 5000 });
  await new Promise((r) => setTimeout(r, 6000));
  await host.getByRole('button', { name: 'Stop recording' }).click();
  const recorded = (Date.now() - started) / 1000;
  for (const p of [host, lin]) await p.getByText('● Recording').waitFor({ state: 'hidden', timeout: 5000 });
  await lin.getByText('Ada stopped recording').waitFor({ timeout: 5000 });

  const root = join(env.server.data, 'recordings', 'rec-media');
  const [session] = readdirSync(root);
  const dir = join(root, session);
  const want = ['Ada-microphone', 'Ada-camera', 'Lin-microphone', 'Lin-camera'];
  let files = [];
  let probes = {};
  await until(async () => {
    files = readdirSync(dir);
    probes = Object.fromEntries(files.map((f) => [f, probe(join(dir, f))]));
    return want.every((w) => files.some((f) => f.startsWith(w) && probes[f]?.duration > 0));
  }, 10000, `four playable files in ${dir}`);
  for (const f of files) {
    const p = probes[f];
    const codec = f.endsWith('.ogg') ? 'opus' : 'vp8';
    assert.equal(p.codec, codec, `${f}: ${JSON.stringify(p)}`);
    assert.ok(Math.abs(p.duration - recorded) <= recorded * 0.1,
      `${f} lasts ${p.duration} s; ${recorded} s were recorded`);
  }
  // The record says who recorded when.
  const md = env.server.summit('record', 'export', 'rec-media', '--format', 'md');
  assert.match(md, /Ada started recording\./);
  assert.match(md, /Recording stopped \(Ada\)\./);
  for (const p of [host, lin]) await p.context().close();
});

test('recording an end-to-end encrypted meeting is refused with a reason, not done in the clear', async () => {
  const host = await joinPage(env.browser, env.server.invite('rec-e2ee', 'Ada', '--role', 'host').url);
  await host.getByRole('button', { name: 'Start recording' }).click();
  await host.getByText(/cannot record an end-to-end encrypted meeting/).waitFor({ timeout: 5000 });
  assert.ok(await host.getByText('● Recording').isHidden());
  await host.context().close();
});
