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
import { EVENTS } from './schema.js';

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

// Actor runs. Every event with an acting process has `"ProcessGuid":"{...}","ProcessId":N,
// "Image":"..."` in a row, and a process's events repeat it: ~100 bytes of keys and strings
// written unit by unit (~200 ns per event at ~2 ns a unit). The writer remembers, per pid slot,
// where it last wrote a process's run in the journal's batch buffer, and copies a later event's
// run from there with copyWithin: no allocation, nothing copied out. A copy needs the same
// buffer, the same fill of it (the caller's `epoch`: the journal starts a new one whenever the
// buffer's bytes may be rewritten), a run before the write position and the three values equal,
// so the bytes are the ones the loop would write. A run counts only once its record is complete
// (commitActorRun, from writeDataRecord after sealing it).
const RUN_SLOTS = 1024;
const runPid = new Int32Array(RUN_SLOTS).fill(-1);
const runFrom = new Int32Array(RUN_SLOTS);
const runTo = new Int32Array(RUN_SLOTS);
const runEpoch = new Float64Array(RUN_SLOTS).fill(-1);
const runGuid: (string | undefined)[] = new Array<string | undefined>(RUN_SLOTS).fill(undefined);
const runImage: (string | undefined)[] = new Array<string | undefined>(RUN_SLOTS).fill(undefined);
const runBuf: (Buffer | undefined)[] = new Array<Buffer | undefined>(RUN_SLOTS).fill(undefined);
/** the keys of a run after ProcessGuid, in order */
const RUN_REST = ['ProcessId', 'Image'] as const;

/** the run the last writeDataJson wrote (slot -1: none), until commitActorRun */
const pending = { slot: -1, pid: 0, from: 0, to: 0, epoch: -1, guid: '', image: '', buf: null as Buffer | null };

/**
 * Event IDs whose schema has the run in a row. FileDelete (23) and FileDeleteDetected (26) put
 * User between ProcessId and Image: a run copied into one of those left the writer at a key it
 * did not expect, and the whole event fell back to JSON.stringify (every FileDelete of a file
 * storm after its FileCreate, 10.3 -> 12.6 us per file in bench/cost.ts).
 */
const RUN_FITS: ReadonlySet<number> = new Set(
  EVENTS.filter((e) => {
    const names = e.fields.map((f) => f.name);
    const at = names.indexOf('ProcessGuid');
    return at >= 0 && names[at + 1] === RUN_REST[0] && names[at + 2] === RUN_REST[1];
  }).map((e) => e.id),
);

/** The epoch writeDataJson may use for an event of `id`: `epoch` where its schema has the run in a row, else -1 (no copy). */
export function actorRunEpoch(id: number, epoch: number): number {
  return RUN_FITS.has(id) ? epoch : -1;
}

function runSlot(pid: FieldValue | undefined): number {
  return typeof pid === 'number' && (pid | 0) === pid && pid >= 0 ? pid & (RUN_SLOTS - 1) : -1;
}

/**
 * JSON.stringify(data) as UTF-8 at out[pos..limit); returns where it ends, or -1 when it does
 * not fit (out is then garbage from pos on). `data`: a plain object (an event's EventData).
 * `epoch` >= 0 lets it copy actor runs written earlier in out during the same epoch (see above).
 * -1 too for an object whose ProcessGuid is not followed by ProcessId and Image once a run was
 * copied (no event builder makes one): the caller then takes JSON.stringify's path.
 */
export function writeDataJson(data: Record<string, FieldValue>, out: Buffer, pos: number, limit: number, epoch = -1): number {
  pending.slot = -1;
  // for-in would also see inherited keys, and JSON.stringify would call a toJSON: not EventData's shape
  if (pos >= limit || Object.getPrototypeOf(data) !== Object.prototype || 'toJSON' in data) return -1;
  let p = pos;
  out[p++] = 0x7b; // {
  let first = true;
  /** keys of RUN_REST still to come after a copied run (they are skipped) */
  let skip = 0;
  /** fields of a run still to write while one is being recorded (3: none written yet) */
  let record = 0;
  let runAt = 0;
  for (const key in data) {
    const v = data[key];
    // JSON.stringify leaves out a key whose value is undefined, a function or a symbol
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (skip > 0) {
      if (key !== RUN_REST[2 - skip]) return -1;
      skip--;
      continue;
    }
    if (key === 'ProcessGuid' && typeof v === 'string' && epoch >= 0) {
      const slot = runSlot(data.ProcessId);
      if (
        slot >= 0 &&
        runEpoch[slot] === epoch &&
        runBuf[slot] === out &&
        runPid[slot] === data.ProcessId &&
        runGuid[slot] === v &&
        runImage[slot] === data.Image &&
        runTo[slot]! <= p
      ) {
        const n = runTo[slot]! - runFrom[slot]!;
        if (p + n + 2 > limit) return -1;
        if (!first) out[p++] = 0x2c; // ,
        first = false;
        out.copyWithin(p, runFrom[slot]!, runTo[slot]!);
        p += n;
        skip = 2;
        continue;
      }
      record = 3;
      runAt = first ? p : p + 1;
    } else if (record > 0 && key !== RUN_REST[2 - record]) record = 0;
    const k = keyOf(key);
    if (p + k.length + 2 > limit) return -1;
    if (!first) out[p++] = 0x2c; // ,
    first = false;
    p = putBytes(out, p, k);
    p = typeof v === 'string' ? writeString(v, out, p, limit) : writeOther(v, out, p, limit);
    if (p < 0) return -1;
    if (record > 0 && --record === 0) holdRun(data, out, runAt, p, epoch);
  }
  if (p >= limit) return -1;
  out[p++] = 0x7d; // }
  return p;
}

function holdRun(data: Record<string, FieldValue>, out: Buffer, from: number, to: number, epoch: number): void {
  const guid = data.ProcessGuid;
  const image = data.Image;
  const slot = runSlot(data.ProcessId);
  if (slot < 0 || typeof guid !== 'string' || typeof image !== 'string') return;
  pending.slot = slot;
  pending.pid = data.ProcessId as number;
  pending.from = from;
  pending.to = to;
  pending.epoch = epoch;
  pending.guid = guid;
  pending.image = image;
  pending.buf = out;
}

let epochs = 0;
/**
 * A new epoch for writeDataJson, unique in the process (two journals never share one): a
 * buffer's writer takes one whenever bytes already written in it may change.
 */
export function newRunEpoch(): number {
  return epochs++;
}

/** The run the last writeDataJson recorded is in a complete record now: later events may copy it. */
export function commitActorRun(): void {
  const slot = pending.slot;
  if (slot < 0) return;
  runPid[slot] = pending.pid;
  runFrom[slot] = pending.from;
  runTo[slot] = pending.to;
  runEpoch[slot] = pending.epoch;
  runGuid[slot] = pending.guid;
  runImage[slot] = pending.image;
  runBuf[slot] = pending.buf!;
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
