// Test harness: a real rsyslogd with imrelp (plain and TLS) on free loopback ports, writing
// every message's input, PRI, APP-NAME, PROCID, HOSTNAME and MSG to one file.
// The main queue is Direct: a message is written to the output file before imrelp
// acknowledges it, so "acknowledged" and "in the file" mean the same thing even when the
// test kills rsyslogd with SIGKILL.
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canConnect,
  freeTcpPort,
  hasCommand,
  hasRsyslogModule,
  makeCertificate,
  outputConf,
  RSYSLOGD,
  RsyslogdProcess,
  type Received,
} from './rsyslogd-process.js';

export { freeTcpPort };
export type RelpReceived = Received;

const IMRELP = hasRsyslogModule('imrelp.so');

/** null when everything is there; otherwise what is missing (for a loud skip or a CI failure). */
export function relpServerMissing(): string | null {
  const missing: string[] = [];
  if (!RSYSLOGD) missing.push('rsyslogd (apt-get install rsyslog)');
  if (!IMRELP) missing.push('rsyslog imrelp module (apt-get install rsyslog-relp)');
  if (!hasCommand('openssl', 'version')) missing.push('openssl');
  return missing.length ? missing.join(', ') : null;
}

export class RelpServer extends RsyslogdProcess {
  port = 0;
  tlsPort = 0;

  // rsyslogd can wait a long time on a TLS session stuck in its handshake: do not hang the tests
  constructor() {
    super({ errorTail: 2000, killAfterMs: 5000 });
  }

  static async create(): Promise<RelpServer> {
    const r = new RelpServer();
    r.dir = await fsp.mkdtemp(join(tmpdir(), 'rsyslog-relp-test-'));
    r.port = await freeTcpPort();
    r.tlsPort = await freeTcpPort();
    r.out = join(r.dir, 'out.log');
    const { cert, key } = makeCertificate(r.dir);
    r.ca = cert;
    const d = r.dir;
    await fsp.writeFile(
      join(d, 'rsyslog.conf'),
      `
global(workDirectory="${d}" net.enableDNS="off" maxMessageSize="4m")
main_queue(queue.type="Direct")
module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="${r.port}" maxDataSize="4194304" name="relp")
input(type="imrelp" address="127.0.0.1" port="${r.tlsPort}" maxDataSize="4194304" name="relps"
      tls="on" tls.caCert="${r.ca}" tls.myCert="${r.ca}" tls.myPrivKey="${key}" tls.authMode="certvalid")
${outputConf(r.out)}
`,
    );
    return r;
  }

  protected async ready(): Promise<boolean> {
    return (await canConnect(this.port)) && (await canConnect(this.tlsPort));
  }

  /** SIGTERM (graceful: imrelp sends "serverclose") or SIGKILL (the process is gone at once) */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await this.kill(signal);
  }
}
