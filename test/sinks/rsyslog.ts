// Test harness: a real rsyslogd on loopback with UDP (imudp), plain TCP (imptcp), TLS (imtcp +
// gtls, self-signed certificate made with openssl) and a unix datagram socket (imuxsock),
// writing every message's transport, PRI, APP-NAME, PROCID, HOSTNAME and MSG to one file.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p)) ?? null;
const GTLS = ['/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so', '/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_gtls.so', '/usr/lib/rsyslog/lmnsd_gtls.so'].some((p) => existsSync(p));

/** null when everything is there; otherwise what is missing (for a loud skip or a CI failure). */
export function rsyslogMissing(): string | null {
  const missing: string[] = [];
  if (!RSYSLOGD) missing.push('rsyslogd (apt-get install rsyslog)');
  if (!GTLS) missing.push('rsyslog gtls driver (apt-get install rsyslog-gnutls)');
  if (spawnSync('openssl', ['version']).status !== 0) missing.push('openssl');
  if (spawnSync('python3', ['--version']).status !== 0) missing.push('python3');
  return missing.length ? missing.join(', ') : null;
}

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

export interface Received {
  input: string;
  pri: number;
  app: string;
  procid: string;
  host: string;
  msg: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Rsyslog {
  dir = '';
  udpPort = 0;
  tcpPort = 0;
  tlsPort = 0;
  sock = '';
  ca = '';
  out = '';
  private child: ChildProcess | null = null;
  private stderr = '';

  static async create(): Promise<Rsyslog> {
    const r = new Rsyslog();
    r.dir = await fsp.mkdtemp(join(tmpdir(), 'rsyslog-test-'));
    r.udpPort = await freeUdpPort();
    r.tcpPort = await freeTcpPort();
    r.tlsPort = await freeTcpPort();
    r.sock = join(r.dir, 'log.sock');
    r.out = join(r.dir, 'out.log');
    r.ca = join(r.dir, 'cert.pem');
    const key = join(r.dir, 'key.pem');
    const ossl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', r.ca,
      '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8' });
    if (ossl.status !== 0) throw new Error(`openssl: ${ossl.stderr}`);
    const d = r.dir;
    await fsp.writeFile(join(d, 'rsyslog.conf'), `
$MaxMessageSize 4m
global(workDirectory="${d}" net.enableDNS="off"
  defaultNetstreamDriverCAFile="${r.ca}" defaultNetstreamDriverCertFile="${r.ca}" defaultNetstreamDriverKeyFile="${key}")
main_queue(queue.timeoutShutdown="20000" queue.timeoutActionCompletion="20000")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="${r.sock}" RateLimit.Interval="0" UseSysTimeStamp="off")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="${r.udpPort}" RateLimit.Interval="0")
module(load="imptcp")
input(type="imptcp" address="127.0.0.1" port="${r.tcpPort}" maxFrameSize="4000000")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon" maxFrameSize="4000000")
input(type="imtcp" address="127.0.0.1" port="${r.tlsPort}")
template(name="raw" type="string" string="%inputname%|%pri%|%app-name%|%procid%|%hostname%|%msg%\\n")
*.* action(type="omfile" file="${r.out}" template="raw")
`);
    return r;
  }

  get running(): boolean { return this.child !== null; }

  async start(): Promise<void> {
    this.stderr = '';
    const child = spawn(RSYSLOGD!, ['-n', '-f', join(this.dir, 'rsyslog.conf'), '-i', join(this.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => { this.stderr += b.toString(); });
    child.stdout!.on('data', (b: Buffer) => { this.stderr += b.toString(); });
    child.once('exit', () => { if (this.child === child) this.child = null; });
    this.child = child;
    // ready when both TCP ports accept and the unix socket exists
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.child) throw new Error(`rsyslogd exited at start: ${this.stderr}`);
      const ok = existsSync(this.sock) && await canConnect(this.tcpPort) && await canConnect(this.tlsPort);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`rsyslogd not ready: ${this.stderr}`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await exited;
    this.child = null;
    await fsp.rm(this.sock, { force: true });
  }

  async lines(): Promise<Received[]> {
    const text = await fsp.readFile(this.out, 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map((l) => {
      const parts = l.split('|');
      const [input, pri, app, procid, host] = parts;
      let msg = parts.slice(5).join('|');
      if (msg.startsWith(' ')) msg = msg.slice(1); // RFC 3164 MSG keeps the space after the TAG
      return { input: input!, pri: Number(pri), app: app!, procid: procid!, host: host!, msg };
    });
  }

  /** wait until `pred` holds for the received lines (polling the output file) */
  async waitFor(pred: (lines: Received[]) => boolean, timeoutMs = 10_000): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = await this.lines();
      if (pred(lines)) return lines;
      if (Date.now() > deadline) return lines;
      await sleep(50);
    }
  }

  async reset(): Promise<void> { await fsp.writeFile(this.out, ''); }

  get log(): string { return this.stderr; }

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
