// RELP sink configuration: relp://HOST:PORT or relps://HOST:PORT?ca=FILE, plus options.
// The message itself is the syslog sink's (same URL parameters: format, facility, appname,
// maxsize, dialect, and for relps ca/cert/key/servername/insecure), so the syslog URL parser
// and option resolver are reused; only the RELP parameters are handled here.
import type { Identity } from '../../src/events/event.js';
import { parseSyslogUrl, resolveSyslogOptions, type ResolvedSyslogOptions, type SyslogSinkOptions } from '../shared/syslog-config.js';

export interface RelpSinkOptions extends Omit<SyslogSinkOptions, 'settleMs' | 'replayMs' | 'confirmUnix'> {
  /** messages sent and not yet acknowledged, at most (librelp's default: 128) */
  window?: number;
  /** a connection with unacknowledged messages and no answer for this long is dropped (default 30 s) */
  ackTimeoutMs?: number;
  /** re-arm TCP_QUICKACK after each read (default true; see quickack.ts). false only to measure its effect */
  quickAck?: boolean;
  /** called once per message the server acknowledged with "200 OK" (monitoring, tests) */
  onAck?: (recordId: number) => void;
}

export interface RelpTarget {
  tls: boolean;
  host: string;
  port: number;
}

export interface ResolvedRelpOptions {
  syslog: ResolvedSyslogOptions;
  window: number;
  ackTimeoutMs: number;
  quickAck: boolean;
}

function relpError(err: unknown): Error {
  return new Error((err as Error).message.replace(/^syslog: /, 'relp: '));
}

/** Splits a relp:// or relps:// URL into its target and the options its query sets. */
export function parseRelpUrl(url: string): { target: RelpTarget; query: RelpSinkOptions } {
  const m = /^(relps?):\/\/([^?#]*)(\?[^#]*)?$/i.exec(url);
  if (!m) throw new Error(`relp: not a RELP URL: ${url} (expected relp://HOST:PORT or relps://HOST:PORT?ca=FILE)`);
  const tls = m[1]!.toLowerCase() === 'relps';
  const params = new URLSearchParams(m[3] ?? '');
  const query: RelpSinkOptions = {};
  const rest = new URLSearchParams();
  for (const [k, v] of params) {
    if (k === 'window') query.window = Number(v);
    else if (k === 'acktimeout') query.ackTimeoutMs = Number(v);
    else if (k === 'framing' || (!tls && ['ca', 'cert', 'key', 'servername', 'insecure'].includes(k))) {
      throw new Error(
        `relp: URL parameter ${k} is not valid for ${m[1]}:// (${k === 'framing' ? 'RELP frames each message itself' : 'TLS parameters need relps://'})`,
      );
    } else rest.append(k, v);
  }
  const q = rest.toString();
  let parsed;
  try {
    parsed = parseSyslogUrl(`${tls ? 'tls' : 'tcp'}://${m[2]}${q ? `?${q}` : ''}`);
  } catch (err) {
    throw relpError(err);
  }
  if (!/:\d+$/.test(m[2]!.replace(/\/$/, ''))) throw new Error(`relp: URL needs a port: ${url} (RELP has no standard port; rsyslog's examples use 2514)`);
  return { target: { tls, host: parsed.target.host, port: parsed.target.port }, query: { ...parsed.query, ...query } };
}

export function resolveRelpOptions(target: RelpTarget, query: RelpSinkOptions, opts: RelpSinkOptions, defaultIdentity: Identity): ResolvedRelpOptions {
  const merged: RelpSinkOptions = { ...query };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  const { window, ackTimeoutMs, quickAck, onAck: _onAck, ...syslogOpts } = merged;
  let syslog: ResolvedSyslogOptions;
  try {
    syslog = resolveSyslogOptions({ transport: target.tls ? 'tls' : 'tcp', host: target.host, port: target.port, path: '' }, {}, syslogOpts, defaultIdentity);
  } catch (err) {
    throw relpError(err);
  }
  const r: ResolvedRelpOptions = { syslog, window: window ?? 128, ackTimeoutMs: ackTimeoutMs ?? 30_000, quickAck: quickAck ?? true };
  if (!(Number.isInteger(r.window) && r.window >= 1 && r.window <= 100_000)) throw new Error(`relp: window must be an integer 1-100000, not ${String(window)}`);
  if (!(r.ackTimeoutMs > 0)) throw new Error(`relp: ackTimeoutMs must be > 0, not ${String(ackTimeoutMs)}`);
  return r;
}
