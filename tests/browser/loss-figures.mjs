// Figures for a lossy, slow link, as hotel Wi-Fi is (a measurement, run by hand: `npm run
// loss`; not part of `npm test`, see issue 16): in private network namespaces (./netns.mjs), each
// browser's link to the server loses a random share of the datagrams in each direction
// (SUMMIT_LOSS_UP, SUMMIT_LOSS_DOWN, 10 % each by default: about 19 % of what one page sends is
// lost before it reaches the other) and delays them by 20 ms each way. Over SUMMIT_LOSS_SECONDS
// (60) of an encrypted meeting it prints what share of the sender's frames the receiver decoded
// and what share of the audio it concealed, against the goals (90 %, 5 %), with RED audio
// redundancy and without (`summit serve --no-red`).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, joinPage, waitStats, myId, inbound } from './harness.mjs';
import { createNetwork } from './netns.mjs';

const SECONDS = Number(process.env.SUMMIT_LOSS_SECONDS || 60);
const here = dirname(fileURLToPath(import.meta.url));

/** Builds the NFQUEUE delay line (tests/tools/nfqdelay.c) into `dir`; its path. */
function buildDelay(dir) {
  const out = join(dir, 'nfqdelay');
  if (!existsSync(out)) execFileSync('cc', ['-O2', '-o', out, join(here, '..', 'tools', 'nfqdelay.c')]);
  return out;
}

/** Frames the sender's camera encoded so far, per simulcast layer (rid), with its width. */
async function encoded(page) {
  return page.evaluate(async () => {
    const s = /** @type {any} */ (window).summit;
    const out = {};
    (await s.conn.senders.get('camera').sender.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp') out[r.rid ?? 'q'] = { frames: r.framesEncoded || 0, sent: r.framesSent || 0, width: r.frameWidth || 0 };
    });
    return out;
  });
}

/**
 * A minute of a two-page encrypted meeting over lossy links; what the receiver got of the
 * sender's video and audio. `red` false starts the server with `--no-red` (the control).
 */
async function lossyMinute(red) {
  const net = createNetwork();
  const dir = mkdtempSync(join(tmpdir(), 'summit-loss-'));
  /** @type {any} */ let server;
  const browsers = [];
  try {
    const delay = buildDelay(dir);
    server = await startServer({ prefix: net.inside(net.srv), listen: net.srvIp, args: red ? [] : ['--no-red'] });
    const origin = new URL(server.url).origin;
    const launch = async () => { const b = await net.chromium(net.cli, origin); browsers.push(b); return b; };
    const url = (name, ...more) => server.invite('loss', name, '--skip-lobby', ...more).url;
    const a = await joinPage(await launch(), url('Ana', '--role', 'host'));
    const b = await joinPage(await launch(), url('Ben'));
    const ia = await myId(a);
    const cam = `${ia}:camera`;
    const mic = `${ia}:microphone`;
    await waitStats(b, (s) => s[cam]?.framesDecoded > 20 && s[mic]?.audioEnergy > 0, 30000, 'Ben decoding Ana');

    // The receiver shows the sender as a thumbnail, so that it receives one layer throughout
    // (the lowest, 320 by 180) and the frames it decodes compare with that layer's.
    await b.evaluate((who) => {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(`.tile[data-participant="${who}"] { width:200px !important; height:112px !important; min-height:0 !important; }`);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    }, ia);
    await waitStats(b, (s) => s[cam]?.frameWidth > 0 && s[cam].frameWidth <= 400, 30000, 'Ben on the lowest layer');

    // Both directions of the browsers' link: lost on arrival (a DROP on the sender's own
    // OUTPUT fails the send, which the browser repeats), delayed in the browsers' namespace.
    net.loseFrom(net.srv, net.cliIp, Number(process.env.SUMMIT_LOSS_UP ?? 0.10));
    net.loseFrom(net.cli, net.srvIp, Number(process.env.SUMMIT_LOSS_DOWN ?? 0.10));
    for (const chain of ['INPUT', 'OUTPUT']) {
      net.exec(net.cli, 'iptables', '-A', chain, '-p', 'udp', '-j', 'NFQUEUE', '--queue-num', '7');
    }
    const line = spawn('ip', ['netns', 'exec', net.cli, delay, '7', '20', String(SECONDS + 60)], { stdio: 'ignore' });
    net.children.push(line);
    // Settled into the loss (the estimate and the encoder adapt) before measuring.
    await new Promise((r) => setTimeout(r, 5000));
    const [e0, r0] = [await encoded(a), (await inbound(b))];
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const [e1, r1] = [await encoded(a), (await inbound(b))];
    const rid = 'q';
    const sent = e1[rid].frames - (e0[rid]?.frames ?? 0);
    const frames = (r1[cam].framesDecoded - r0[cam].framesDecoded) / Math.max(1, sent);
    const concealed = (r1[mic].concealedSamples - r0[mic].concealedSamples)
      / Math.max(1, r1[mic].totalSamplesReceived - r0[mic].totalSamplesReceived);
    const lost = (r1[cam].packetsLost - r0[cam].packetsLost);
    const got = (r1[cam].packetsReceived - r0[cam].packetsReceived);
    const out = {
      frames, concealed, layer: rid, encoded: sent, framesSent: e1[rid].sent - (e0[rid]?.sent ?? 0),
      received: r1[cam].framesReceived - r0[cam].framesReceived, dropped: r1[cam].framesDropped - r0[cam].framesDropped, decoded: r1[cam].framesDecoded - r0[cam].framesDecoded,
      keyFrames: r1[cam].keyFramesDecoded - r0[cam].keyFramesDecoded, nacks: r1[cam].nackCount - r0[cam].nackCount,
      videoLost: lost / Math.max(1, lost + got), width: r1[cam].frameWidth,
    };
    console.log(`RED ${red ? 'on' : 'off'}: ${JSON.stringify(out)}`);
    if (process.env.SUMMIT_LOSS_DEBUG) {
      // What became of the frames, as the receiver's browser and its decryption worker saw it.
      const sub = await b.evaluate(async (mid) => {
        const s = /** @type {any} */ (window).summit;
        const o = { worker: s.frames ? (await s.frames.report()).stats : null, video: null };
        (await s.conn.sub.getStats()).forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesReceived > 0) {
            o.video = Object.fromEntries(['framesReceived', 'framesDecoded', 'framesDropped', 'framesAssembledFromMultiplePackets',
              'freezeCount', 'totalFreezesDuration', 'pliCount', 'nackCount', 'packetsLost', 'packetsReceived',
              'retransmittedPacketsReceived', 'jitterBufferDelay', 'jitterBufferEmittedCount', 'keyFramesDecoded'].map((k) => [k, r[k]]));
          }
        });
        return o;
      }, cam);
      console.log(JSON.stringify(sub));
    }
    return out;
  } finally {
    for (const br of browsers) await br.close().catch(() => {});
    await server?.stop();
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const off = await lossyMinute(false);
const on = await lossyMinute(true);
const pct = (x) => `${(x * 100).toFixed(1)} %`;
console.log(`frames decoded: ${pct(on.frames)} of those encoded (goal ≥ 90 %)`);
console.log(`audio concealed: ${pct(on.concealed)} with RED (goal < 5 %), ${pct(off.concealed)} without`);
