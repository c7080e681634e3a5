// An event's EventData as JSON, written straight into the journal's batch buffer: the bytes
// JSON.stringify(data) would give (as UTF-8), without the string. JSON.stringify built ~860
// bytes of heap per event in a replay (its result is a concatenation that Buffer#write then
// flattens into a second copy), 18% of what the pipeline allocated, and the CPU of both.
//
// Printable ASCII strings, integers and booleans are written here; anything else (a string
// with a quote, a backslash, a control character or any non-ASCII unit, a fraction, an
// object) is written as JSON.stringify writes it, so the bytes are always the same.
import { putBytes, putUint } from './ascii-bytes.js';
import type { FieldValue } from './event.js';

/** `"Key":` as bytes, per key (a key's JSON is computed once) */
const keyBytes = new Map<string, Buffer>();

function keyOf(key: string): Buffer {
  let b = keyBytes.get(key);
  if (b === undefined) {
    b = Buffer.from(`${JSON.stringify(key)}:`, 'utf8');
    // EventData keys are the schema's fields: a bound keeps a hostile or buggy caller from growing it
    if (keyBytes.size < 4096) keyBytes.set(key, b);
  }
  return b;
}

// Field runs. A process's events repeat most of their fields: ProcessGuid, ProcessId, Image and
// User always, and a connection's or a file's fields often (the same peer, the same port, the
// same directory). Written unit by unit in JavaScript they cost ~2 ns a byte. The writer
// remembers, per pid slot, where each field of that process's last event is in the journal's
// batch buffer (its key and value too), and writes a field equal to the last event's field at
// the same place as a copy of those bytes: consecutive equal fields are one copyWithin, with no
// allocation and nothing kept outside the buffer. A copy needs the same buffer, the same fill of
// it (the caller's `epoch`: the journal starts a new one whenever the buffer's bytes may be
// rewritten), a committed record (commitDataRuns, from writeDataRecord once the record is
// sealed), the same key at the same position and an equal primitive value, so its bytes are the
// ones the loop would write. Two banks per slot: the last committed event's and the one being
// written.
const RUN_SLOTS = 512;
/** fields remembered per event (schema events have fewer; later ones are written, not remembered) */
const MAX_FIELDS = 32;
const slotEpoch = new Float64Array(RUN_SLOTS).fill(-1);
const slotBuf: (Buffer | undefined)[] = new Array<Buffer | undefined>(RUN_SLOTS).fill(undefined);
const slotCount = new Int32Array(RUN_SLOTS);
/** which bank holds the slot's committed event */
const slotBank = new Uint8Array(RUN_SLOTS);
// per (slot, bank, field): (2 * slot + bank) * MAX_FIELDS + field
const fieldKey: (string | undefined)[] = new Array<string | undefined>(2 * RUN_SLOTS * MAX_FIELDS).fill(undefined);
const fieldValue: FieldValue[] = new Array<FieldValue>(2 * RUN_SLOTS * MAX_FIELDS).fill('');
const fieldFrom = new Int32Array(2 * RUN_SLOTS * MAX_FIELDS);
const fieldTo = new Int32Array(2 * RUN_SLOTS * MAX_FIELDS);

/** the event the last writeDataJson remembered (slot -1: none), until commitDataRuns */
const pending = { slot: -1, count: 0, epoch: -1, buf: null as Buffer | null };

function runSlot(pid: FieldValue | undefined): number {
  return typeof pid === 'number' && (pid | 0) === pid && pid >= 0 ? pid & (RUN_SLOTS - 1) : -1;
}

/**
 * JSON.stringify(data) as UTF-8 at out[pos..limit); returns where it ends, or -1 when it does
 * not fit (out is then garbage from pos on). `data`: a plain object (an event's EventData).
 * `epoch` >= 0 lets it copy fields written earlier in out during the same epoch (see above).
 */
export function writeDataJson(data: Record<string, FieldValue>, out: Buffer, pos: number, limit: number, epoch = -1): number {
  pending.slot = -1;
  // for-in would also see inherited keys, and JSON.stringify would call a toJSON: not EventData's shape
  if (pos >= limit || Object.getPrototypeOf(data) !== Object.prototype || 'toJSON' in data) return -1;
  const slot = epoch >= 0 ? runSlot(data.ProcessId) : -1;
  /** the committed event's fields (-1: none to copy from), and where this event's go */
  let prev = -1;
  let prevCount = 0;
  let cur = -1;
  if (slot >= 0) {
    const bank = slotBank[slot]!;
    if (slotEpoch[slot] === epoch && slotBuf[slot] === out) {
      prev = (2 * slot + bank) * MAX_FIELDS;
      prevCount = slotCount[slot]!;
    }
    cur = (2 * slot + (bank ^ 1)) * MAX_FIELDS;
  }
  let p = pos;
  out[p++] = 0x7b; // {
  let first = true;
  let i = 0;
  /** a copy not made yet: out[runFrom, runTo) goes to out[runAt..] (runFrom -1: none) */
  let runFrom = -1;
  let runTo = 0;
  let runAt = 0;
  for (const key in data) {
    const v = data[key];
    // JSON.stringify leaves out a key whose value is undefined, a function or a symbol
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    let from: number;
    let to: number;
    const f = prev + i;
    if (i < prevCount && fieldKey[f] === key && fieldValue[f] === v) {
      const srcFrom = fieldFrom[f]!;
      const srcTo = fieldTo[f]!;
      // a field after one copied extends the copy: both are of the one committed event, one
      // comma apart, and the comma comes along
      if (runFrom < 0) {
        if (p + 1 >= limit) return -1;
        if (!first) out[p++] = 0x2c; // ,
        runFrom = srcFrom;
        runAt = p;
      }
      runTo = srcTo;
      first = false;
      from = runAt + (srcFrom - runFrom);
      to = runAt + (srcTo - runFrom);
    } else {
      if (runFrom >= 0) {
        p = copyRun(out, runFrom, runTo, runAt, limit);
        if (p < 0) return -1;
        runFrom = -1;
      }
      const k = keyOf(key);
      if (p + k.length + 2 > limit) return -1;
      if (!first) out[p++] = 0x2c; // ,
      first = false;
      from = p;
      p = putBytes(out, p, k);
      p = typeof v === 'string' ? writeString(v, out, p, limit) : writeOther(v, out, p, limit);
      if (p < 0) return -1;
      to = p;
    }
    if (cur >= 0 && i < MAX_FIELDS) {
      const c = cur + i;
      // only a primitive's bytes are a function of its value (an object may change between events)
      const t = typeof v;
      fieldKey[c] = t === 'string' || t === 'number' || t === 'boolean' ? key : undefined;
      fieldValue[c] = v;
      fieldFrom[c] = from;
      fieldTo[c] = to;
    }
    i++;
  }
  if (runFrom >= 0) {
    p = copyRun(out, runFrom, runTo, runAt, limit);
    if (p < 0) return -1;
  }
  if (p >= limit) return -1;
  out[p++] = 0x7d; // }
  if (cur >= 0) {
    pending.slot = slot;
    pending.count = Math.min(i, MAX_FIELDS);
    pending.epoch = epoch;
    pending.buf = out;
  }
  return p;
}

/** out[from, to) copied to out[at..]; returns its end, or -1 when it would reach `limit` */
function copyRun(out: Buffer, from: number, to: number, at: number, limit: number): number {
  const end = at + (to - from);
  if (end >= limit) return -1;
  out.copyWithin(at, from, to);
  return end;
}

let epochs = 0;
/**
 * A new epoch for writeDataJson, unique in the process (two journals never share one): a
 * buffer's writer takes one whenever bytes already written in it may change.
 */
export function newRunEpoch(): number {
  return epochs++;
}

/** The event the last writeDataJson wrote is in a complete record now: later events may copy its fields. */
export function commitDataRuns(): void {
  const slot = pending.slot;
  if (slot < 0) return;
  slotBank[slot]! ^= 1;
  slotCount[slot] = pending.count;
  slotEpoch[slot] = pending.epoch;
  slotBuf[slot] = pending.buf!;
  pending.slot = -1;
  pending.buf = null;
}

/** a UTF-16 unit JSON escapes or UTF-8 widens: not one of 0x20-0x7e but '"' and '\\' */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
/**
 * From this length a string is checked by the regex and copied by Buffer#latin1Write (native:
 * ~60 ns + ~1 ns per unit here) rather than unit by unit in JavaScript (~2.8 ns per unit).
 */
const NATIVE_FROM = 40;

/** Buffer#latin1Write (Node's, untyped): write()'s own copy without its argument normalization */
type Latin1Writer = { latin1Write(s: string, offset: number, length: number): number };

function writeString(s: string, out: Buffer, pos: number, limit: number): number {
  const n = s.length;
  if (pos + n + 2 > limit) return writeStringified(s, out, pos, limit);
  if (n >= NATIVE_FROM) {
    if (NOT_PLAIN.test(s)) return writeStringified(s, out, pos, limit);
    out[pos] = 0x22;
    const end = pos + 1 + (out as unknown as Latin1Writer).latin1Write(s, pos + 1, n);
    out[end] = 0x22;
    return end + 1;
  }
  let p = pos;
  out[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    // what JSON escapes (", \, controls) or UTF-8 widens: the whole string as JSON.stringify writes it
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return writeStringified(s, out, pos, limit);
    out[p++] = c;
  }
  out[p++] = 0x22;
  return p;
}

function writeOther(v: Exclude<FieldValue, string> | unknown, out: Buffer, pos: number, limit: number): number {
  if (typeof v === 'number' && Number.isSafeInteger(v)) {
    // a safe integer has at most 16 digits
    if (pos + 17 > limit) return -1;
    if (v >= 0) return putUint(out, pos, v);
    out[pos] = 0x2d; // -
    return putUint(out, pos + 1, -v);
  }
  if (typeof v === 'boolean') {
    const text = v ? TRUE : FALSE;
    return pos + text.length > limit ? -1 : putBytes(out, pos, text);
  }
  return writeStringified(v, out, pos, limit);
}

const TRUE = Buffer.from('true', 'latin1');
const FALSE = Buffer.from('false', 'latin1');

function writeStringified(v: unknown, out: Buffer, pos: number, limit: number): number {
  const text = JSON.stringify(v) as string | undefined;
  // no text: a toJSON that returned undefined (JSON.stringify would leave the key out): -1 sends
  // the event down the caller's JSON.stringify path, which does exactly that
  if (text === undefined) return -1;
  if (pos + 3 * text.length > limit) return -1;
  return pos + out.write(text, pos, 'utf8');
}
