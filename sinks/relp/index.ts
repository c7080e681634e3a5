// RELP sink: syslog messages (the syslog sink's encoder: RFC 5424 + Event XML or JSON) sent
// to rsyslog's imrelp (or any librelp server), each acknowledged by the server.
//
// Delivery: write() resolves only when the server acknowledged ("200 OK") every message of
// the batch, so the journal cursor (advanced by the fan-out after write() resolves) only ever
// passes acknowledged events. When the session fails mid-batch, write() rejects and the
// fan-out retries the batch: the sink remembers which records of it were already
// acknowledged and sends only the others again, on a new session. So a message acknowledged
// once is never sent again while the agent runs; what is resent is only what the server had
// not acknowledged when the connection was lost (it may have received some of those: RELP
// allows those duplicates, at most `window` per outage). After an agent crash the journal
// resumes from the last saved cursor, so the last batch or two can be resent.
import { hostname } from 'node:os';
import { makeIdentity, type SysmonEvent } from '../../src/events/event.js';
import type { Sink } from '../sink.js';
import { SyslogEncoder } from '../shared/syslog-encode.js';
import { parseRelpUrl, resolveRelpOptions, type RelpSinkOptions, type RelpTarget, type ResolvedRelpOptions } from './config.js';
import { RelpSession } from './session.js';

export type { RelpSinkOptions } from './config.js';
export { parseRelpUrl } from './config.js';

export interface RelpSinkStats {
  /** messages acknowledged by the server */
  acked: number;
  /** write() calls that completed */
  batches: number;
  bytes: number;
  truncated: number;
  /** write() calls that failed (session lost, refused, malformed answer, no answer) */
  failures: number;
  /** messages sent again because the session they were sent on failed before acknowledging them */
  resent: number;
  /** sessions opened (the first one included) */
  sessions: number;
}

export interface RelpSink extends Sink {
  readonly target: RelpTarget;
  readonly options: ResolvedRelpOptions;
  readonly stats: RelpSinkStats;
  readonly connected: boolean;
  readonly lastError: Error | null;
}

const noop = (): void => {};

export function isRelpUrl(url: string): boolean {
  return /^relps?:\/\//i.test(url);
}

/** A RELP sink for relp://HOST:PORT or relps://HOST:PORT?ca=FILE. */
export function createRelpSink(url: string, opts: RelpSinkOptions = {}): RelpSink {
  const { target, query } = parseRelpUrl(url);
  const o = resolveRelpOptions(target, query, opts, makeIdentity(false, hostname()));
  const encoder = new SyslogEncoder(o.syslog, false);
  const onAck = opts.onAck ?? noop;
  const stats: RelpSinkStats = { acked: 0, batches: 0, bytes: 0, truncated: 0, failures: 0, resent: 0, sessions: 0 };
  let session: RelpSession | null = null;
  let opening: Promise<RelpSession> | null = null;
  let opened = false;
  let lastError: Error | null = null;
  // Records of the batch being delivered that the server already acknowledged, and those sent
  // on a session that failed before answering: both only until a write() covering them resolves.
  const acked = new Set<number>();
  const sentUnacked = new Set<number>();

  async function ensureSession(): Promise<RelpSession> {
    if (session?.alive) return session;
    session = null;
    opening ??= RelpSession.open(target, o).finally(() => {
      opening = null;
    });
    const s = await opening;
    stats.sessions++;
    session = s;
    return s;
  }

  function forget(upTo: number): void {
    for (const id of acked) if (id <= upTo) acked.delete(id);
    for (const id of sentUnacked) if (id <= upTo) sentUnacked.delete(id);
  }

  return {
    name: opts.name ?? `relp:${target.tls ? 'relps' : 'relp'}://${target.host}:${target.port}`,
    target,
    options: o,
    stats,
    get connected() {
      return session?.alive ?? false;
    },
    get lastError() {
      return lastError;
    },
    async open() {
      // connecting is lazy (first write) so a server that is down at start does not fail open()
      opened = true;
    },
    async write(batch: readonly SysmonEvent[]) {
      if (!opened) throw new Error('relp: sink is not open');
      if (batch.length === 0) return;
      const acks: Promise<void>[] = [];
      let bytes = 0;
      let truncated = 0;
      try {
        const s = await ensureSession();
        for (const ev of batch) {
          const id = ev.recordId;
          if (acked.has(id)) continue;
          await s.windowSpace();
          const { message, truncated: t } = encoder.encode(ev);
          if (t) truncated++;
          bytes += message.length;
          if (sentUnacked.has(id)) stats.resent++;
          sentUnacked.add(id);
          const p = s.send(message, `EventRecordID ${id}`).then(() => {
            acked.add(id);
            sentUnacked.delete(id);
            stats.acked++;
            onAck(id);
          });
          p.catch(noop); // awaited below; a failure before that must not count as unhandled
          acks.push(p);
        }
        await Promise.all(acks);
      } catch (err) {
        // let the acknowledgements that did arrive be counted before the retry
        await Promise.allSettled(acks);
        stats.failures++;
        lastError = err as Error;
        session?.abort('abandoned after a failed batch');
        session = null;
        throw err;
      }
      forget(batch[batch.length - 1]!.recordId);
      stats.batches++;
      stats.bytes += bytes;
      stats.truncated += truncated;
      lastError = null;
    },
    async close() {
      opened = false;
      const s = session;
      session = null;
      if (s) await s.close();
    },
  };
}
