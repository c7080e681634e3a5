// Test harness: a real syslog-ng on loopback with two syslog() sources, plain TCP and TLS
// (self-signed certificate made with openssl), each RFC 6587 octet-counted and accepting RFC
// 5424 and RFC 3164 headers, writing every message's source, PRI, PROGRAM, PID, HOST and MSG
// to one file. Its config, pid file, control socket and persist file live in a temp dir, so
// it cannot clash with a system syslog-ng or with the rsyslogd tests.
// The binary: /usr/sbin/syslog-ng when installed, else the syslog-ng-core package that
// driver/setup.sh unpacks under /opt/sysmon-ts-test (Debian's conflicts with rsyslog).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fsp, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freeTcpPort, hasCommand, makeCertificate, readReceived, sleep, waitForReceived, type Received } from './rsyslogd-process.js';

export const UNPACKED_SYSLOG_NG = '/opt/sysmon-ts-test/syslog-ng';

interface Binary {
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  version: string;
}

function findSyslogNg(): Binary | null {
  let bin: string;
  let args: string[] = [];
  let env: NodeJS.ProcessEnv = process.env;
  if (existsSync('/usr/sbin/syslog-ng')) {
    bin = '/usr/sbin/syslog-ng';
  } else if (existsSync(join(UNPACKED_SYSLOG_NG, 'usr/sbin/syslog-ng'))) {
    bin = join(UNPACKED_SYSLOG_NG, 'usr/sbin/syslog-ng');
    const lib = join(UNPACKED_SYSLOG_NG, 'usr/lib/syslog-ng');
    const modules = readdirSync(lib).find((d) => /^\d+\.\d+$/.test(d));
    if (!modules) return null;
    args = [`--module-path=${join(lib, modules)}`];
    env = { ...process.env, LD_LIBRARY_PATH: lib };
  } else {
    return null;
  }
  const v = spawnSync(bin, ['--version'], { env, encoding: 'utf8' });
  const version = /Installer-Version:\s*(\d+\.\d+)/.exec(v.stdout)?.[1];
  if (v.status !== 0 || !version) return null;
  return { bin, args, env, version };
}

const BINARY = findSyslogNg();

/** null when everything is there; otherwise what is missing (for a loud skip or a CI failure). */
export function syslogNgMissing(): string | null {
  const missing: string[] = [];
  if (!BINARY) missing.push(`syslog-ng (/usr/sbin/syslog-ng, or ${UNPACKED_SYSLOG_NG} from driver/setup.sh)`);
  if (!hasCommand('openssl', 'version')) missing.push('openssl');
  if (!hasCommand('python3', '--version')) missing.push('python3');
  return missing.length ? missing.join(', ') : null;
}

export class SyslogNg {
  dir = '';
  ca = '';
  out = '';
  tcpPort = 0;
  tlsPort = 0;
  private child: ChildProcess | null = null;
  private output = '';

  static async create(): Promise<SyslogNg> {
    const s = new SyslogNg();
    s.dir = await fsp.mkdtemp(join(tmpdir(), 'syslog-ng-test-'));
    s.tcpPort = await freeTcpPort();
    s.tlsPort = await freeTcpPort();
    s.out = join(s.dir, 'out.log');
    const { cert, key } = makeCertificate(s.dir);
    s.ca = cert;
    // log-msg-size: 64 KiB by default, a 100 KB command line needs more; keep-hostname: the
    // sender's HOSTNAME field, not the peer address; no flags(): syslog() parses the header
    const src = (transport: string, port: number, tls = '') =>
      `syslog(ip("127.0.0.1") port(${port}) transport("${transport}") log-msg-size(4000000) keep-hostname(yes)${tls})`;
    await fsp.writeFile(
      join(s.dir, 'syslog-ng.conf'),
      `@version: ${BINARY!.version}
options { chain-hostnames(no); stats-freq(0); log-msg-size(4000000); };
source s_tcp { ${src('tcp', s.tcpPort)}; };
source s_tls { ${src('tls', s.tlsPort, ` tls(key-file("${key}") cert-file("${cert}") peer-verify(optional-untrusted))`)}; };
destination d_out { file("${s.out}" template("$SOURCE|$PRI|$PROGRAM|$PID|$HOST|$MSG\\n")); };
log { source(s_tcp); source(s_tls); destination(d_out); flags(flow-control); };
`,
    );
    return s;
  }

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    const d = this.dir;
    this.output = '';
    const child = spawn(
      BINARY!.bin,
      [
        ...BINARY!.args,
        '-F',
        '--no-caps',
        '-f',
        join(d, 'syslog-ng.conf'),
        '-p',
        join(d, 'syslog-ng.pid'),
        '-c',
        join(d, 'syslog-ng.ctl'),
        '-R',
        join(d, 'syslog-ng.persist'),
      ],
      { env: BINARY!.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (b: Buffer) => {
      this.output += b.toString();
    });
    child.stderr!.on('data', (b: Buffer) => {
      this.output += b.toString();
    });
    child.once('exit', () => {
      if (this.child === child) this.child = null;
    });
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.child) throw new Error(`syslog-ng exited at start: ${this.output}`);
      if ((await canConnect(this.tcpPort)) && (await canConnect(this.tlsPort))) break;
      if (Date.now() > deadline) throw new Error(`syslog-ng not ready: ${this.output}`);
      await sleep(50);
    }
  }

  /** SIGTERM and wait for the exit (nothing when it is not running) */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const escalate = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(escalate);
    this.child = null;
  }

  /** the received lines, `input` being the source name (s_tcp, s_tls) */
  async lines(): Promise<Received[]> {
    return readReceived(this.out);
  }

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
