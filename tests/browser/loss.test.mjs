// Hotel Wi-Fi (issue 16): each browser's link loses 10 % of the datagrams each way, at random,
// and delays them by 20 ms each way (./lossy.mjs). Over a minute of an encrypted meeting the
// receiver decodes at least 90 % of the frames the sender encoded (NACK and RTX repair the
// losses, and the page holds video long enough for the repairs: web/playout.js), and with RED
// audio redundancy conceals under 5 % of the audio. The same minute without RED is measured
// too, to show what RED is worth.
//
// The server runs without bandwidth estimation here: str0m's estimator reads 10 % random loss
// as congestion (its loss-based part lowers the estimate above 10 % loss) and now and then
// estimates the link below the lowest layer, which pauses the video for seconds however well
// the losses are repaired. That is a separate matter (docs/connectivity.md, "Not yet"); this
// test is about the repair. `npm run loss` measures the default configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossyMinute } from './lossy.mjs';

const pct = (/** @type {number} */ x) => `${(x * 100).toFixed(1)} %`;

test('over a lossy, slow link video and audio get through', { timeout: 600000 }, async () => {
  const serverArgs = ['--no-bandwidth-estimation'];
  const off = await lossyMinute({ red: false, serverArgs });
  const on = await lossyMinute({ red: true, serverArgs });
  console.log(`frames decoded ${pct(on.frames)} (${on.decoded} of ${on.encoded}, ${on.freezes} freezes, ${on.frozen.toFixed(1)} s frozen); `
    + `audio concealed ${pct(on.concealed)} with RED, ${pct(off.concealed)} without`);
  assert.ok(on.encoded > 600, `the sender encoded only ${on.encoded} frames of its lowest layer in a minute`);
  assert.ok(on.frames >= 0.9, `the receiver decoded ${pct(on.frames)} of the frames (goal 90 %): ${JSON.stringify(on)}`);
  assert.ok(on.concealed < 0.05, `${pct(on.concealed)} of the audio concealed with RED (goal under 5 %)`);
  assert.ok(off.concealed > on.concealed, `RED made no difference: ${pct(off.concealed)} concealed without, ${pct(on.concealed)} with`);
});
