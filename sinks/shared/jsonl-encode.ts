// JSONL encoding of docs/outputs.md: one event per line, fixed key order, EventData in schema
// order with manifest types kept. JSON.stringify escapes every control character and lone
// surrogate, so nothing a process puts in a string can start a new line or forge a record.
import type { Identity, SysmonEvent } from '../../src/events/event.js';
import { eventDef, eventName } from '../../src/events/schema.js';
import { isoTime } from '../../src/events/time.js';
import { EncodedEvent, dataJson } from '../../src/events/encoded.js';
import { putBytes, putUint } from '../../src/events/ascii-bytes.js';

export function encodeJsonl(ev: SysmonEvent, who: Identity): string {
  // Template literal with pre-stringified parts: ~2x faster than stringifying a wrapper object;
  // the parts that depend only on the EventID or on the identity are built once.
  const w = identityJson(who);
  return (
    `${lineHead(ev.id)}${ev.recordId},"Computer":${w.computer},"TimeCreated":"${isoTime(ev.timeNs)}",` +
    `${w.providerChannel}${containerJson(ev)}"EventData":${dataJson(ev)}}\n`
  );
}

/** `{"EventID":N,"EventName":"..","Version":V,"EventRecordID":` per EventID */
const heads = new Map<number, string>();
function lineHead(id: number): string {
  let h = heads.get(id);
  if (h === undefined) {
    h = `{"EventID":${id},"EventName":${JSON.stringify(eventName(id))},"Version":${eventDef(id).version},"EventRecordID":`;
    heads.set(id, h);
  }
  return h;
}

interface IdentityJson {
  computer: string;
  providerChannel: string;
}
const identities = new WeakMap<Identity, IdentityJson>();
function identityJson(who: Identity): IdentityJson {
  let j = identities.get(who);
  if (j === undefined) {
    j = { computer: JSON.stringify(who.computer), providerChannel: `"Provider":${JSON.stringify(who.provider)},"Channel":${JSON.stringify(who.channel)},` };
    identities.set(who, j);
  }
  return j;
}

/** The documented extension: a top-level "Container" object after "Channel", only for events of containers. */
function containerJson(ev: SysmonEvent): string {
  const c = ev.container;
  return c ? `"Container":{"Id":${JSON.stringify(c.id)},"Runtime":${JSON.stringify(c.runtime)},"Cgroup":${JSON.stringify(c.cgroup)}},` : '';
}

// ---- the same line written as bytes into a batch buffer ----
//
// writeJsonlLine(ev, who, out, off) writes exactly the bytes of Buffer.from(encodeJsonl(ev, who))
// without building the line as a string: the constant parts are copied from per-EventID and
// per-identity byte tables, the EventRecordID digits are written in place and, for an event
// the journal has written (EncodedEvent.bytes), the EventData JSON and the TimeCreated
// fraction are copied from the journal record's bytes: no BigInt arithmetic and no string per
// event. Other events (not journaled, or read back from disk) write their text.

/** `{"EventID":N,"EventName":"..","Version":V,"EventRecordID":` as bytes, per EventID */
const headBytes: (Buffer | undefined)[] = [];
function lineHeadBytes(id: number): Buffer {
  let h = headBytes[id];
  if (h === undefined) {
    h = Buffer.from(lineHead(id), 'utf8');
    headBytes[id] = h;
  }
  return h;
}

interface IdentityBytes {
  /** `,"Computer":"..","TimeCreated":"` */
  computerTime: Buffer;
  /** `","Provider":"..","Channel":"..",` */
  provider: Buffer;
  /** provider + `"EventData":` (events outside containers) */
  providerData: Buffer;
}
const identityBytesOf = new WeakMap<Identity, IdentityBytes>();
function identityBytes(who: Identity): IdentityBytes {
  let b = identityBytesOf.get(who);
  if (b === undefined) {
    const j = identityJson(who);
    b = {
      computerTime: Buffer.from(`,"Computer":${j.computer},"TimeCreated":"`, 'utf8'),
      provider: Buffer.from(`",${j.providerChannel}`, 'utf8'),
      providerData: Buffer.from(`",${j.providerChannel}"EventData":`, 'utf8'),
    };
    identityBytesOf.set(who, b);
  }
  return b;
}

const EVENT_DATA = Buffer.from('"EventData":', 'latin1');

let isoSecB = -1;
let isoPrefixB = Buffer.alloc(0);

/**
 * TimeCreated from the decimal digits of timeNs in the journal record: the seconds are the
 * digits before the last 9 (their "YYYY-MM-DDTHH:MM:SS." is built once per second, as
 * isoTime does), the fraction is the last 9 digits as they are. Returns -1 for times before
 * 1970-01-01T00:00:01 (fewer than 10 digits): the caller writes isoTime's text.
 */
function putIsoFromDigits(out: Buffer, pos: number, src: Buffer, from: number, to: number): number {
  const fracAt = to - 9;
  if (fracAt <= from) return -1;
  let sec = 0;
  for (let i = from; i < fracAt; i++) sec = sec * 10 + (src[i]! - 48);
  if (sec !== isoSecB) {
    isoPrefixB = Buffer.from(isoTime(BigInt(sec) * 1_000_000_000n).slice(0, -10), 'latin1');
    isoSecB = sec;
  }
  let p = putBytes(out, pos, isoPrefixB);
  for (let i = fracAt; i < to; i++) out[p++] = src[i]!;
  out[p] = 0x5a; // Z
  return p + 1;
}

/** an upper bound of writeJsonlLine's length */
export function jsonlLineMaxBytes(ev: SysmonEvent, who: Identity): number {
  return maxBytes(ev, identityBytes(who));
}

function maxBytes(ev: SysmonEvent, w: IdentityBytes): number {
  const c = ev.container ? 3 * containerJson(ev).length : 0;
  const d = ev instanceof EncodedEvent && ev.bytes !== null ? ev.dataEnd - ev.dataOff : 3 * dataJson(ev).length;
  return 160 + w.computerTime.length + w.providerData.length + c + d;
}

/**
 * Writes the JSONL line of `ev` (Buffer.from(encodeJsonl(ev, who)), byte for byte) at
 * out[off..] and returns where it ends; out must have jsonlLineMaxBytes(ev, who) bytes of room.
 */
export function writeJsonlLine(ev: SysmonEvent, who: Identity, out: Buffer, off: number): number {
  return writeLine(ev, identityBytes(who), out, off);
}

/**
 * writeJsonlLine for one identity (a sink's): (ev, out, off) -> the end offset, or -1 when out
 * has less than the line's upper bound of room from off.
 */
export function jsonlLineWriter(who: Identity): (ev: SysmonEvent, out: Buffer, off: number) => number {
  const w = identityBytes(who);
  return (ev, out, off) => (out.length - off < maxBytes(ev, w) ? -1 : writeLine(ev, w, out, off));
}

function writeLine(ev: SysmonEvent, w: IdentityBytes, out: Buffer, off: number): number {
  let p = putBytes(out, off, lineHeadBytes(ev.id));
  p = putUint(out, p, ev.recordId);
  p = putBytes(out, p, w.computerTime);
  const src = ev instanceof EncodedEvent ? ev.bytes : null;
  let t = -1;
  if (src !== null) t = putIsoFromDigits(out, p, src, (ev as EncodedEvent).timeOff, (ev as EncodedEvent).timeEnd);
  p = t >= 0 ? t : p + out.write(isoTime(ev.timeNs), p, 'latin1');
  if (ev.container) {
    p = putBytes(out, p, w.provider);
    p += out.write(containerJson(ev), p, 'utf8');
    p = putBytes(out, p, EVENT_DATA);
  } else {
    p = putBytes(out, p, w.providerData);
  }
  if (src !== null) {
    const e = ev as EncodedEvent;
    p += src.copy(out, p, e.dataOff, e.dataEnd);
  } else {
    p += out.write(dataJson(ev), p, 'utf8');
  }
  out[p++] = 0x7d; // }
  out[p++] = 0x0a; // \n
  return p;
}

/** Inverse of encodeJsonl for `filter`, `convert` and tests: a parsed JSONL object back to an event. */
export function eventFromJson(obj: unknown): SysmonEvent {
  if (typeof obj !== 'object' || obj === null) throw new Error('not a JSON object');
  const o = obj as Record<string, unknown>;
  const id = o.EventID;
  if (typeof id !== 'number') throw new Error('missing numeric EventID');
  eventDef(id);
  const data = o.EventData;
  if (typeof data !== 'object' || data === null) throw new Error('missing EventData object');
  const time = typeof o.TimeCreated === 'string' ? parseIsoNs(o.TimeCreated) : 0n;
  const ev: SysmonEvent = {
    id,
    recordId: typeof o.EventRecordID === 'number' ? o.EventRecordID : 0,
    timeNs: time,
    data: data as SysmonEvent['data'],
  };
  const c = o.Container as Record<string, unknown> | undefined;
  if (c && typeof c === 'object' && typeof c.Id === 'string') {
    ev.container = { id: c.Id, runtime: String(c.Runtime ?? '-'), cgroup: String(c.Cgroup ?? '-') };
  }
  return ev;
}

export function parseIsoNs(text: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) throw new Error(`bad TimeCreated ${JSON.stringify(text)}`);
  const sec = BigInt(Date.parse(`${m[1]}Z`) / 1000);
  return sec * 1_000_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}
