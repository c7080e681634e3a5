// `sysmon-ts view [FILE|-]`: a human-readable view of events, like Sysmon for Linux's
// sysmonLogView: "Event <ID>: <name>" then one "\t<Field>: <value>" line per EventData field,
// and a blank line. Control characters in values are shown escaped (\n, \t, \xNN) so a value can
// neither fake another line nor send escape sequences to the terminal; invalid UTF-8 bytes
// (U+DC80..U+DCFF) are shown as \xNN.
//
// Input, detected per file: .evtx (or the "ElfFile" magic) is read as EVTX (only Sysmon
// providers' events are shown; damaged records are reported on stderr and skipped, and the
// CLI then exits 1: docs/evtx.md); anything else line
// by line, where a line starting with "{" is a JSONL event and a line containing <Event ...>
// ... </Event> is Event XML (syslog lines from Sysmon for Linux or our syslog sink, with or
// without the syslog prefix, and `convert`'s .xml output). Other lines are skipped. "-" reads
// stdin (`tail -f /var/log/syslog | sysmon-ts view -`).
// Filters (all must hold): event IDs, record-ID range, time range (TimeCreated, UTC), and
// Field=value (case-insensitive equality) / Field~value (case-insensitive substring), repeatable.
// `fields` limits the fields shown. Colour on a terminal. `follow` keeps reading a JSONL or
// syslog file as it grows (and from the start of a new file after rotation/truncation).
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { eventDef } from '../events/schema.js';
import type { FieldValue, SysmonEvent } from '../events/event.js';
import { eventFromJson, parseIsoNs } from '../../sinks/shared/jsonl-encode.js';
import { unescapeXmlValue } from '../../sinks/shared/xml-render.js';
import { newSkipCounts, providerSummary, readEvents } from './convert.js';

export interface TextOut {
  write(text: string): unknown;
}

export interface ViewOptions {
  /** EventIDs to show (empty/undefined: all) */
  ids?: number[];
  /** record-ID range, inclusive */
  minRecord?: number;
  maxRecord?: number;
  /** time range, ms since the epoch, inclusive */
  fromMs?: number;
  toMs?: number;
  /** "Field=value" (equals) or "Field~value" (contains), case-insensitive; all must match */
  filters?: string[];
  /** fields to show (default: all) */
  fields?: string[];
  /** also show EventRecordID, TimeCreated and Computer */
  system?: boolean;
  color?: boolean;
  follow?: boolean;
  /** stop following (tests); default: never */
  signal?: AbortSignal;
  /** poll interval when following */
  pollMs?: number;
  /** filled in by runView: what was skipped (the CLI exits 1 when anything was) */
  stats?: ViewStats;
}

export interface ViewStats {
  /** EVTX records (or damaged regions) that could not be read, each reported on stderr */
  damaged: number;
  /** lines that looked like events but did not parse */
  malformed: number;
  /** EVTX records of other providers or unknown IDs (not shown) */
  foreign: number;
}

export function viewText(v: FieldValue | undefined): string {
  if (v === undefined) return '-';
  // eslint-disable-next-line no-control-regex
  return String(v).replace(/[\u0000-\u001f\u007f]|(?<![\ud800-\udbff])[\udc80-\udcff]/g, (c) => {
    const n = c.charCodeAt(0);
    if (n === 0x0a) return '\\n';
    if (n === 0x09) return '\\t';
    if (n === 0x0d) return '\\r';
    return `\\x${(n >= 0xdc80 ? n - 0xdc00 : n).toString(16).padStart(2, '0')}`;
  });
}

// ---- parsing one line -------------------------------------------------------------------------

function decodeEntities(text: string): string {
  return text.replace(/&(?:#(\d+)|#x([0-9a-fA-F]+)|(lt|gt|amp|quot|apos));/g, (_m, dec?: string, hex?: string, name?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[name!]!;
  });
}

export interface ViewEvent {
  event: SysmonEvent;
  computer: string;
}

/** One Event XML document (single line, as Sysmon for Linux writes it) -> event. */
export function eventFromXml(xml: string): ViewEvent {
  const tag = (name: string) => /<([A-Za-z]+)[^>]*>([^<]*)<\/\1>/.exec(xml.slice(xml.indexOf(`<${name}`)))?.[2];
  const idText = xml.includes('<EventID') ? tag('EventID') : undefined;
  const id = Number(idText);
  if (!idText || !Number.isInteger(id)) throw new Error('no EventID');
  const rec = Number(xml.includes('<EventRecordID') ? tag('EventRecordID') : 0) || 0;
  const time = /<TimeCreated\s+SystemTime="([^"]+)"/.exec(xml)?.[1];
  let timeNs = 0n;
  if (time) {
    try {
      timeNs = parseIsoNs(time);
    } catch {
      timeNs = BigInt(Date.parse(time) || 0) * 1_000_000n;
    }
  }
  const computer = decodeEntities((xml.includes('<Computer') ? tag('Computer') : '') ?? '');
  const data: Record<string, FieldValue> = {};
  const body = xml.slice(xml.indexOf('<EventData'));
  const re = /<Data\s+Name="([^"]*)"\s*(?:\/>|>([^<]*)<\/Data>)/g;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    data[decodeEntities(m[1]!)] = unescapeXmlValue(decodeEntities(m[2] ?? ''));
  }
  return { event: { id, recordId: rec, timeNs, data }, computer };
}

/** A line of JSONL or (syslog-prefixed) Event XML -> event; null for any other line. */
export function parseLine(line: string): ViewEvent | null {
  const t = line.trim();
  if (t === '') return null;
  if (t.startsWith('{')) {
    const o = JSON.parse(t) as Record<string, unknown>;
    return { event: eventFromJson(o), computer: typeof o.Computer === 'string' ? o.Computer : '' };
  }
  const start = t.search(/<Event[\s>]/);
  const end = t.lastIndexOf('</Event>');
  if (start < 0 || end < start) return null;
  return eventFromXml(t.slice(start, end + '</Event>'.length));
}

// ---- filters -----------------------------------------------------------------------------------

/** "2026-11-29 18:00[:00[.123]]" (UTC, sysmonLogView's form) or any ISO 8601 time -> ms. */
export function parseTime(text: string): number {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?)$/.exec(text.trim());
  const ms = m ? Date.parse(`${m[1]}T${m[2]!.replace(/(\.\d{3})\d+$/, '$1')}Z`) : Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`bad time "${text}" (use "YYYY-MM-DD HH:MM[:SS[.mmm]]" in UTC, or ISO 8601)`);
  return ms;
}

type Matcher = (ev: SysmonEvent) => boolean;

export function compileFilter(spec: string): Matcher {
  const m = /^([A-Za-z][A-Za-z0-9_]*)\s*(=|~|!=)\s*(.*)$/.exec(spec);
  if (!m) throw new Error(`bad field filter "${spec}" (use Field=value, Field~substring or Field!=value)`);
  const [, field, op, raw] = m;
  const want = raw!.toLowerCase();
  const key = field!.toLowerCase();
  return (ev) => {
    const k = Object.keys(ev.data).find((x) => x.toLowerCase() === key);
    const v = k === undefined ? undefined : String(ev.data[k]).toLowerCase();
    if (op === '=') return v === want;
    if (op === '!=') return v !== want;
    return v?.includes(want) ?? false;
  };
}

function matcher(o: ViewOptions): Matcher {
  const ids = o.ids && o.ids.length > 0 ? new Set(o.ids) : null;
  const fields = (o.filters ?? []).map(compileFilter);
  return (ev) => {
    if (ids && !ids.has(ev.id)) return false;
    if (o.minRecord !== undefined && ev.recordId < o.minRecord) return false;
    if (o.maxRecord !== undefined && ev.recordId > o.maxRecord) return false;
    if (o.fromMs !== undefined || o.toMs !== undefined) {
      const ms = Number(ev.timeNs / 1_000_000n);
      if (o.fromMs !== undefined && ms < o.fromMs) return false;
      if (o.toMs !== undefined && ms > o.toMs) return false;
    }
    return fields.every((f) => f(ev));
  };
}

// ---- rendering ---------------------------------------------------------------------------------

const C = { head: '\x1b[1;36m', err: '\x1b[1;31m', name: '\x1b[33m', dim: '\x1b[2m', reset: '\x1b[0m' };

export function renderEvent(v: ViewEvent, o: ViewOptions = {}): string {
  const { event } = v;
  let def: ReturnType<typeof eventDef> | null = null;
  try {
    def = eventDef(event.id);
  } catch {
    /* unknown id: show what is there */
  }
  const col = o.color === true;
  const head = `Event ${event.id}: ${def?.template ?? 'Unknown event'}`;
  let text = col ? `${event.id === 255 ? C.err : C.head}${head}${C.reset}\n` : `${head}\n`;
  const line = (k: string, val: string) => {
    text += col ? `\t${C.name}${k}${C.reset}: ${val}\n` : `\t${k}: ${val}\n`;
  };
  if (o.system) {
    const time = event.timeNs ? new Date(Number(event.timeNs / 1_000_000n)).toISOString() : '-';
    line('EventRecordID', String(event.recordId));
    line('TimeCreated', time);
    line('Computer', viewText(v.computer));
  }
  const want = o.fields && o.fields.length > 0 ? o.fields.map((f) => f.toLowerCase()) : null;
  const show = (k: string) => want === null || want.includes(k.toLowerCase());
  const names = new Set(def?.fields.map((f) => f.name) ?? []);
  for (const f of def?.fields ?? []) if (f.name in event.data && show(f.name)) line(f.name, viewText(event.data[f.name]));
  for (const [k, val] of Object.entries(event.data)) if (!names.has(k) && show(k)) line(k, viewText(val));
  return `${text}\n`;
}

// ---- sources -----------------------------------------------------------------------------------

function isEvtx(path: string): boolean {
  if (extname(path).toLowerCase() === '.evtx') return true;
  try {
    const fd = openSync(path, 'r');
    try {
      const b = Buffer.alloc(8);
      readSync(fd, b, 0, 8, 0);
      return b.toString('latin1') === 'ElfFile\0';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

async function* linesOf(input: Readable): AsyncGenerator<string> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const l of rl) yield l;
}

/** Lines of a file, then (follow) new lines as it grows; reopens from 0 after rotation/truncation. */
async function* followLines(path: string, o: ViewOptions): AsyncGenerator<string> {
  let pos = 0;
  let ino = -1;
  let rest = '';
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let st;
    try {
      st = statSync(path);
    } catch {
      st = null;
    }
    if (st) {
      if (st.ino !== ino || st.size < pos) {
        ino = st.ino;
        pos = 0;
        rest = '';
      }
      if (st.size > pos) {
        const fd = openSync(path, 'r');
        try {
          let n;
          while ((n = readSync(fd, buf, 0, buf.length, pos)) > 0) {
            pos += n;
            rest += buf.subarray(0, n).toString('utf8');
            const parts = rest.split('\n');
            rest = parts.pop()!;
            for (const p of parts) yield p;
          }
        } finally {
          closeSync(fd);
        }
      }
    }
    if (!o.follow || o.signal?.aborted) return;
    await new Promise((r) => setTimeout(r, o.pollMs ?? 250));
    if (o.signal?.aborted) return;
  }
}

async function* eventsOf(path: string, o: ViewOptions, bad: { n: number }, stdin: Readable, stats: ViewStats): AsyncGenerator<ViewEvent> {
  if (path !== '-' && isEvtx(path)) {
    // damaged records are reported on stderr as they are met, and skipped
    const skipped = newSkipCounts(undefined, 'view');
    try {
      for await (const { event, identity } of readEvents(path, skipped)) yield { event, computer: identity.computer };
    } finally {
      stats.damaged += skipped.damaged;
      stats.foreign += skipped.n;
      if (skipped.n > 0) process.stderr.write(`view: ${skipped.n} records that are not Sysmon events not shown (${providerSummary(skipped.byProvider!)})\n`);
    }
    return;
  }
  const src = path === '-' ? linesOf(stdin) : followLines(path, o);
  for await (const l of src) {
    let v: ViewEvent | null;
    try {
      v = parseLine(l);
    } catch {
      bad.n++;
      continue;
    }
    if (v) yield v;
  }
}

/**
 * Prints the events of `path` that pass the filters; returns how many were printed.
 * Lines that look like events but do not parse are counted and reported on stderr.
 */
export async function runView(path: string, out: TextOut = process.stdout, o: ViewOptions = {}, stdin: Readable = process.stdin): Promise<number> {
  if (path !== '-' && isEvtx(path) && extname(path).toLowerCase() !== '.evtx') {
    throw new Error(`${path}: an EVTX file must be named *.evtx to be viewed`);
  }
  if (path !== '-' && !o.follow) statSync(path); // a missing file is an error (ENOENT), unless following
  if (out === process.stdout)
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  const keep = matcher(o);
  const bad = { n: 0 };
  const stats: ViewStats = o.stats ?? { damaged: 0, malformed: 0, foreign: 0 };
  let n = 0;
  for await (const v of eventsOf(path, o, bad, stdin, stats)) {
    if (!keep(v.event)) continue;
    out.write(renderEvent(v, o));
    n++;
  }
  stats.malformed += bad.n;
  if (bad.n > 0) process.stderr.write(`view: ${bad.n} malformed line(s) skipped\n`);
  return n;
}
