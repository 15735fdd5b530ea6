// Figures for a lossy, slow link (./lossy.mjs), run by hand as root: `npm run loss`. Over
// SUMMIT_LOSS_SECONDS (60) of an encrypted meeting it prints what share of the sender's frames the
// receiver decoded and what share of the audio it concealed, with RED audio redundancy and
// without (`summit serve --no-red`). SUMMIT_LOSS_UP and SUMMIT_LOSS_DOWN set the loss each way
// (0.10), SUMMIT_LOSS_ONLY=on|off runs one of the two, SUMMIT_LOSS_ARGS adds `summit serve`
// options, SUMMIT_LOSS_DEBUG=1 prints what became of the frames and when the picture stalled.
import { lossyMinute } from './lossy.mjs';

const run = {
  seconds: Number(process.env.SUMMIT_LOSS_SECONDS || 60),
  up: Number(process.env.SUMMIT_LOSS_UP ?? 0.10),
  down: Number(process.env.SUMMIT_LOSS_DOWN ?? 0.10),
  serverArgs: process.env.SUMMIT_LOSS_ARGS ? process.env.SUMMIT_LOSS_ARGS.split(' ') : [],
  debug: !!process.env.SUMMIT_LOSS_DEBUG,
};
const only = process.env.SUMMIT_LOSS_ONLY;
const none = { frames: 0, concealed: 0 };
const off = only === 'on' ? none : await lossyMinute({ ...run, red: false });
if (only !== 'on') console.log(`RED off: ${JSON.stringify(off)}`);
const on = only === 'off' ? none : await lossyMinute({ ...run, red: true });
if (only !== 'off') console.log(`RED on: ${JSON.stringify(on)}`);
const pct = (/** @type {number} */ x) => `${(x * 100).toFixed(1)} %`;
console.log(`frames decoded: ${pct(on.frames)} of those encoded (goal ≥ 90 %)`);
console.log(`audio concealed: ${pct(on.concealed)} with RED (goal < 5 %), ${pct(off.concealed)} without`);
