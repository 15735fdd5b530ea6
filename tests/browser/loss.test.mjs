// Hotel Wi-Fi (issue 16): each browser's link loses 10 % of the datagrams each way, at random,
// and delays them by 20 ms each way (./lossy.mjs). Over a minute of an encrypted meeting the
// receiver decodes at least 90 % of the frames the sender encoded (NACK and RTX repair the
// losses, and the page holds video long enough for the repairs: web/playout.js), and with RED
// audio redundancy conceals under 5 % of the audio. The same minute without RED is measured
// too, to show what RED is worth.
//
// The server runs as a user would, with bandwidth estimation: str0m's estimate sinks under
// this much random loss (its loss-based part reads it as congestion), and the server keeps a
// picture's lowest layer while the receiver's reports show no overload (congestion.rs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossyMinute } from './lossy.mjs';

const pct = (/** @type {number} */ x) => `${(x * 100).toFixed(1)} %`;

test('over a lossy, slow link video and audio get through', { timeout: 600000 }, async () => {
  const off = await lossyMinute({ red: false });
  const on = await lossyMinute({ red: true });
  console.log(`frames decoded ${pct(on.frames)} (${on.decoded} of ${on.encoded}, ${on.freezes} freezes, ${on.frozen.toFixed(1)} s frozen); `
    + `audio concealed ${pct(on.concealed)} with RED, ${pct(off.concealed)} without`);
  assert.ok(on.encoded > 600, `the sender encoded only ${on.encoded} frames of its lowest layer in a minute`);
  assert.ok(on.frames >= 0.9, `the receiver decoded ${pct(on.frames)} of the frames (goal 90 %): ${JSON.stringify(on)}`);
  assert.ok(on.concealed < 0.05, `${pct(on.concealed)} of the audio concealed with RED (goal under 5 %)`);
  assert.ok(off.concealed > on.concealed, `RED made no difference: ${pct(off.concealed)} concealed without, ${pct(on.concealed)} with`);
});
