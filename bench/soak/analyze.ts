// Generated vs delivered, per sink: every storm operation the agent was running for must be
// found (0 lost); a sink may repeat an EventRecordID only if its contract allows it (syslog
// TCP: at-least-once; JSONL: exactly once), and is then counted after deduplication; one
// operation logged under two different EventRecordIDs would be a capture-side duplicate.
import type { Delivered } from './collect.js';
import type { Op, OpKind, Storm } from './storm.js';

export interface Window {
  fromMs: number;
  toMs: number;
}

export interface KindResult {
  kind: string;
  expected: number;
  found: number;
  lost: number;
  /** first lost keys with when their operation ended */
  lostSamples: string[];
  /** operations that overlapped a time with no agent running (not expected) and how many arrived anyway */
  outage: number;
  outageFound: number;
  /** operations found under more than one EventRecordID */
  doubled: number;
}

export interface SinkResult {
  sink: string;
  rows: number;
  uniqueRecords: number;
  /** rows repeating an EventRecordID already seen */
  duplicateRows: number;
  /** repeated EventRecordIDs whose content differed (never allowed) */
  conflicting: number;
  kinds: KindResult[];
  byEventId: Map<number, number>;
  ruleNames: Map<string, number>;
  selfEvents: Delivered[];
  unmatched: number;
  unmatchedById: Map<number, number>;
  bad: string[];
}

const KEYS: Record<OpKind, string[]> = { exec: ['exec'], file: ['create', 'delete'], connect: ['connect'] };

function eventKey(e: Delivered, storm: Storm): string | null {
  if (e.eventId === 1 && e.commandLine.includes(storm.execMarker)) {
    const m = new RegExp(`${storm.execMarker}\\d+`).exec(e.commandLine);
    return m ? `exec:${m[0]}` : null;
  }
  if (e.eventId === 11 && e.target.startsWith(storm.filePrefix)) return `create:${e.target}`;
  if ((e.eventId === 23 || e.eventId === 26) && e.target.startsWith(storm.filePrefix)) return `delete:${e.target}`;
  if (e.eventId === 3 && e.destinationPort === String(storm.listenPort) && e.initiated === 'true') return `connect:${e.sourcePort}`;
  return null;
}

function signature(e: Delivered): string {
  return [e.eventId, e.ruleName, e.commandLine, e.target, e.destinationPort, e.sourcePort, e.initiated, e.description].join('\u0000');
}

export function analyzeSink(
  sink: string,
  delivered: Delivered[],
  bad: string[],
  storm: Storm,
  up: Window[],
  startMs: number,
  killMs: number | null,
): SinkResult {
  const seen = new Map<number, string>();
  let duplicateRows = 0;
  let conflicting = 0;
  const byEventId = new Map<number, number>();
  const ruleNames = new Map<string, number>();
  const selfEvents: Delivered[] = [];
  // key -> distinct EventRecordIDs
  const found = new Map<string, Set<number>>();
  let unmatched = 0;
  const unmatchedById = new Map<number, number>();
  for (const e of delivered) {
    const sig = signature(e);
    const prev = seen.get(e.recordId);
    if (prev !== undefined) {
      duplicateRows++;
      if (prev !== sig) conflicting++;
      continue;
    }
    seen.set(e.recordId, sig);
    byEventId.set(e.eventId, (byEventId.get(e.eventId) ?? 0) + 1);
    if (e.eventId === 255 || e.eventId === 16 || e.eventId === 4) {
      selfEvents.push(e);
      continue;
    }
    const k = eventKey(e, storm);
    if (!k) {
      unmatched++;
      unmatchedById.set(e.eventId, (unmatchedById.get(e.eventId) ?? 0) + 1);
      continue;
    }
    ruleNames.set(e.ruleName, (ruleNames.get(e.ruleName) ?? 0) + 1);
    let s = found.get(k);
    if (!s) found.set(k, (s = new Set()));
    s.add(e.recordId);
  }

  const inUp = (op: Op) => up.some((w) => op.startMs >= w.fromMs && op.endMs <= w.toMs);
  const kinds: KindResult[] = [];
  for (const kind of ['exec', 'file', 'connect'] as OpKind[]) {
    for (const sub of KEYS[kind]) {
      const r: KindResult = {
        kind: kind === 'file' ? `file ${sub}` : kind,
        expected: 0,
        found: 0,
        lost: 0,
        lostSamples: [],
        outage: 0,
        outageFound: 0,
        doubled: 0,
      };
      const ops = storm.ops.filter((o) => o.kind === kind && o.ok);
      if (kind === 'connect') {
        // source ports repeat over a long run: compare counts per port
        const want = new Map<string, { exp: number; out: number; ends: number[] }>();
        for (const o of ops) {
          const w = want.get(o.key) ?? { exp: 0, out: 0, ends: [] };
          if (inUp(o)) w.exp++;
          else w.out++;
          w.ends.push(o.endMs);
          want.set(o.key, w);
        }
        for (const [port, w] of want) {
          const got = found.get(`connect:${port}`)?.size ?? 0;
          r.expected += w.exp;
          r.outage += w.out;
          r.found += Math.min(got, w.exp);
          r.outageFound += Math.min(Math.max(0, got - w.exp), w.out);
          if (got < w.exp) {
            r.lost += w.exp - got;
            if (r.lostSamples.length < 10)
              r.lostSamples.push(`port ${port}, used ${w.ends.length} time(s), one of${w.ends.map((e) => when(e, startMs, killMs)).join(',')}`);
          }
          if (got > w.exp + w.out) r.doubled += got - w.exp - w.out;
        }
      } else {
        for (const o of ops) {
          const ids = found.get(`${sub}:${o.key}`);
          const expected = inUp(o);
          if (expected) r.expected++;
          else r.outage++;
          if (ids && ids.size > 1) r.doubled++;
          if (ids) {
            if (expected) r.found++;
            else r.outageFound++;
          } else if (expected) {
            r.lost++;
            if (r.lostSamples.length < 10) r.lostSamples.push(`${o.key.split('/').pop()}${when(o.endMs, startMs, killMs)}`);
          }
        }
      }
      kinds.push(r);
    }
  }
  return {
    sink,
    rows: delivered.length,
    uniqueRecords: seen.size,
    duplicateRows,
    conflicting,
    kinds,
    byEventId,
    ruleNames,
    selfEvents,
    unmatched,
    unmatchedById,
    bad,
  };
}

/** when an operation ended: seconds after the storm started, and relative to the kill -9 */
function when(endMs: number, startMs: number, killMs: number | null): string {
  const at = ` at ${((endMs - startMs) / 1000).toFixed(1)} s`;
  if (killMs === null) return ` (${at.trim()})`;
  const d = killMs - endMs;
  return ` (${at.trim()}, ${Math.abs(d)} ms ${d >= 0 ? 'before' : 'after'} the kill -9)`;
}

/** least-squares slope of y over x, per hour of x (ms) */
export function slopePerHour(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den ? (num / den) * 3_600_000 : NaN;
}
