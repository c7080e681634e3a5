// Syslog sink configuration: the URL (udp://host:port, tcp://host:port, tls://host:port?ca=FILE,
// unix:///dev/log) plus options. Query parameters of the URL set the same options as the
// options object; an explicit option wins over the URL.
import { readFileSync } from 'node:fs';
import type { Identity } from '../../src/events/event.js';
import type { XmlDialect } from './xml-render.js';

export type Transport = 'udp' | 'tcp' | 'tls' | 'unix';
export type Framing = 'rfc5424' | 'rfc3164';
export type PayloadFormat = 'xml' | 'json';

export interface SyslogSinkOptions {
  /** Sink.name (names the journal cursor); default "syslog:<scheme>://<host>:<port>" or
   *  "syslog:unix://<path>" (no query), so two syslog sinks never share a cursor */
  name?: string;
  /** Provider/Channel/Computer; default Linux-Sysmon on this host */
  identity?: Identity;
  /** 'xml' (default): the single-line Event XML of Sysmon for Linux; 'json': the JSONL record */
  format?: PayloadFormat;
  /** default 'rfc5424'; on unix:// default 'rfc3164' in the glibc syslog(3) form (no hostname),
   *  the only form /dev/log readers (rsyslog imuxsock, journald) parse everywhere */
  framing?: Framing;
  /** name (user, daemon, local0..local7, ...) or number; default user */
  facility?: string | number;
  /** fixed severity 0-7; default 6 (informational) for every event, as Sysmon for Linux writes (LOG_USER|LOG_INFO) */
  severity?: number;
  /** event 255 at severity 3 (err) instead of 6 (URL: err255=1); not what Sysmon for Linux does */
  errorsAsErr?: boolean;
  /** APP-NAME / TAG; default "sysmon" (what Sysmon for Linux's openlog uses) */
  appName?: string;
  /** HOSTNAME field; default identity.computer */
  hostname?: string;
  /** PROCID; default this process's pid */
  procId?: number;
  /** XML dialect of the payload; default 'linux' */
  dialect?: XmlDialect;
  /** Security UserId in the XML; default the effective uid */
  userId?: string | number;
  /** largest message in bytes (header + payload) before the longest fields are truncated.
   *  Default 8192 for udp/unix (rsyslog's default maxMessageSize), 0 = no limit for tcp/tls */
  maxMessageSize?: number;
  /** TLS: CA certificate(s) PEM (contents, or a file via the URL's ca=FILE) */
  ca?: string | Buffer;
  /** TLS client certificate and key (PEM) for mutual authentication */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** TLS: verify the server certificate (default true); URL insecure=1 turns it off */
  rejectUnauthorized?: boolean;
  /** TLS server name to verify; default the URL host */
  servername?: string;
  connectTimeoutMs?: number;
  /** TCP/TLS: a batch not flushed to the kernel within this time fails the connection
   *  (receiver stopped reading); unix: how long to wait for room in the daemon's queue. Default 30 s */
  writeTimeoutMs?: number;
  /** reconnect backoff: first delay and cap (doubling in between); default 200 ms .. 30 s */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** TCP/TLS: after the bytes were handed to the kernel, wait this long for the connection to
   *  report a reset/close before resolving write(); default 20 ms. See README (no app-level ack). */
  settleMs?: number;
  /** TCP/TLS: when a connection ends, send again on the next one what was written on it in
   *  this last while (a receiver that stopped reading before it closed never read it); default
   *  1000 ms, 0 turns it off. Duplicates at most this much of the stream per lost connection. */
  replayMs?: number;
  /** unix: resolve write() only after the daemon read the batch (SIOCOUTQ drained, then a
   *  liveness probe); default true. false: resolve once queued (like syslog(3)). */
  confirmUnix?: boolean;
}

export interface SyslogTarget {
  transport: Transport;
  host: string;
  port: number;
  /** unix socket path */
  path: string;
}

export interface ResolvedSyslogOptions
  extends Required<Omit<SyslogSinkOptions, 'ca' | 'cert' | 'key' | 'servername' | 'severity' | 'identity' | 'hostname' | 'name'>> {
  identity: Identity;
  hostname: string;
  severity: number | null;
  facilityCode: number;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
}

export const FACILITIES: Record<string, number> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  security: 13,
  console: 14,
  solaris_cron: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

const DEFAULT_PORTS: Record<Transport, number> = { udp: 514, tcp: 514, tls: 6514, unix: 0 };

export function parseFacility(f: string | number): number {
  const n = typeof f === 'number' ? f : /^\d+$/.test(f) ? Number(f) : FACILITIES[f.toLowerCase()];
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > 23) throw new Error(`syslog: unknown facility ${String(f)}`);
  return n;
}

/** Split a syslog URL into its target and the options its query string sets. */
export function parseSyslogUrl(url: string): { target: SyslogTarget; query: SyslogSinkOptions } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`syslog: not a URL: ${url} (expected udp://host:port, tcp://host:port, tls://host:port?ca=FILE or unix:///dev/log)`);
  }
  const transport = u.protocol.replace(/:$/, '') as Transport;
  if (!(transport in DEFAULT_PORTS)) throw new Error(`syslog: unsupported scheme ${u.protocol} in ${url}`);
  let host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : DEFAULT_PORTS[transport];
  const path = transport === 'unix' ? decodeURIComponent(u.pathname) : '';
  if (transport === 'unix' && !path) throw new Error(`syslog: unix URL needs a path: ${url}`);
  if (transport !== 'unix' && !host) throw new Error(`syslog: URL needs a host: ${url}`);
  if (transport === 'unix') host = '';
  const q = u.searchParams;
  const query: SyslogSinkOptions = {};
  for (const [k, v] of q) {
    switch (k) {
      case 'format':
        if (v !== 'xml' && v !== 'json') throw new Error(`syslog: format=${v}`);
        query.format = v;
        break;
      case 'framing':
        if (v !== 'rfc5424' && v !== 'rfc3164') throw new Error(`syslog: framing=${v}`);
        query.framing = v;
        break;
      case 'facility':
        query.facility = v;
        break;
      case 'appname':
        query.appName = v;
        break;
      case 'maxsize':
        query.maxMessageSize = Number(v);
        break;
      case 'ca':
        query.ca = readFileSync(v);
        break;
      case 'cert':
        query.cert = readFileSync(v);
        break;
      case 'key':
        query.key = readFileSync(v);
        break;
      case 'servername':
        query.servername = v;
        break;
      case 'insecure':
        query.rejectUnauthorized = !(v === '1' || v === 'true');
        break;
      case 'dialect':
        if (v !== 'linux' && v !== 'windows') throw new Error(`syslog: dialect=${v}`);
        query.dialect = v;
        break;
      case 'err255':
        query.errorsAsErr = v === '1' || v === 'true';
        break;
      default:
        throw new Error(`syslog: unknown URL parameter ${k}`);
    }
  }
  return { target: { transport, host, port, path }, query };
}

export function resolveSyslogOptions(
  target: SyslogTarget,
  query: SyslogSinkOptions,
  opts: SyslogSinkOptions,
  defaultIdentity: Identity,
): ResolvedSyslogOptions {
  const m: SyslogSinkOptions = { ...query };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (m as Record<string, unknown>)[k] = v;
  const datagram = target.transport === 'udp' || target.transport === 'unix';
  const identity = m.identity ?? defaultIdentity;
  const r: ResolvedSyslogOptions = {
    identity,
    format: m.format ?? 'xml',
    framing: m.framing ?? (target.transport === 'unix' ? 'rfc3164' : 'rfc5424'),
    facility: m.facility ?? 'user',
    facilityCode: parseFacility(m.facility ?? 'user'),
    severity: m.severity ?? null,
    errorsAsErr: m.errorsAsErr ?? false,
    appName: m.appName ?? 'sysmon',
    hostname: m.hostname ?? identity.computer,
    procId: m.procId ?? process.pid,
    dialect: m.dialect ?? 'linux',
    userId: m.userId ?? (typeof process.geteuid === 'function' ? process.geteuid() : 0),
    maxMessageSize: m.maxMessageSize ?? (datagram ? 8192 : 0),
    ca: m.ca,
    cert: m.cert,
    key: m.key,
    rejectUnauthorized: m.rejectUnauthorized ?? true,
    servername: m.servername,
    connectTimeoutMs: m.connectTimeoutMs ?? 5000,
    writeTimeoutMs: m.writeTimeoutMs ?? 30_000,
    backoffInitialMs: m.backoffInitialMs ?? 200,
    backoffMaxMs: m.backoffMaxMs ?? 30_000,
    settleMs: m.settleMs ?? 20,
    replayMs: m.replayMs ?? 1000,
    confirmUnix: m.confirmUnix ?? true,
  };
  if (r.severity !== null && !(Number.isInteger(r.severity) && r.severity >= 0 && r.severity <= 7)) throw new Error('syslog: severity must be 0-7');
  if (!(r.maxMessageSize >= 0)) throw new Error('syslog: maxMessageSize must be >= 0');
  if (r.maxMessageSize > 0 && r.maxMessageSize < 1024) throw new Error('syslog: maxMessageSize below 1024 cannot hold an event');
  if (target.transport === 'udp' && (r.maxMessageSize === 0 || r.maxMessageSize > 65507)) r.maxMessageSize = 65507;
  return r;
}
