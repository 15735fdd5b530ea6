// Private networks for browser tests (../shared/notes/netns.md): two network namespaces joined
// by a veth pair, made by the test and removed after it, so that a firewall or a lost link
// touches nothing but the test. The server and each browser run inside one of them through
// `ip netns exec`; Playwright still drives the browsers over the pipes it gives them.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, chmodSync, rmSync, readFileSync } from 'node:fs';
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
  for (const tool of ['ip', 'iptables', 'ss', 'turnserver', 'turnutils_uclient']) {
    try { run('sh', '-c', `command -v ${tool}`); } catch { return `${tool} is missing: apt-get install -y iproute2 iptables coturn`; }
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
     * Drops a random `share` (0..1) of the UDP datagrams `ns` receives from `from` (iptables
     * `statistic` on INPUT). On the receiving side, as a lossy link would: a DROP on the
     * sender's OUTPUT chain fails its send (EPERM), which a browser takes as a reason to send
     * again, so little is lost in the end.
     */
    loseFrom(ns, from, share) {
      n.exec(ns, 'iptables', '-A', 'INPUT', '-s', from, '-p', 'udp', '-m', 'statistic', '--mode', 'random',
        '--probability', String(share), '-j', 'DROP');
    },
    /** Removes every firewall rule from `ns`. */
    clearFirewall(ns) {
      for (const chain of ['INPUT', 'OUTPUT']) n.exec(ns, 'iptables', '-F', chain);
    },
    /**
     * Lets `ns` reach `ip` only on the given TCP ports: UDP and every other port to it are
     * dropped (a firewall that opens the web page and a TURN server, not the media ports).
     */
    onlyTcpTo(ns, ip, ports) {
      n.dropUdp(ns);
      for (const port of ports) n.exec(ns, 'iptables', '-A', 'OUTPUT', '-p', 'tcp', '-d', ip, '--dport', String(port), '-j', 'ACCEPT');
      n.exec(ns, 'iptables', '-A', 'OUTPUT', '-d', ip, '-j', 'DROP');
    },
    /**
     * Starts coturn (Debian's `turnserver`) in `ns` on `ip`:3478, checking time-limited
     * credentials made with `secret` (`--use-auth-secret`), relaying to nothing but `peer`
     * among private addresses, as docs/connectivity.md advises. Resolves once it listens.
     */
    async coturn(ns, ip, secret, peer) {
      const log = join(dir, `coturn-${ns}.log`);
      const proc = spawn('ip', ['netns', 'exec', ns, 'turnserver', '-n', '--listening-ip', ip, '--listening-port', '3478',
        '--relay-ip', ip, '--use-auth-secret', '--static-auth-secret', secret, '--realm', 'summit.test',
        '--no-tls', '--no-dtls', '--no-cli', '--simple-log', '--log-file', log, '--min-port', '49152', '--max-port', '49999',
        '--denied-peer-ip', '10.0.0.0-10.255.255.255', '--denied-peer-ip', '172.16.0.0-172.31.255.255',
        '--denied-peer-ip', '192.168.0.0-192.168.255.255', '--allowed-peer-ip', peer], { stdio: 'ignore' });
      n.children.push(proc);
      const end = Date.now() + 10000;
      while (Date.now() < end) {
        const listening = (() => { try { return n.exec(ns, 'ss', '-ltn', `sport = :3478`).includes(ip); } catch { return false; } })();
        if (listening) return;
        if (proc.exitCode !== null) throw new Error(`coturn exited: ${readFileSync(log, 'utf8').slice(-500)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('coturn did not listen within 10 s');
    },
    /**
     * Whether coturn at `ip`:3478 gives `username`/`password` a relay (an Allocate over TCP with
     * Debian's `turnutils_uclient`, run in `ns`); the tool's output when it does not.
     */
    turnAllocates(ns, ip, username, password) {
      const r = spawnSync('ip', ['netns', 'exec', ns, 'turnutils_uclient', '-v', '-t', '-n', '1', '-m', '1', '-l', '100',
        '-u', username, '-w', password, '-p', '3478', '-e', ip, ip], { encoding: 'utf8', timeout: 15000 });
      const out = `${r.stdout}${r.stderr}`;
      return { ok: /Received relay addr/.test(out), out: out.slice(-600) };
    },
    /** @type {import('node:child_process').ChildProcess[]} */
    children: [],
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
    /**
     * The client namespace's network changes under it, as when a laptop moves from one Wi-Fi
     * to another: the old address goes and a new one comes. Returns the new address.
     */
    renumber() {
      const fresh = `10.${net}.0.${3 + n.renumbered++}`;
      // Removed first: a second address in the subnet would go with the first (secondaries).
      n.exec(cli, 'ip', 'addr', 'del', `${n.cliIp}/24`, 'dev', `cv${id}`);
      n.exec(cli, 'ip', 'addr', 'add', `${fresh}/24`, 'dev', `cv${id}`);
      n.cliIp = fresh;
      return fresh;
    },
    renumbered: 0,
    destroy() {
      for (const c of n.children) c.kill('SIGKILL');
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
      // IPv4 only: an IPv6 link-local address appearing a second or two later (after duplicate
      // address detection) is a network change to Chromium, which then fails the page's
      // requests in flight (ERR_NETWORK_CHANGED) and its scripts never run.
      run('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
      run('ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1');
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
