// Test harness: a real rsyslogd on loopback with UDP (imudp), plain TCP (imptcp), TLS (imtcp +
// gtls, self-signed certificate made with openssl) and a unix datagram socket (imuxsock),
// writing every message's transport, PRI, APP-NAME, PROCID, HOSTNAME and MSG to one file.
import { existsSync, promises as fsp } from 'node:fs';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canConnect, freeTcpPort, hasCommand, hasRsyslogModule, makeCertificate, outputConf, RSYSLOGD, RsyslogdProcess } from './rsyslogd-process.js';

export type { Received } from './rsyslogd-process.js';

const GTLS = hasRsyslogModule('lmnsd_gtls.so');

/** null when everything is there; otherwise what is missing (for a loud skip or a CI failure). */
export function rsyslogMissing(): string | null {
  const missing: string[] = [];
  if (!RSYSLOGD) missing.push('rsyslogd (apt-get install rsyslog)');
  if (!GTLS) missing.push('rsyslog gtls driver (apt-get install rsyslog-gnutls)');
  if (!hasCommand('openssl', 'version')) missing.push('openssl');
  if (!hasCommand('python3', '--version')) missing.push('python3');
  return missing.length ? missing.join(', ') : null;
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

export class Rsyslog extends RsyslogdProcess {
  udpPort = 0;
  tcpPort = 0;
  tlsPort = 0;
  sock = '';

  constructor() {
    super({ trimMsgSpace: true });
  } // RFC 3164 MSG keeps the space after the TAG

  static async create(): Promise<Rsyslog> {
    const r = new Rsyslog();
    r.dir = await fsp.mkdtemp(join(tmpdir(), 'rsyslog-test-'));
    r.udpPort = await freeUdpPort();
    r.tcpPort = await freeTcpPort();
    r.tlsPort = await freeTcpPort();
    r.sock = join(r.dir, 'log.sock');
    r.out = join(r.dir, 'out.log');
    const { cert, key } = makeCertificate(r.dir);
    r.ca = cert;
    const d = r.dir;
    await fsp.writeFile(
      join(d, 'rsyslog.conf'),
      `
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
${outputConf(r.out)}
if $inputname == "imuxsock" then action(type="omfile" file="${join(d, 'traditional.log')}" template="RSYSLOG_TraditionalFileFormat")
`,
    );
    return r;
  }

  /** ready when both TCP ports accept and the unix socket exists */
  protected async ready(): Promise<boolean> {
    return existsSync(this.sock) && (await canConnect(this.tcpPort)) && (await canConnect(this.tlsPort));
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    await this.kill('SIGTERM');
    await fsp.rm(this.sock, { force: true });
  }
}
