// Test harness: a real rsyslogd with imrelp (plain and TLS) on free loopback ports, writing
// every message's input, PRI, APP-NAME, PROCID, HOSTNAME and MSG to one file.
// The main queue is Direct: a message is written to the output file before imrelp
// acknowledges it, so "acknowledged" and "in the file" mean the same thing even when the
// test kills rsyslogd with SIGKILL.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p)) ?? null;
const MODDIRS = ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'];
const IMRELP = MODDIRS.some((d) => existsSync(join(d, 'imrelp.so')));

/** null when everything is there; otherwise what is missing (for a loud skip or a CI failure). */
export function relpServerMissing(): string | null {
  const missing: string[] = [];
  if (!RSYSLOGD) missing.push('rsyslogd (apt-get install rsyslog)');
  if (!IMRELP) missing.push('rsyslog imrelp module (apt-get install rsyslog-relp)');
  if (spawnSync('openssl', ['version']).status !== 0) missing.push('openssl');
  return missing.length ? missing.join(', ') : null;
}

export async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RelpReceived {
  input: string;
  pri: number;
  app: string;
  procid: string;
  host: string;
  msg: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RelpServer {
  dir = '';
  port = 0;
  tlsPort = 0;
  ca = '';
  out = '';
  private child: ChildProcess | null = null;
  private stderr = '';

  static async create(): Promise<RelpServer> {
    const r = new RelpServer();
    r.dir = await fsp.mkdtemp(join(tmpdir(), 'rsyslog-relp-test-'));
    r.port = await freeTcpPort();
    r.tlsPort = await freeTcpPort();
    r.out = join(r.dir, 'out.log');
    r.ca = join(r.dir, 'cert.pem');
    const key = join(r.dir, 'key.pem');
    const ossl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', r.ca,
      '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
    if (ossl.status !== 0) throw new Error(`openssl: ${ossl.stderr}`);
    const d = r.dir;
    await fsp.writeFile(join(d, 'rsyslog.conf'), `
global(workDirectory="${d}" net.enableDNS="off" maxMessageSize="4m")
main_queue(queue.type="Direct")
module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="${r.port}" maxDataSize="4194304" name="relp")
input(type="imrelp" address="127.0.0.1" port="${r.tlsPort}" maxDataSize="4194304" name="relps"
      tls="on" tls.caCert="${r.ca}" tls.myCert="${r.ca}" tls.myPrivKey="${key}" tls.authMode="certvalid")
template(name="raw" type="string" string="%inputname%|%pri%|%app-name%|%procid%|%hostname%|%msg%\\n")
*.* action(type="omfile" file="${r.out}" template="raw")
`);
    return r;
  }

  get running(): boolean { return this.child !== null; }
  get log(): string { return this.stderr; }

  async start(): Promise<void> {
    this.stderr = '';
    const child = spawn(RSYSLOGD!, ['-n', '-f', join(this.dir, 'rsyslog.conf'), '-i', join(this.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => { this.stderr += b.toString(); });
    child.stdout!.on('data', (b: Buffer) => { this.stderr += b.toString(); });
    child.once('exit', () => { if (this.child === child) this.child = null; });
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.child) throw new Error(`rsyslogd exited at start: ${this.stderr.slice(-2000)}`);
      if (await canConnect(this.port) && await canConnect(this.tlsPort)) break;
      if (Date.now() > deadline) throw new Error(`rsyslogd not ready: ${this.stderr.slice(-2000)}`);
      await sleep(50);
    }
  }

  /** SIGTERM (graceful: imrelp sends "serverclose") or SIGKILL (the process is gone at once) */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    // rsyslogd can wait a long time on a TLS session stuck in its handshake: do not hang the tests
    const escalate = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(escalate);
    this.child = null;
  }

  async lines(): Promise<RelpReceived[]> {
    const text = await fsp.readFile(this.out, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((l) => {
      const parts = l.split('|');
      const [input, pri, app, procid, host] = parts;
      return { input: input!, pri: Number(pri), app: app!, procid: procid!, host: host!, msg: parts.slice(5).join('|') };
    });
  }

  async waitFor(pred: (lines: RelpReceived[]) => boolean, timeoutMs = 10_000): Promise<RelpReceived[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = await this.lines();
      if (pred(lines) || Date.now() > deadline) return lines;
      await sleep(50);
    }
  }

  async reset(): Promise<void> { await fsp.writeFile(this.out, ''); }

  async cleanup(): Promise<void> {
    await this.stop();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
