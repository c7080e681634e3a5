// One 64 KiB EVTX chunk being filled with records, laid out as Windows lays out
// manifest-based events: every record is a template instance of one "System" template
// (18 substitution values, value 17 = the EventData as nested Binary XML), and the EventData
// is an instance of one template per event ID (<EventData><Data Name='X'>%i</Data>...).
// Names and template definitions are emitted inline on first use in the chunk and referenced
// by chunk offset afterwards, with the string and template bucket tables kept up to date.
import { createHash } from 'node:crypto';
import type { FieldValue, Identity, SysmonEvent } from '../../src/events/event.js';
import { eventDef, type EventDef, type FieldType } from '../../src/events/schema.js';
import {
  CHUNK_HEADER_SIZE,
  CHUNK_MAGIC,
  CHUNK_SIZE,
  RECORD_MAGIC,
  T,
  chunkHeaderCrc,
  crc,
  guidBytes,
  nameHash,
  nsToFiletime,
  sidBytes,
  templateBucket,
} from './format.js';

/** Total UTF-16 code units of EventData strings one record may carry; longer values are cut
 *  (a record must fit in one 64 KiB chunk). The budget includes the cut values' markers. */
export const MAX_STRING_UNITS = 24 * 1024;
/** Room kept per string value for the marker ("...[truncated 4294967295 bytes]" is 33 units). */
const MARKER_UNITS = 34;

/** What a cut value ends with, the same text as the syslog sink's: N = UTF-8 bytes removed. */
export function truncationMarker(removedBytes: number): string {
  return `...[truncated ${removedBytes} bytes]`;
}

/** A value cut to at most `keep` units at a clean boundary, with the marker appended. */
export function truncateValue(s: string, keep: number): string {
  const kept = cutUnits(s, keep);
  return kept + truncationMarker(Buffer.byteLength(s, 'utf8') - Buffer.byteLength(kept, 'utf8'));
}
/** Computer, provider and channel names longer than this are cut (Computer is literal text in the System template). */
const MAX_COMPUTER_UNITS = 255;

export interface WriterContext {
  readonly identity: Identity;
  /** Execution ProcessID / ThreadID */
  readonly pid: number;
  readonly tid: number;
  /** Security UserID, Windows Sysmon writes S-1-5-18 */
  readonly userSid: string;
}

/** What one record claims about itself beyond its event: who wrote it, and its Version. */
export interface RecordMeta {
  /** provider, GUID, channel and Computer of this record (default: the writer's identity) */
  readonly identity?: Identity;
  /** System/Version (default: the schema's version of the event ID) */
  readonly version?: number;
}

/** A record identity as written: Computer is literal text in the System template, so each
 *  provider/computer pair gets its own System template (as Windows does). */
interface PreparedIdentity {
  computer: string;
  provider: string;
  channel: string;
  providerGuid: Buffer;
  systemGuid: Buffer;
}

interface PreparedContext extends PreparedIdentity {
  ctx: WriterContext;
  sid: Buffer;
}

const preparedIdentities = new Map<string, PreparedIdentity>();

/** The prepared form of a record's own identity (cached: a file has few distinct ones). */
export function prepareIdentity(identity: Identity): PreparedIdentity {
  const key = JSON.stringify([identity.provider, identity.providerGuid, identity.channel, identity.computer]);
  let p = preparedIdentities.get(key);
  if (!p) {
    const g = guidBytes(identity.providerGuid);
    if (!g) throw new Error(`bad provider GUID ${identity.providerGuid}`);
    const computer = cutUnits(identity.computer, MAX_COMPUTER_UNITS);
    // provider and channel come from input files too (convert): cut like Computer, so one
    // absurd name cannot make a record that fits no chunk
    p = {
      computer,
      provider: cutUnits(identity.provider, MAX_COMPUTER_UNITS),
      channel: cutUnits(identity.channel, MAX_COMPUTER_UNITS),
      providerGuid: g,
      systemGuid: md5(`sysmon-ts/system/${identity.provider}/${computer}`),
    };
    if (preparedIdentities.size > 10_000) preparedIdentities.clear();
    preparedIdentities.set(key, p);
  }
  return p;
}

const KEYWORDS = 0x8000000000000000n;
const LEVEL: Record<EventDef['level'], number> = { Informational: 4, Error: 2 };

const IN_TYPE: Record<FieldType, number> = {
  UnicodeString: T.String,
  GUID: T.Guid,
  UInt32: T.UInt32,
  UInt16: T.UInt16,
  UInt64: T.UInt64,
  Boolean: T.Bool,
  HexInt32: T.HexInt32,
  HexInt64: T.HexInt64,
};

export function valueTypeOf(type: FieldType): number {
  return IN_TYPE[type];
}

function md5(text: string): Buffer {
  return createHash('md5').update(text).digest();
}

export function prepareContext(ctx: WriterContext): PreparedContext {
  return { ...prepareIdentity(ctx.identity), ctx, sid: sidBytes(ctx.userSid) };
}

/** Cut a string to at most n UTF-16 units without splitting a surrogate pair. */
export function cutUnits(s: string, n: number): string {
  if (s.length <= n) return s;
  let end = n;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}

/** Cap the longest strings so that their total length is at most `budget` units. */
export function fitStrings(lengths: number[], budget: number): number {
  let total = 0;
  for (const l of lengths) total += l;
  if (total <= budget) return Infinity;
  // every value that may be cut gets a marker: keep room for one per value
  budget -= MARKER_UNITS * lengths.filter((l) => l > 0).length;
  const sorted = [...lengths].sort((a, b) => a - b);
  let rest = budget;
  for (let i = 0; i < sorted.length; i++) {
    const cap = Math.floor(rest / (sorted.length - i));
    if (sorted[i]! > cap) return cap;
    rest -= sorted[i]!;
  }
  return Infinity;
}

const scratch = Buffer.alloc(CHUNK_SIZE * 2);

export class Chunk {
  readonly buf = Buffer.alloc(CHUNK_SIZE);
  free = CHUNK_HEADER_SIZE;
  count = 0;
  /** record numbers (record header and chunk header): consecutive in a file, unlike EventRecordIDs */
  firstNumber = 0n;
  lastNumber = 0n;
  lastRecordOffset = 0;
  /** bytes [CHUNK_HEADER_SIZE, written) are on disk already (managed by the file writer) */
  written = CHUNK_HEADER_SIZE;
  /** values cut (with a marker) in the record last appended by tryAppend */
  lastTruncated = 0;
  private readonly names = new Map<string, number>();
  private readonly templates = new Map<string, number>();
  private readonly strBuckets = new Uint32Array(64);
  private readonly tplBuckets = new Uint32Array(32);
  private undo: (() => void)[] = [];
  // emission state
  private base = 0;
  private p = 0;
  /** the record being emitted: its identity and Version */
  private who: PreparedIdentity;
  private version: number | undefined;

  constructor(private readonly pc: PreparedContext) {
    this.who = pc;
  }

  /**
   * Append one record; false (and nothing changed) when it does not fit in this chunk.
   * `recordId` is System/EventRecordID; `number` the record's number in the file (record and
   * chunk headers), which readers expect consecutive: it equals recordId unless ids have gaps.
   */
  tryAppend(ev: SysmonEvent, recordId: bigint, meta: RecordMeta = {}, number = recordId): boolean {
    this.who = meta.identity ? prepareIdentity(meta.identity) : this.pc;
    this.version = meta.version;
    this.undo = [];
    this.base = this.free;
    this.p = 0;
    this.lastTruncated = 0;
    const size = this.emitRecord(ev, recordId, number);
    if (this.free + size > CHUNK_SIZE) {
      for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
      this.undo = [];
      if (this.count === 0) throw new Error(`EVTX record ${recordId} (${size} bytes) does not fit in an empty chunk`);
      return false;
    }
    scratch.copy(this.buf, this.free, 0, size);
    if (this.count === 0) this.firstNumber = number;
    this.lastNumber = number;
    this.lastRecordOffset = this.free;
    this.free += size;
    this.count++;
    return true;
  }

  /** Fill in the chunk header (counters, tables, both CRCs). */
  seal(): void {
    const b = this.buf;
    CHUNK_MAGIC.copy(b, 0);
    b.writeBigUInt64LE(this.firstNumber, 8);
    b.writeBigUInt64LE(this.lastNumber, 16);
    b.writeBigUInt64LE(this.firstNumber, 24);
    b.writeBigUInt64LE(this.lastNumber, 32);
    b.writeUInt32LE(128, 40);
    b.writeUInt32LE(this.lastRecordOffset, 44);
    b.writeUInt32LE(this.free, 48);
    b.writeUInt32LE(crc(b, CHUNK_HEADER_SIZE, this.free), 52);
    b.writeUInt32LE(1, 120);
    for (let i = 0; i < 64; i++) b.writeUInt32LE(this.strBuckets[i]!, 128 + 4 * i);
    for (let i = 0; i < 32; i++) b.writeUInt32LE(this.tplBuckets[i]!, 384 + 4 * i);
    b.writeUInt32LE(chunkHeaderCrc(b), 124);
  }

  // ---- low-level emission into the scratch buffer; chunk offset = base + p ----
  private get off(): number {
    return this.base + this.p;
  }
  private u8(v: number): void {
    scratch[this.p++] = v;
  }
  private u16(v: number): void {
    scratch.writeUInt16LE(v, this.p);
    this.p += 2;
  }
  private u32(v: number): void {
    scratch.writeUInt32LE(v >>> 0, this.p);
    this.p += 4;
  }
  private u64(v: bigint): void {
    scratch.writeBigUInt64LE(v, this.p);
    this.p += 8;
  }
  private bytes(b: Uint8Array): void {
    scratch.set(b, this.p);
    this.p += b.length;
  }
  private utf16(s: string): number {
    const n = scratch.write(s, this.p, 'utf16le');
    this.p += n;
    return n;
  }

  private name(name: string): void {
    const known = this.names.get(name);
    if (known !== undefined) {
      this.u32(known);
      return;
    }
    const at = this.off + 4;
    this.u32(at);
    const hash = nameHash(name);
    const bucket = hash % 64;
    const prevHead = this.strBuckets[bucket]!;
    this.u32(prevHead);
    this.u16(hash);
    this.u16(name.length);
    this.utf16(name);
    this.u16(0);
    this.strBuckets[bucket] = at;
    this.names.set(name, at);
    this.undo.push(() => {
      this.strBuckets[bucket] = prevHead;
      this.names.delete(name);
    });
  }

  /** <name attrs...>content</name>; attrs and content write their own tokens. */
  private element(name: string, dep: number, attrs: (() => void)[], content: (() => void) | null): void {
    this.u8(attrs.length ? 0x41 : 0x01);
    this.u16(dep);
    const sizeAt = this.p;
    this.u32(0);
    this.name(name);
    if (attrs.length) {
      const listAt = this.p;
      this.u32(0);
      const start = this.p;
      attrs.forEach((a, i) => {
        this.u8(i < attrs.length - 1 ? 0x46 : 0x06);
        a();
      });
      scratch.writeUInt32LE(this.p - start, listAt);
    }
    if (content) {
      this.u8(0x02);
      content();
      this.u8(0x04);
    } else this.u8(0x03);
    scratch.writeUInt32LE(this.p - sizeAt - 4, sizeAt);
  }

  private attr(name: string, value: () => void): () => void {
    return () => {
      this.name(name);
      value();
    };
  }

  private text(s: string): () => void {
    return () => {
      this.u8(0x05);
      this.u8(0x01);
      this.u16(s.length);
      this.utf16(s);
    };
  }

  private sub(index: number, type: number, optional: boolean): () => void {
    return () => {
      this.u8(optional ? 0x0e : 0x0d);
      this.u16(index);
      this.u8(type);
    };
  }

  /** `0C 01 id offset` + the definition inline when the chunk does not have it yet. */
  private templateInstance(key: string, guid: Buffer, body: () => void): void {
    this.u8(0x0c);
    this.u8(0x01);
    this.bytes(guid.subarray(0, 4));
    const known = this.templates.get(key);
    if (known !== undefined) {
      this.u32(known);
      return;
    }
    const at = this.off + 4;
    this.u32(at);
    const bucket = templateBucket(guid);
    const prevHead = this.tplBuckets[bucket]!;
    this.u32(prevHead);
    this.bytes(guid);
    const sizeAt = this.p;
    this.u32(0);
    this.u8(0x0f);
    this.u8(0x01);
    this.u8(0x01);
    this.u8(0x00);
    body();
    this.u8(0x00);
    scratch.writeUInt32LE(this.p - sizeAt - 4, sizeAt);
    this.tplBuckets[bucket] = at;
    this.templates.set(key, at);
    this.undo.push(() => {
      this.tplBuckets[bucket] = prevHead;
      this.templates.delete(key);
    });
  }

  private systemBody(): void {
    const s = (i: number, t: number) => this.sub(i, t, true);
    this.element('Event', 0x11, [this.attr('xmlns', this.text('http://schemas.microsoft.com/win/2004/08/events/event'))], () => {
      this.element('System', 0xffff, [], () => {
        this.element('Provider', 0xffff, [this.attr('Name', s(14, T.String)), this.attr('Guid', s(15, T.Guid))], null);
        this.element('EventID', 3, [this.attr('Qualifiers', s(4, T.UInt16))], s(3, T.UInt16));
        this.element('Version', 11, [], s(11, T.UInt8));
        this.element('Level', 0, [], s(0, T.UInt8));
        this.element('Task', 2, [], s(2, T.UInt16));
        this.element('Opcode', 1, [], s(1, T.UInt8));
        this.element('Keywords', 5, [], s(5, T.HexInt64));
        this.element('TimeCreated', 0xffff, [this.attr('SystemTime', s(6, T.FileTime))], null);
        this.element('EventRecordID', 10, [], s(10, T.UInt64));
        this.element('Correlation', 0xffff, [this.attr('ActivityID', s(7, T.Guid)), this.attr('RelatedActivityID', s(13, T.Guid))], null);
        this.element('Execution', 0xffff, [this.attr('ProcessID', s(8, T.UInt32)), this.attr('ThreadID', s(9, T.UInt32))], null);
        this.element('Channel', 16, [], s(16, T.String));
        this.element('Computer', 0xffff, [], this.text(this.who.computer));
        this.element('Security', 0xffff, [this.attr('UserID', s(12, T.Sid))], null);
      });
      s(17, T.BinXml)();
    });
  }

  private eventDataBody(def: EventDef): void {
    this.element('EventData', 0xffff, [], () => {
      def.fields.forEach((f, i) => {
        this.element('Data', 0xffff, [this.attr('Name', this.text(f.name))], this.sub(i, IN_TYPE[f.type], false));
      });
    });
  }

  private emitRecord(ev: SysmonEvent, recordId: bigint, number: bigint): number {
    const def = eventDef(ev.id);
    this.u32(RECORD_MAGIC);
    this.u32(0); // size, patched
    this.u64(number);
    this.u64(nsToFiletime(ev.timeNs));
    this.u8(0x0f);
    this.u8(0x01);
    this.u8(0x01);
    this.u8(0x00);
    this.templateInstance(`system/${this.who.systemGuid.toString('hex')}`, this.who.systemGuid, () => this.systemBody());
    // 18 value descriptors, patched as the values are written
    this.u32(18);
    const decl = this.p;
    this.p += 18 * 4;
    let i = 0;
    const value = (type: number, write: () => void) => {
      const start = this.p;
      write();
      scratch.writeUInt16LE(this.p - start, decl + 4 * i);
      scratch.writeUInt16LE(type, decl + 4 * i + 2);
      i++;
    };
    value(T.UInt8, () => this.u8(LEVEL[def.level]));
    value(T.UInt8, () => this.u8(0));
    value(T.UInt16, () => this.u16(def.id));
    value(T.UInt16, () => this.u16(def.id));
    value(T.Null, () => {});
    value(T.HexInt64, () => this.u64(KEYWORDS));
    value(T.FileTime, () => this.u64(nsToFiletime(ev.timeNs)));
    value(T.Null, () => {});
    value(T.UInt32, () => this.u32(this.pc.ctx.pid));
    value(T.UInt32, () => this.u32(this.pc.ctx.tid));
    value(T.UInt64, () => this.u64(recordId));
    value(T.UInt8, () => this.u8(this.version ?? def.version));
    value(T.Sid, () => this.bytes(this.pc.sid));
    value(T.Null, () => {});
    value(T.String, () => this.utf16(this.who.provider));
    value(T.Guid, () => this.bytes(this.who.providerGuid));
    value(T.String, () => this.utf16(this.who.channel));
    value(T.BinXml, () => this.eventData(def, ev.data));
    this.u8(0x00); // EOF
    while ((this.p + 4) % 8 !== 0) this.u8(0);
    this.p += 4;
    scratch.writeUInt32LE(this.p, 4);
    scratch.writeUInt32LE(this.p, this.p - 4);
    if (this.p > 0xffff + 64) throw new Error('EVTX record too large');
    return this.p;
  }

  private eventData(def: EventDef, data: Record<string, FieldValue>): void {
    this.templateInstance(`data/${def.id}`, eventDataGuid(this.pc, def), () => this.eventDataBody(def));
    const n = def.fields.length;
    this.u32(n);
    const decl = this.p;
    this.p += n * 4;
    // strings, with the longest cut so the record fits in a chunk
    let cap = Infinity;
    let total = 0;
    for (const f of def.fields) {
      const v = data[f.name];
      if (typeof v === 'string') total += v.length;
    }
    if (total > MAX_STRING_UNITS) {
      cap = fitStrings(
        def.fields.map((f) => {
          const v = data[f.name];
          return typeof v === 'string' ? v.length : 0;
        }),
        MAX_STRING_UNITS,
      );
    }
    for (let i = 0; i < n; i++) {
      const f = def.fields[i]!;
      const v = data[f.name];
      const start = this.p;
      let type = IN_TYPE[f.type];
      switch (f.type) {
        case 'UInt32':
        case 'HexInt32': {
          const num = toUint(v, 0xffffffff, f.type === 'HexInt32');
          if (num === null) type = this.str(v, cap);
          else this.u32(num);
          break;
        }
        case 'UInt16': {
          const num = toUint(v, 0xffff, false);
          if (num === null) type = this.str(v, cap);
          else this.u16(num);
          break;
        }
        case 'UInt64':
        case 'HexInt64': {
          const big = toU64(v, f.type === 'HexInt64');
          if (big === null) type = this.str(v, cap);
          else this.u64(big);
          break;
        }
        case 'Boolean':
          if (typeof v === 'boolean') this.u32(v ? 1 : 0);
          else type = this.str(v, cap);
          break;
        case 'GUID': {
          const g = typeof v === 'string' ? guidBytes(v) : null;
          if (g) this.bytes(g);
          else type = this.str(v, cap);
          break;
        }
        default:
          type = this.str(v, cap);
      }
      scratch.writeUInt16LE(this.p - start, decl + 4 * i);
      scratch.writeUInt16LE(type, decl + 4 * i + 2);
    }
  }

  /** A string value (missing fields become "-"); returns its value type. */
  private str(v: FieldValue | undefined, cap: number): number {
    const s = v === undefined ? '-' : String(v);
    if (s.length > cap) {
      this.lastTruncated++;
      this.utf16(truncateValue(s, cap));
    } else this.utf16(s);
    return T.String;
  }
}

const dataGuids = new WeakMap<PreparedContext, Map<number, Buffer>>();
function eventDataGuid(pc: PreparedContext, def: EventDef): Buffer {
  let m = dataGuids.get(pc);
  if (!m) {
    m = new Map();
    dataGuids.set(pc, m);
  }
  let g = m.get(def.id);
  if (!g) {
    g = md5(`sysmon-ts/eventdata/${pc.provider}/${def.id}/${def.version}`);
    m.set(def.id, g);
  }
  return g;
}

// Only the canonical forms are stored as numbers, so that reading back gives the same value:
// numbers for UInt fields, "0x" + lowercase hex without leading zeros for HexInt fields.
const HEX = /^0x(?:0|[1-9a-f][0-9a-f]*)$/;

function toUint(v: FieldValue | undefined, max: number, hex: boolean): number | null {
  if (!hex) return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max ? v : null;
  if (typeof v === 'string' && HEX.test(v) && v.length <= 10) {
    const n = parseInt(v.slice(2), 16);
    return n <= max ? n : null;
  }
  return null;
}

function toU64(v: FieldValue | undefined, hex: boolean): bigint | null {
  if (!hex) return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : null;
  if (typeof v === 'string' && HEX.test(v) && v.length <= 18) return BigInt(v);
  return null;
}
