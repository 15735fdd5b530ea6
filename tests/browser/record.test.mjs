// The meeting record from real pages: a meeting of three with a join, a recording and a
// removal; a page downloads the signed head it kept; the export verifies against it offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serverAndChromium, joinPage } from './harness.mjs';

const env = serverAndChromium();

test('a meeting of three with a recording and a removal: the export verifies against a head a page kept', async () => {
  env.server.summit('meeting', 'create', 'rec-b', '--no-e2ee');
  const inv = (name, ...args) => env.server.invite('rec-b', name, ...args).url;
  const host = await joinPage(env.browser, inv('Ada', '--role', 'host'));
  const lin = await joinPage(env.browser, inv('Lin', '--skip-lobby'));
  const eve = await joinPage(env.browser, inv('Eve', '--skip-lobby'));
  // Lin keeps the head the server signed when Eve joined.
  await lin.getByRole('button', { name: 'Participants' }).click();
  await lin.getByText('The server signed the record through entry 3').waitFor({ timeout: 10000 });
  const download = lin.waitForEvent('download');
  await lin.getByRole('button', { name: 'Download signed record head' }).click();
  const kept = join(env.server.data, 'kept-head.json');
  await (await download).saveAs(kept);
  // The host records a moment, then removes Eve; everyone's pages get the new head.
  await host.getByRole('button', { name: 'Start recording' }).click();
  await eve.getByText('● Recording').waitFor({ timeout: 5000 });
  await host.getByRole('button', { name: 'Stop recording' }).click();
  await eve.getByText('● Recording').waitFor({ state: 'hidden', timeout: 5000 });
  await host.getByRole('button', { name: 'Participants' }).click();
  await host.getByRole('listitem', { name: /^Eve/ }).getByRole('button', { name: 'Remove' }).click();
  await lin.getByText('The server signed the record through entry 7').waitFor({ timeout: 10000 });
  const file = join(env.server.data, 'rec-b.md');
  env.server.summit('record', 'export', 'rec-b', '--format', 'md', '-o', file);
  const out = env.server.summit('record', 'verify', file, '--head', kept);
  assert.match(out, /^OK: the record of 'rec-b' has 8 entries/m, out);
  assert.match(out, /contains everything up to the head you kept \(entry 3\)/, out);
  const { readFileSync } = await import('node:fs');
  const md = readFileSync(file, 'utf8');
  assert.match(md, /Ada started recording\./);
  assert.match(md, /Recording stopped \(Ada\)\./);
  assert.match(md, /Ada removed Eve\./);
  assert.match(md, /Eve \(#3\) left: Ada removed you from the meeting\./);
  for (const p of [host, lin, eve]) await p.context().close();
});
