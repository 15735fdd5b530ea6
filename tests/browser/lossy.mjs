// A lossy, slow link, as hotel Wi-Fi is: in private network namespaces (./netns.mjs), each
// browser's link to the server loses a random share of the datagrams in each direction (10 %
// each by default: about 19 % of what one page sends is lost before it reaches the other),
// dropped on arrival with iptables' `statistic` match, and delays them by 20 ms each way (an
// NFQUEUE delay line, tests/tools/nfqdelay.c, since this kernel has no netem). Used by
// loss.test.mjs (the goals) and loss-figures.mjs (the figures, by hand).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, joinPage, waitStats, myId, inbound } from './harness.mjs';
import { createNetwork } from './netns.mjs';

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
    const out = {};
    const sender = /** @type {any} */ (window).summitTest.sender('camera');
    if (!sender) return out;
    const stats = await sender.getStats();
    stats.forEach((r) => {
      // What the server's receiver reports say of the layer: packets it never got (after its
      // own retransmission requests), against what was sent.
      const remote = r.remoteId ? stats.get(r.remoteId) : undefined;
      if (r.type === 'outbound-rtp') out[r.rid ?? 'q'] = { frames: r.framesEncoded || 0, sent: r.framesSent || 0, width: r.frameWidth || 0, mode: r.scalabilityMode, nacks: r.nackCount, rtx: r.retransmittedPacketsSent, packets: r.packetsSent, upLost: remote?.packetsLost, upRtt: remote?.roundTripTime };
    });
    return out;
  });
}

/**
 * @typedef {object} LossyRun
 * @property {boolean} red RED audio redundancy (false starts the server with `--no-red`)
 * @property {number} [seconds] how long to measure (60)
 * @property {number} [up] share of datagrams lost on the way to the server (0.10)
 * @property {number} [down] share lost on the way back (0.10)
 * @property {string[]} [serverArgs] more `summit serve` options
 * @property {boolean} [debug] print what became of the frames
 */

/**
 * Some time of a two-page encrypted meeting over lossy, slow links; what the receiver got of
 * the sender's video and audio.
 * @param {LossyRun} run
 */
export async function lossyMinute({ red, seconds = 60, up = 0.10, down = 0.10, serverArgs = [], debug = false }) {
  const net = createNetwork();
  const dir = mkdtempSync(join(tmpdir(), 'summit-loss-'));
  /** @type {any} */ let server;
  const browsers = [];
  try {
    const delay = buildDelay(dir);
    // The server logs its layer choices and link verdicts (a few lines a minute), so that a
    // run that falls short says whether the server paused the picture or the repairs failed.
    server = await startServer({ prefix: net.inside(net.srv), listen: net.srvIp, args: [...(red ? [] : ['--no-red']), ...serverArgs],
      log: 'summit=info,summit_core::router::bandwidth=debug,summit_core::router::keyframe=debug,warn' });
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
    // (the lowest, 320 by 180) and the frames it decodes compare with that layer's. The sender
    // shows the receiver small too: two browsers, the server and the delay line share two
    // cores here, and a 720p picture to decode made the figures follow the machine's load (a
    // stats poll every 100 ms cost 3-4 points) more than the link's.
    const thumbnail = (/** @type {string} */ who) => {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(`.tile[data-participant="${who}"] { width:200px !important; height:112px !important; min-height:0 !important; }`);
      document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    };
    await b.evaluate(thumbnail, ia);
    await a.evaluate(thumbnail, await myId(b));
    await waitStats(b, (s) => s[cam]?.frameWidth > 0 && s[cam].frameWidth <= 400, 30000, 'Ben on the lowest layer');

    // Both directions of the browsers' link: lost on arrival (a DROP on the sender's own
    // OUTPUT fails the send, which the browser repeats), delayed in the browsers' namespace.
    net.loseFrom(net.srv, net.cliIp, up);
    net.loseFrom(net.cli, net.srvIp, down);
    for (const chain of ['INPUT', 'OUTPUT']) {
      net.exec(net.cli, 'iptables', '-A', chain, '-p', 'udp', '-j', 'NFQUEUE', '--queue-num', '7');
    }
    const line = spawn('ip', ['netns', 'exec', net.cli, delay, '7', '20', String(seconds + 60)], { stdio: 'ignore' });
    net.children.push(line);
    // Settled into the loss (the estimate and the encoder adapt) before measuring.
    await new Promise((r) => setTimeout(r, 5000));
    const wk = () => b.evaluate(async () => { const f = /** @type {any} */ (window).summitTest.frames(); return f ? (await f.report()).stats : {}; });
    if (debug) {
      await b.evaluate(() => {
        const w = /** @type {any} */ (window);
        w.timeline = [];
        setInterval(async () => {
          const sub = w.summitTest.subscribing();
          if (!sub) return;
          const st = await sub.getStats();
          st.forEach((r) => { if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesReceived > 0) w.timeline.push([Date.now(), r.framesDecoded, r.framesReceived, r.packetsReceived, r.nackCount, r.pliCount, r.keyFramesDecoded]); });
        }, 100);
      });
    }
    const [e0, r0, w0] = [await encoded(a), (await inbound(b)), await wk()];
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const [e1, r1, w1] = [await encoded(a), (await inbound(b)), await wk()];
    if (debug) {
      const d = {};
      for (const k of Object.keys(w1)) d[k] = w1[k] - (w0[k] ?? 0);
      const dr = {};
      for (const k of ['framesReceived', 'framesDecoded', 'framesDropped', 'packetsLost', 'packetsReceived', 'nackCount', 'keyFramesDecoded', 'freezeCount', 'totalFreezesDuration', 'pliCount', 'retransmittedPacketsReceived', 'jitterBufferDelay', 'jitterBufferTargetDelay', 'jitterBufferEmittedCount']) dr[k] = (r1[cam][k] ?? 0) - (r0[cam][k] ?? 0);
      const tl = await b.evaluate(() => /** @type {any} */ (window).timeline);
      let lastChange = tl[0];
      for (const row of tl) {
        if (row[1] !== lastChange[1]) {
          if (row[0] - lastChange[0] > 600) console.log(`stall ${new Date(lastChange[0]).toISOString()} .. ${new Date(row[0]).toISOString()} (${row[0] - lastChange[0]} ms)`, JSON.stringify(lastChange), JSON.stringify(row));
          lastChange = row;
        }
      }
      console.log('worker delta', JSON.stringify(d), 'video delta', JSON.stringify(dr), 'sender', JSON.stringify(e1.q), JSON.stringify(e0.q));
    }
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
      freezes: r1[cam].freezeCount - r0[cam].freezeCount, plis: r1[cam].pliCount - r0[cam].pliCount,
      frozen: r1[cam].totalFreezesDuration - r0[cam].totalFreezesDuration,
      // How long audio waited in the receiver's jitter buffer on average (ms): it grows when
      // the browser holds audio back to keep it in step with late video.
      audioDelayMs: Math.round(1000 * (r1[mic].jitterBufferDelay - r0[mic].jitterBufferDelay)
        / Math.max(1, r1[mic].jitterBufferEmittedCount - r0[mic].jitterBufferEmittedCount)),
      // What the server decided for the receiver's video meanwhile (layer changes, link verdicts).
      server: server.recent(400).filter((/** @type {string} */ l) => /summit_core::router::(bandwidth|keyframe)/.test(l)).slice(-20),
    };
    if (debug) {
      // What became of the frames, as the receiver's browser and its decryption worker saw it.
      const sub = await b.evaluate(async (mid) => {
        const s = /** @type {any} */ (window).summitTest;
        const f = s.frames();
        const o = { worker: f ? (await f.report()).stats : null, video: null, hold: s.playoutTarget() };
        (await s.subscribing().getStats()).forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video' && r.framesReceived > 0) {
            o.video = Object.fromEntries(['framesReceived', 'framesDecoded', 'framesDropped', 'framesAssembledFromMultiplePackets',
              'freezeCount', 'totalFreezesDuration', 'pliCount', 'nackCount', 'packetsLost', 'packetsReceived',
              'retransmittedPacketsReceived', 'jitterBufferDelay', 'jitterBufferEmittedCount', 'keyFramesDecoded'].map((k) => [k, r[k]]));
          }
        });
        return o;
      }, cam);
      console.log(JSON.stringify(sub), JSON.stringify(e1), JSON.stringify(e0));
    }
    return out;
  } finally {
    for (const br of browsers) await br.close().catch(() => {});
    await server?.stop();
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

