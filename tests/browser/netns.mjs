// Private networks for browser tests (../shared/notes/netns.md): two network namespaces joined
// by a veth pair, made by the test and removed after it, so that a firewall or a lost link
// touches nothing but the test. The server and each browser run inside one of them through
// `ip netns exec`; Playwright still drives the browsers over the pipes it gives them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from './harness.mjs';

/** Runs a command; its output, or an Error saying what failed. */
function run(cmd, ...args) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Why namespaces cannot be made here ('' when they can): tests fail with it, never skip. */
export function netnsProblem() {
  if (process.getuid?.() !== 0) return 'network namespace tests need root (ip netns)';
  for (const tool of ['ip', 'iptables']) {
    try { run('sh', '-c', `command -v ${tool}`); } catch { return `${tool} is missing: apt-get install -y iproute2 iptables`; }
  }
  return '';
}

let next = 0;

/**
 * A server namespace and a client namespace on 10.<n>.0.1 and 10.<n>.0.2. `destroy()` removes
 * both (and everything in them).
 */
export function createNetwork() {
  const problem = netnsProblem();
  if (problem) throw new Error(problem);
  const id = `${process.pid % 10000}${next++}`;
  const net = 90 + (process.pid + next) % 40;
  const srv = `sm-s${id}`;
  const cli = `sm-c${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'summit-netns-'));
  const n = {
    srv, cli,
    srvIp: `10.${net}.0.1`,
    cliIp: `10.${net}.0.2`,
    /** Runs a command inside a namespace. */
    exec(ns, cmd, ...args) { return run('ip', 'netns', 'exec', ns, cmd, ...args); },
    /** A command line that runs `cmd` (if given; else what follows) inside `ns`. */
    inside(ns, ...cmd) { return ['ip', 'netns', 'exec', ns, ...cmd]; },
    /** Drops every UDP datagram in and out of a namespace (a firewall that allows only TCP). */
    dropUdp(ns) {
      for (const chain of ['INPUT', 'OUTPUT']) n.exec(ns, 'iptables', '-A', chain, '-p', 'udp', '-j', 'DROP');
    },
    /**
     * Launches Debian's Chromium inside `ns` with fake devices, treating `origin` (plain HTTP on
     * a namespace address) as secure, as cameras and WebCrypto require.
     */
    async chromium(ns, origin) {
      const wrapper = join(dir, `chromium-${ns}`);
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} /usr/bin/chromium "$@"\n`);
      chmodSync(wrapper, 0o755);
      return chromium.launch({
        executablePath: wrapper, headless: true,
        args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${origin}`],
      });
    },
    destroy() {
      for (const ns of [srv, cli]) { try { run('ip', 'netns', 'del', ns); } catch { /* gone */ } }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    run('ip', 'netns', 'add', srv);
    run('ip', 'netns', 'add', cli);
    const [a, b] = [`sv${id}`, `cv${id}`];
    run('ip', 'link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    run('ip', 'link', 'set', a, 'netns', srv);
    run('ip', 'link', 'set', b, 'netns', cli);
    for (const [ns, dev, ip] of [[srv, a, n.srvIp], [cli, b, n.cliIp]]) {
      run('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev);
      run('ip', '-n', ns, 'link', 'set', dev, 'up');
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }
  } catch (e) {
    n.destroy();
    throw e;
  }
  return n;
}
