// What the rsyslogd test harnesses (rsyslog.ts: UDP/TCP/TLS/unix, relp-server.ts: RELP) share:
// finding rsyslogd and its modules, free loopback ports, a self-signed certificate, the output
// template and its parser, and a base class that runs one rsyslogd in the foreground.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p)) ?? null;
const MODDIRS = ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'];

/** whether an rsyslog module (e.g. "imrelp.so") is installed */
export function hasRsyslogModule(file: string): boolean {
  return MODDIRS.some((d) => existsSync(join(d, file)));
}

export function hasCommand(cmd: string, arg: string): boolean {
  return spawnSync(cmd, [arg]).status === 0;
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

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** self-signed certificate for localhost / 127.0.0.1: dir/cert.pem (also the CA) and dir/key.pem */
export function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const ossl = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { encoding: 'utf8' },
  );
  if (ossl.status !== 0) throw new Error(`openssl: ${ossl.stderr}`);
  return { cert, key };
}

/** rsyslog.conf lines writing every message as one "input|pri|app|procid|host|msg" line to `out` */
export function outputConf(out: string): string {
  return `template(name="raw" type="string" string="%inputname%|%pri%|%app-name%|%procid%|%hostname%|%msg%\\n")
*.* action(type="omfile" file="${out}" template="raw")`;
}

export interface Received {
  input: string;
  pri: number;
  app: string;
  procid: string;
  host: string;
  msg: string;
}

/** The lines a receiver wrote with the "raw" template (inputname|pri|app|procid|host|msg). */
export async function readReceived(out: string, trimMsgSpace = false): Promise<Received[]> {
  const text = await fsp.readFile(out, 'utf8').catch(() => '');
  // only whole lines: the receiver may be halfway through writing the last one (a 16 KB
  // datagram read mid-write once looked like a message cut short)
  return text
    .slice(0, text.lastIndexOf('\n') + 1)
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const parts = l.split('|');
      const [input, pri, app, procid, host] = parts;
      let msg = parts.slice(5).join('|');
      if (trimMsgSpace && msg.startsWith(' ')) msg = msg.slice(1);
      return { input: input!, pri: Number(pri), app: app!, procid: procid!, host: host!, msg };
    });
}

/** Polls `read` until `pred` holds for the lines or the time is up; returns the last lines read. */
export async function waitForReceived(read: () => Promise<Received[]>, pred: (lines: Received[]) => boolean, timeoutMs: number): Promise<Received[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = await read();
    if (pred(lines) || Date.now() > deadline) return lines;
    await sleep(50);
  }
}

export interface RsyslogdOptions {
  /** drop the space an RFC 3164 MSG keeps after the TAG */
  trimMsgSpace?: boolean;
  /** quote only the last this many characters of rsyslogd's output when start fails */
  errorTail?: number;
  /** SIGKILL rsyslogd when it has not exited this long after the stop signal */
  killAfterMs?: number;
}

/** One rsyslogd run in the foreground with dir/rsyslog.conf, its messages in `out` (see outputConf). */
export abstract class RsyslogdProcess {
  dir = '';
  ca = '';
  out = '';
  private child: ChildProcess | null = null;
  private stderr = '';

  constructor(private readonly opts: RsyslogdOptions = {}) {}

  /** whether rsyslogd accepts on all its inputs */
  protected abstract ready(): Promise<boolean>;

  get running(): boolean {
    return this.child !== null;
  }
  get log(): string {
    return this.stderr;
  }

  async start(): Promise<void> {
    this.stderr = '';
    const child = spawn(RSYSLOGD!, ['-n', '-f', join(this.dir, 'rsyslog.conf'), '-i', join(this.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    child.stdout!.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
    const tail = () => (this.opts.errorTail === undefined ? this.stderr : this.stderr.slice(-this.opts.errorTail));
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.child) throw new Error(`rsyslogd exited at start: ${tail()}`);
      if (await this.ready()) break;
      if (Date.now() > deadline) throw new Error(`rsyslogd not ready: ${tail()}`);
      await sleep(50);
    }
  }

  /** sends `signal` and waits for rsyslogd to exit (nothing when it is not running) */
  protected async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const escalate = this.opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), this.opts.killAfterMs);
    await exited;
    clearTimeout(escalate);
    this.child = null;
  }

  abstract stop(): Promise<void>;

  async lines(): Promise<Received[]> {
    return readReceived(this.out, this.opts.trimMsgSpace === true);
  }

  /** wait until `pred` holds for the received lines (polling the output file) */
  waitFor(pred: (lines: Received[]) => boolean, timeoutMs = 10_000): Promise<Received[]> {
    return waitForReceived(() => this.lines(), pred, timeoutMs);
  }

  async reset(): Promise<void> {
    await fsp.writeFile(this.out, '');
  }

  async cleanup(): Promise<void> {
    await this.stop();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}
