// On-disk format of the journal (see README.md).
//
// Segment file "<baseId, 20 digits>.seg":
//   header (32 bytes): "SYSMONJ1" | u64 baseId | u64 createdMs | u32 reserved | u32 crc32c(bytes 0..28)
//   records, back to back:
//     u32 len | u32 crc32c(len bytes ++ id bytes ++ payload) | u64 recordId | payload[len]
// All integers little-endian. payload is UTF-8 JSON {"id":EventID,"t":"timeNs","d":{EventData}}.
import type { FileHandle } from 'node:fs/promises';
import type { SysmonEvent } from '../events/event.js';
import { crc32c } from './crc32c.js';
import { EncodedEvent, dataJson } from '../events/encoded.js';
import { actorRunEpoch, commitActorRun, writeDataJson } from '../events/data-writer.js';
import { putBytes, putUint } from '../events/ascii-bytes.js';

export const MAGIC = Buffer.from('SYSMONJ1', 'latin1');
export const SEGMENT_HEADER = 32;
export const RECORD_HEADER = 16;
/** a record larger than this is treated as corruption (Linux ARG_MAX is 2 MiB) */
export const MAX_PAYLOAD = 16 * 1024 * 1024;

export function segmentName(baseId: number): string {
  return `${String(baseId).padStart(20, '0')}.seg`;
}

export function parseSegmentName(name: string): number | null {
  const m = /^(\d{20})\.seg$/.exec(name);
  return m ? Number(m[1]) : null;
}

export function encodeSegmentHeader(baseId: number, createdMs: number): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER);
  MAGIC.copy(b, 0);
  b.writeBigUInt64LE(BigInt(baseId), 8);
  b.writeBigUInt64LE(BigInt(createdMs), 16);
  b.writeUInt32LE(crc32c(b, 0, 0, 28), 28);
  return b;
}

export function decodeSegmentHeader(b: Buffer): { baseId: number; createdMs: number } | null {
  if (b.length < SEGMENT_HEADER || !b.subarray(0, 8).equals(MAGIC)) return null;
  if (b.readUInt32LE(28) !== crc32c(b, 0, 0, 28)) return null;
  return { baseId: Number(b.readBigUInt64LE(8)), createdMs: Number(b.readBigUInt64LE(16)) };
}

/** The payload text of an event (recordId lives in the record header). */
export function payloadText(ev: SysmonEvent): string {
  const c = ev.container ? `,"c":${JSON.stringify(ev.container)}` : '';
  return `{"id":${ev.id},"t":"${ev.timeNs}","d":${dataJson(ev)}${c}}`;
}

/**
 * A payload back to an event. The usual layout (as payloadText writes it) is split without a
 * JSON.parse: the EventData text is kept as is and parsed only if a sink reads ev.data. Any
 * other layout (a hand-written or foreign record) takes the full parse.
 */
export function decodePayload(recordId: number, payload: Buffer): SysmonEvent {
  return splitPayload(recordId, payload) ?? parsePayload(recordId, payload.toString('utf8'));
}

const HEAD = Buffer.from('{"id":', 'latin1');
const TIME_KEY = Buffer.from(',"t":"', 'latin1');
const DATA_KEY = Buffer.from('","d":{', 'latin1');
const CONTAINER_KEY = Buffer.from(',"c":{', 'latin1');

function startsWithAt(b: Buffer, at: number, s: Buffer): boolean {
  if (at + s.length > b.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s[i]) return false;
  return true;
}

/** the end of the run of decimal digits from b[at] (at itself when there is none) */
function digitsEnd(b: Buffer, at: number): number {
  while (at < b.length && b[at]! >= 0x30 && b[at]! <= 0x39) at++;
  return at;
}

/**
 * {"id":N,"t":"T","d":{...}[,"c":{...}]} -> an EncodedEvent over the payload's own bytes (no
 * string for its text: the JSONL sink copies the bytes, others decode them on first use), or
 * null when the bytes are not in that layout. The container is found from the end: `,"c":{`
 * cannot occur inside the data text (a quote inside a JSON string is always escaped, and no
 * EventData key is "c"). `payload` must not be overwritten while the event lives
 * (RecordScanner never reuses bytes it handed out).
 */
function splitPayload(recordId: number, payload: Buffer): EncodedEvent | null {
  const last = payload.length - 1;
  if (!startsWithAt(payload, 0, HEAD) || payload[last] !== 0x7d) return null;
  const idEnd = digitsEnd(payload, HEAD.length);
  if (idEnd === HEAD.length || idEnd - HEAD.length > 15 || !startsWithAt(payload, idEnd, TIME_KEY)) return null;
  let id = 0;
  for (let i = HEAD.length; i < idEnd; i++) id = id * 10 + (payload[i]! - 0x30);
  const tFrom = idEnd + TIME_KEY.length;
  const tTo = digitsEnd(payload, tFrom);
  if (tTo === tFrom || !startsWithAt(payload, tTo, DATA_KEY)) return null;
  const dFrom = tTo + DATA_KEY.length - 1;
  let dTo = last;
  let container: SysmonEvent['container'];
  const ci = payload.lastIndexOf(CONTAINER_KEY);
  if (ci > dFrom) {
    try {
      container = JSON.parse(payload.toString('utf8', ci + 5, last)) as SysmonEvent['container'];
    } catch {
      return null;
    }
    dTo = ci;
  }
  if (payload[dTo - 1] !== 0x7d) return null;
  const ev = new EncodedEvent(id, recordId, BigInt(payload.toString('latin1', tFrom, tTo)), '', container);
  ev.attach(payload, dFrom, dTo, tFrom, tTo);
  return ev;
}

function parsePayload(recordId: number, text: string): SysmonEvent {
  const o = JSON.parse(text) as { id: number; t: string; d: SysmonEvent['data']; c?: SysmonEvent['container'] };
  const ev: SysmonEvent = { id: o.id, recordId, timeNs: BigInt(o.t), data: o.d };
  if (o.c) ev.container = o.c;
  return ev;
}

/**
 * Writes one record at buf[off..] (caller guarantees RECORD_HEADER + 3*text.length bytes of room)
 * and returns its total length.
 */
export function writeRecord(buf: Buffer, off: number, recordId: number, text: string): number {
  const len = buf.write(text, off + RECORD_HEADER, 'utf8');
  buf.writeUInt32LE(len, off);
  buf.writeUInt32LE(recordId >>> 0, off + 8);
  buf.writeUInt32LE(Math.floor(recordId / 0x1_0000_0000), off + 12);
  let c = crc32c(buf, 0, off, off + 4);
  c = crc32c(buf, c, off + 8, off + RECORD_HEADER + len);
  buf.writeUInt32LE(c, off + 4);
  return RECORD_HEADER + len;
}

/**
 * Writes the record of an encoded event at buf[off..] (room: RECORD_HEADER + 3 * the payload's
 * length in UTF-16 units) without building the payload string, attaches the event to the bytes
 * (the JSONL sink copies its EventData and time digits from there) and returns the record's
 * length. The bytes are the same as writeRecord(payloadText(ev)).
 */
export function writeEventRecord(buf: Buffer, off: number, recordId: number, ev: EncodedEvent): number {
  const text = ev.dataText;
  const p0 = off + RECORD_HEADER;
  // `{"id":N,"t":"` from a byte table, the time's digits, `","d":`: no string per event
  const timeOff = putBytes(buf, p0, payloadHead(ev.id));
  const timeEnd = putTimeDigits(buf, timeOff, ev.timeNs);
  const dataOff = putBytes(buf, timeEnd, TIME_TO_DATA);
  let p = dataOff;
  p += buf.write(text, p, 'utf8');
  const dataEnd = p;
  if (ev.container) p += buf.write(`,"c":${JSON.stringify(ev.container)}}`, p, 'utf8');
  else buf[p++] = 0x7d;
  const len = sealRecord(buf, off, p, recordId);
  ev.attach(buf, dataOff, dataEnd, timeOff, timeEnd);
  return len;
}

/** the record header (length, id, checksum) of the payload buf[off + RECORD_HEADER, end); returns the record's length */
function sealRecord(buf: Buffer, off: number, end: number, recordId: number): number {
  putU32(buf, off, end - off - RECORD_HEADER);
  putU32(buf, off + 8, recordId >>> 0);
  putU32(buf, off + 12, Math.floor(recordId / 0x1_0000_0000));
  let c = crc32c(buf, 0, off, off + 4);
  c = crc32c(buf, c, off + 8, end);
  putU32(buf, off + 4, c);
  return end - off;
}

/**
 * buf.writeUInt32LE(v, at) for a u32 inside the record being sealed (its room is checked by the
 * writer): Buffer's own validates value and offset through further calls, four times a record.
 */
function putU32(buf: Buffer, at: number, v: number): void {
  buf[at] = v;
  buf[at + 1] = v >>> 8;
  buf[at + 2] = v >>> 16;
  buf[at + 3] = v >>> 24;
}

/**
 * writeEventRecord for an event not encoded yet: its EventData is written from the data
 * object straight into buf (src/events/data-writer.ts: JSON.stringify's bytes, no string).
 * Returns the encoded event, attached to the record's bytes, or null when the record does not
 * fit in buf[off, limit) or the data has a value the writer leaves to JSON.stringify (the
 * caller then takes encodeEvent + writeEventRecord; nothing was committed). `epoch`: the fill of
 * buf this record belongs to (data-writer.ts newRunEpoch), so that the writer may copy an actor
 * run from an earlier record of the same fill; -1 (none) copies nothing.
 */
export function writeDataRecord(buf: Buffer, off: number, limit: number, recordId: number, ev: SysmonEvent, epoch = -1): EncodedEvent | null {
  const data = ev.data;
  if (data === undefined) return null;
  const p0 = off + RECORD_HEADER;
  if (p0 + 64 > limit) return null;
  const timeOff = putBytes(buf, p0, payloadHead(ev.id));
  const timeEnd = putTimeDigits(buf, timeOff, ev.timeNs);
  const dataOff = putBytes(buf, timeEnd, TIME_TO_DATA);
  let p = dataOff;
  p = writeDataJson(data, buf, p, limit, actorRunEpoch(ev.id, epoch));
  if (p < 0) return null;
  const dataEnd = p;
  if (ev.container) {
    const c = `,"c":${JSON.stringify(ev.container)}}`;
    if (p + 3 * c.length > limit) return null;
    p += buf.write(c, p, 'utf8');
  } else {
    if (p >= limit) return null;
    buf[p++] = 0x7d;
  }
  sealRecord(buf, off, p, recordId);
  commitActorRun();
  // frozen as encodeEvent freezes it: the object and the bytes cannot diverge
  Object.freeze(data);
  const enc = new EncodedEvent(ev.id, recordId, ev.timeNs, '', ev.container, data);
  enc.attach(buf, dataOff, dataEnd, timeOff, timeEnd);
  return enc;
}

/** `{"id":N,"t":"` per EventID */
const payloadHeads: (Buffer | undefined)[] = [];
function payloadHead(id: number): Buffer {
  let h = payloadHeads[id];
  if (h === undefined) {
    h = Buffer.from(`{"id":${id},"t":"`, 'latin1');
    if (id >= 0 && id < 65536 && Number.isInteger(id)) payloadHeads[id] = h;
  }
  return h;
}
const TIME_TO_DATA = Buffer.from('","d":', 'latin1');

const U64 = new BigUint64Array(1);
const U16 = new Uint16Array(U64.buffer);
const U16_HIGH_FIRST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? [3, 2, 1, 0] : [0, 1, 2, 3];
const MAX_U64 = 2n ** 64n - 1n;

/**
 * String(timeNs) as bytes at out[pos..], without a BigInt operation or a string: the value is
 * stored in a u64 and divided by 1e9 from its four 16-bit parts with exact double arithmetic
 * (each step stays below 2^46), giving seconds and nanoseconds as numbers.
 */
function putTimeDigits(out: Buffer, pos: number, timeNs: bigint): number {
  if (timeNs < 0n || timeNs > MAX_U64) return pos + out.write(String(timeNs), pos, 'latin1');
  U64[0] = timeNs;
  let sec = 0;
  let rem = 0;
  for (let k = 0; k < 4; k++) {
    const cur = rem * 65536 + U16[U16_HIGH_FIRST[k]!]!;
    const q = Math.floor(cur / 1e9);
    rem = cur - q * 1e9;
    sec = sec * 65536 + q;
  }
  if (sec === 0) return putUint(out, pos, rem);
  return putUint(out, putUint(out, pos, sec), rem, 9);
}

/** an upper bound of writeEventRecord's length for `ev` */
export function eventRecordMaxBytes(ev: EncodedEvent): number {
  const c = ev.container ? JSON.stringify(ev.container).length + 8 : 0;
  return RECORD_HEADER + 64 + 3 * (ev.dataText.length + c);
}

export type ScanResult =
  | { kind: 'record'; id: number; payload: Buffer; offset: number; end: number }
  | { kind: 'end'; offset: number }
  | { kind: 'bad'; reason: 'torn' | 'length' | 'checksum' | 'order'; offset: number };

/**
 * Sequential reader of the records of one segment, from `pos` up to limit() (which may grow
 * while the segment is active). A returned payload stays valid: the scanner reads on into a new
 * buffer rather than over bytes it handed out, so events can keep pointing into them
 * (decodePayload).
 */
export class RecordScanner {
  private buf: Buffer;
  private start = 0;
  private end = 0;
  /** file offset of buf[start] */
  pos: number;
  private lastId: number;

  constructor(
    private readonly fh: FileHandle,
    pos: number,
    private readonly limit: () => number,
    lastId = 0,
    private readonly chunk = 1 << 20,
  ) {
    this.buf = Buffer.allocUnsafe(chunk);
    this.pos = pos;
    this.lastId = lastId;
  }

  private async ensure(n: number): Promise<boolean> {
    while (this.end - this.start < n) {
      const fileEnd = this.limit();
      const have = this.pos + (this.end - this.start);
      if (have >= fileEnd) return false;
      if (this.start > 0 || this.buf.length < n) {
        // the unread rest moves to a new buffer (handed-out payloads keep the old one)
        const nb = Buffer.allocUnsafe(Math.max(n, this.chunk));
        this.buf.copy(nb, 0, this.start, this.end);
        this.end -= this.start;
        this.start = 0;
        this.buf = nb;
      }
      const want = Math.min(this.buf.length - this.end, fileEnd - have);
      const { bytesRead } = await this.fh.read(this.buf, this.end, want, have);
      if (bytesRead === 0) return false;
      this.end += bytesRead;
    }
    return true;
  }

  /** The next record when its bytes are read already, else null (next() reads them): no promise per record. */
  nextBuffered(): ScanResult | null {
    const avail = this.end - this.start;
    if (avail < RECORD_HEADER) return null;
    const len = this.buf.readUInt32LE(this.start);
    if (len > MAX_PAYLOAD) return { kind: 'bad', reason: 'length', offset: this.pos };
    return avail < RECORD_HEADER + len ? null : this.take(len);
  }

  async next(): Promise<ScanResult> {
    const buffered = this.nextBuffered();
    if (buffered !== null) return buffered;
    const offset = this.pos;
    if (!(await this.ensure(RECORD_HEADER))) {
      return this.end === this.start ? { kind: 'end', offset } : { kind: 'bad', reason: 'torn', offset };
    }
    const len = this.buf.readUInt32LE(this.start);
    if (len > MAX_PAYLOAD) return { kind: 'bad', reason: 'length', offset };
    if (!(await this.ensure(RECORD_HEADER + len))) return { kind: 'bad', reason: 'torn', offset };
    return this.take(len);
  }

  /** the record of payload length `len` at buf[start..], read in full */
  private take(len: number): ScanResult {
    const offset = this.pos;
    const b = this.buf;
    const s = this.start;
    let c = crc32c(b, 0, s, s + 4);
    c = crc32c(b, c, s + 8, s + RECORD_HEADER + len);
    if (c !== b.readUInt32LE(s + 4)) return { kind: 'bad', reason: 'checksum', offset };
    const id = b.readUInt32LE(s + 8) + b.readUInt32LE(s + 12) * 0x1_0000_0000;
    if (id <= this.lastId) return { kind: 'bad', reason: 'order', offset };
    this.lastId = id;
    const payload = b.subarray(s + RECORD_HEADER, s + RECORD_HEADER + len);
    this.start = s + RECORD_HEADER + len;
    this.pos = offset + RECORD_HEADER + len;
    return { kind: 'record', id, payload, offset, end: this.pos };
  }
}
