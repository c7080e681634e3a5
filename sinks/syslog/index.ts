// Syslog sink: config (config.ts) + encoder (encode.ts) + transport (transport.ts) behind Sink.
import { hostname } from 'node:os';
import { makeIdentity, type SysmonEvent } from '../../src/events/event.js';
import type { Sink } from '../sink.js';
import { parseSyslogUrl, resolveSyslogOptions, type ResolvedSyslogOptions, type SyslogSinkOptions, type SyslogTarget } from '../shared/syslog-config.js';
import { SyslogEncoder } from '../shared/syslog-encode.js';
import { createTransport, type SyslogTransport } from '../shared/syslog-transport.js';

export type { SyslogSinkOptions } from '../shared/syslog-config.js';
export { parseSyslogUrl } from '../shared/syslog-config.js';

export interface SyslogSinkStats {
  events: number;
  batches: number;
  bytes: number;
  truncated: number;
  failures: number;
  /** TCP/TLS: batches sent again because the connection they went out on was lost (replayMs) */
  replayed: number;
}

export interface SyslogSink extends Sink {
  readonly target: SyslogTarget;
  readonly options: ResolvedSyslogOptions;
  readonly stats: SyslogSinkStats;
  readonly connected: boolean;
}

/** A syslog sink for udp://host:port, tcp://host:port, tls://host:port?ca=FILE or unix:///dev/log. */
export function createSyslogSink(url: string, opts: SyslogSinkOptions = {}): SyslogSink {
  const { target, query } = parseSyslogUrl(url);
  const o = resolveSyslogOptions(target, query, opts, makeIdentity(false, hostname()));
  const encoder = new SyslogEncoder(o, target.transport === 'unix');
  let transport: SyslogTransport | null = null;
  const stats: SyslogSinkStats = { events: 0, batches: 0, bytes: 0, truncated: 0, failures: 0, replayed: 0 };
  // Batches are cut into chunks so one TCP write stays a few MB at most.
  const CHUNK_BYTES = 4 * 1024 * 1024;

  return {
    name: opts.name ?? (target.transport === 'unix' ? `syslog:unix://${target.path}` : `syslog:${target.transport}://${target.host}:${target.port}`),
    target,
    options: o,
    stats,
    get connected() {
      return transport?.connected ?? false;
    },
    async open() {
      transport = createTransport(target, o);
      // Connecting is lazy (first write) so a daemon that is down at start does not fail open().
    },
    async write(batch: readonly SysmonEvent[]) {
      if (!transport) throw new Error('syslog: sink is not open');
      if (batch.length === 0) return;
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      let truncated = 0;
      try {
        for (const ev of batch) {
          const { message, truncated: t } = encoder.encode(ev);
          if (t) truncated++;
          chunk.push(message);
          chunkBytes += message.length;
          if (chunkBytes >= CHUNK_BYTES) {
            await transport.send(chunk);
            stats.bytes += chunkBytes;
            chunk = [];
            chunkBytes = 0;
          }
        }
        if (chunk.length) await transport.send(chunk);
      } catch (err) {
        stats.failures++;
        throw err;
      } finally {
        stats.replayed += transport.takeReplayed?.() ?? 0;
      }
      stats.bytes += chunkBytes;
      stats.events += batch.length;
      stats.batches++;
      stats.truncated += truncated;
    },
    async close() {
      if (transport) {
        await transport.close();
        transport = null;
      }
    },
  };
}
