// EVTX reader: file header, chunks, records and Binary XML (templates, inline and
// back-referenced names and definitions, substitutions, nested BinXml values) into a small
// XML tree, and from there into SysmonEvents. Reads our files and Windows' own (tested on a
// real Windows Sysmon log). Streams chunk by chunk; a file cut mid-chunk is read up to its
// last complete chunk. Chunks whose CRCs fail are still parsed record by record while the
// record magic and sizes hold (Windows leaves the live chunk of a dirty log that way).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { FieldValue, Identity, SysmonEvent } from '../../src/events/event.js';
import { eventDef, isKnownEvent, type FieldType } from '../../src/events/schema.js';
import { parseIsoNs } from '../jsonl/encode.js';
import {
  CHUNK_HEADER_SIZE, CHUNK_MAGIC, CHUNK_SIZE, FILE_HEADER_SIZE, FILE_MAGIC, RECORD_MAGIC, T,
  chunkHeaderCrc, crc, filetimeToNs, guidText, sidText,
} from './format.js';

export interface Value {
  /** Binary XML value type (T.*) */
  readonly type: number;
  readonly v: string | number | bigint | boolean | null | XmlNode[];
}

export interface XmlNode {
  readonly name: string;
  readonly attrs: { name: string; value: (Value | string)[] }[];
  readonly children: (XmlNode | Value | string)[];
}

export interface EvtxRecord {
  readonly recordId: bigint;
  readonly timeNs: bigint;
  readonly root: XmlNode[];
  /** chunk index in the file */
  readonly chunk: number;
  /** file offset of the record (chunk-relative when parsed from a bare chunk buffer) */
  readonly offset?: number;
}

export interface ChunkInfo {
  index: number;
  headerCrcOk: boolean;
  dataCrcOk: boolean;
  records: number;
}

type Part = TNode | string | { sub: number; opt: boolean };
interface TNode { name: string; attrs: { name: string; parts: Part[] }[]; children: Part[] }

/** Nesting of elements, template instances and BinXml values one record may use: deeper is damage
 *  (a template that instantiates itself would otherwise recurse until the stack overflows). */
const MAX_DEPTH = 64;

/**
 * Binary XML of one chunk. Element starts carry a 2-byte dependency id only inside template
 * definitions; record bodies without templates (Windows Event Collector, merged logs) and the
 * elements of a BinXml (0x21) value (CAPI2's UserData) have none ([MS-EVEN6], libyal's notes).
 * When the size read under the expected layout is impossible, the other layout is tried.
 * Every read is bounded by the current record (`limit`): damage throws, never loops.
 */
class ChunkParser {
  private readonly templates = new Map<number, TNode[]>();
  private depth = 0;
  /** end of the record being parsed (chunk offset) */
  limit = CHUNK_SIZE;
  constructor(private readonly c: Buffer) {}

  private need(p: number, n: number, what: string): void {
    if (p < 0 || p + n > this.limit) throw new Error(`${what} at ${p} runs past the end of the record (${this.limit})`);
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new Error(`Binary XML nested deeper than ${MAX_DEPTH}`);
  }

  private name(p: number): [string, number] {
    this.need(p, 4, 'name offset');
    const off = this.c.readUInt32LE(p);
    p += 4;
    if (off + 8 > CHUNK_SIZE) throw new Error(`name offset ${off} outside the chunk`);
    const n = this.c.readUInt16LE(off + 6);
    if (off + 8 + 2 * n > CHUNK_SIZE) throw new Error(`name at ${off} (${n} chars) runs past the chunk`);
    const s = this.c.toString('utf16le', off + 8, off + 8 + 2 * n);
    if (off === p) p = off + 8 + 2 * n + 2;
    return [s, p];
  }

  /**
   * Tokens of a fragment up to EOF or `end`. `definition`: a template definition (element starts
   * carry a dependency id; the nodes stay uninstantiated), else a record body or BinXml value.
   */
  fragment(p: number, end: number, definition: boolean): [XmlNode[] | TNode[], number] {
    this.enter();
    try {
      const out: (XmlNode | TNode)[] = [];
      while (p < end) {
        this.need(p, 1, 'token');
        const tok = this.c[p]!;
        if (tok === 0x00) { p++; break; }
        if (tok === 0x0f) { p += 4; continue; }
        if (tok === 0x0c) {
          const [nodes, q] = this.instance(p);
          out.push(...nodes);
          p = q;
          continue;
        }
        if ((tok & 0xbf) === 0x01) {
          const [node, q] = this.element(p, definition);
          out.push(definition ? node : instantiate(node, []));
          p = q;
          continue;
        }
        throw new Error(`unexpected BinXml token 0x${tok.toString(16)} at ${p}`);
      }
      return [out as XmlNode[], p];
    } finally { this.depth--; }
  }

  /** Whether an element start read with (or without) a dependency id is possible here. */
  private plausibleStart(p: number, dep: boolean): boolean {
    const sizeAt = p + (dep ? 3 : 1);
    if (sizeAt + 8 > this.limit) return false;
    const size = this.c.readUInt32LE(sizeAt);
    const nameOff = this.c.readUInt32LE(sizeAt + 4);
    // the element's data ends inside the record; its name is inline (right here) or earlier in the chunk
    return sizeAt + 4 + size <= this.limit && (nameOff === sizeAt + 8 || (nameOff >= CHUNK_HEADER_SIZE && nameOff < p));
  }

  private element(p: number, dep: boolean): [TNode, number] {
    this.enter();
    try {
      const hasAttrs = (this.c[p]! & 0x40) !== 0;
      if (!this.plausibleStart(p, dep) && this.plausibleStart(p, !dep)) dep = !dep;
      p += dep ? 3 : 1; // token, dependency id
      this.need(p, 4, 'element size');
      const size = this.c.readUInt32LE(p);
      p += 4;
      const end = p + size;
      if (end > this.limit) throw new Error(`element size ${size} at ${p - 4} runs past the end of the record`);
      let name: string;
      [name, p] = this.name(p);
      const node: TNode = { name, attrs: [], children: [] };
      if (hasAttrs) {
        this.need(p, 4, 'attribute list size');
        const listEnd = p + 4 + this.c.readUInt32LE(p);
        p += 4;
        while (p < listEnd && p < this.limit && (this.c[p]! & 0xbf) === 0x06) {
          let aname: string;
          [aname, p] = this.name(p + 1);
          const parts: Part[] = [];
          p = this.values(p, parts);
          node.attrs.push({ name: aname, parts });
        }
      }
      this.need(p, 1, 'element close token');
      const tok = this.c[p++]!;
      if (tok === 0x02) {
        for (;;) {
          this.need(p, 1, `content of <${name}>`);
          const t = this.c[p]!;
          if (t === 0x04) { p++; break; }
          if ((t & 0xbf) === 0x01) {
            const [child, q] = this.element(p, dep);
            node.children.push(child);
            p = q;
          } else {
            const q = this.values(p, node.children);
            if (q === p) throw new Error(`unexpected BinXml token 0x${t.toString(16)} in <${name}> at ${p}`);
            p = q;
          }
        }
      } else if (tok !== 0x03) throw new Error(`bad element close token 0x${tok.toString(16)} at ${p - 1}`);
      return [node, Math.max(p, end)];
    } finally { this.depth--; }
  }

  /** Value-like tokens (text, substitutions, references, nested instances) into parts; returns the new position. */
  private values(p: number, parts: Part[]): number {
    for (;;) {
      if (p >= this.limit) return p;
      const t = this.c[p]! & 0xbf;
      if (t === 0x05) {
        this.need(p, 4, 'text');
        const n = this.c.readUInt16LE(p + 2);
        this.need(p, 4 + 2 * n, 'text');
        parts.push(this.c.toString('utf16le', p + 4, p + 4 + 2 * n));
        p += 4 + 2 * n;
      } else if (t === 0x0d || t === 0x0e) {
        this.need(p, 4, 'substitution');
        parts.push({ sub: this.c.readUInt16LE(p + 1), opt: t === 0x0e });
        p += 4;
      } else if (t === 0x07) {
        this.need(p, 3, 'CDATA');
        const n = this.c.readUInt16LE(p + 1);
        this.need(p, 3 + 2 * n, 'CDATA');
        parts.push(this.c.toString('utf16le', p + 3, p + 3 + 2 * n));
        p += 3 + 2 * n;
      } else if (t === 0x08) {
        this.need(p, 3, 'character reference');
        parts.push(String.fromCharCode(this.c.readUInt16LE(p + 1)));
        p += 3;
      } else if (t === 0x09) {
        let ent: string;
        [ent, p] = this.name(p + 1);
        parts.push(({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" } as Record<string, string>)[ent] ?? `&${ent};`);
      } else return p;
    }
  }

  private instance(p: number): [XmlNode[], number] {
    this.enter();
    try {
      this.need(p, 14, 'template instance');
      const defOff = this.c.readUInt32LE(p + 6);
      p += 10;
      if (defOff + 24 > CHUNK_SIZE || defOff < CHUNK_HEADER_SIZE) throw new Error(`template definition offset ${defOff} outside the chunk`);
      if (defOff === p) {
        p = defOff + 24 + this.c.readUInt32LE(defOff + 20);
        this.need(p, 4, 'inline template definition');
      }
      let tpl = this.templates.get(defOff);
      if (!tpl) {
        const size = this.c.readUInt32LE(defOff + 20);
        const saved = this.limit;
        // a definition lies in this record (inline) or in an earlier one: it ends inside the chunk
        this.limit = defOff + 24 + size;
        if (this.limit > CHUNK_SIZE) throw new Error(`template definition at ${defOff} (${size} bytes) runs past the chunk`);
        try {
          tpl = this.fragment(defOff + 24, defOff + 24 + size, true)[0] as TNode[];
        } finally { this.limit = saved; }
        this.templates.set(defOff, tpl);
      }
      this.need(p, 4, 'template value count');
      const n = this.c.readUInt32LE(p);
      p += 4;
      this.need(p, 4 * n, `${n} template value descriptors`);
      const decl: [number, number][] = [];
      for (let i = 0; i < n; i++, p += 4) decl.push([this.c.readUInt16LE(p), this.c[p + 2]!]);
      const values: Value[] = [];
      for (const [size, type] of decl) {
        this.need(p, size, `template value of type 0x${type.toString(16)}`);
        values.push(this.value(type, p, size));
        p += size;
      }
      return [tpl.map((t) => instantiate(t, values)), p];
    } finally { this.depth--; }
  }

  value(type: number, p: number, size: number): Value {
    const c = this.c;
    switch (type) {
      case T.Null: return { type, v: null };
      case T.String: return { type, v: c.toString('utf16le', p, p + size).replace(/\0+$/, '') };
      case T.AnsiString: return { type, v: c.toString('latin1', p, p + size).replace(/\0+$/, '') };
      case T.Int8: fixedSize(type, size, 1); return { type, v: c.readInt8(p) };
      case T.UInt8: fixedSize(type, size, 1); return { type, v: c[p]! };
      case T.Int16: fixedSize(type, size, 2); return { type, v: c.readInt16LE(p) };
      case T.UInt16: fixedSize(type, size, 2); return { type, v: c.readUInt16LE(p) };
      case T.Int32: fixedSize(type, size, 4); return { type, v: c.readInt32LE(p) };
      case T.UInt32: fixedSize(type, size, 4); return { type, v: c.readUInt32LE(p) };
      case T.Int64: fixedSize(type, size, 8); return { type, v: safe(c.readBigInt64LE(p)) };
      case T.UInt64: fixedSize(type, size, 8); return { type, v: safe(c.readBigUInt64LE(p)) };
      case T.Real32: fixedSize(type, size, 4); return { type, v: c.readFloatLE(p) };
      case T.Real64: fixedSize(type, size, 8); return { type, v: c.readDoubleLE(p) };
      case T.Bool: fixedSize(type, size, 1); return { type, v: (size >= 4 ? c.readUInt32LE(p) : c[p]!) !== 0 };
      case T.Guid: fixedSize(type, size, 16); return { type, v: guidText(c, p) };
      case T.SizeT: fixedSize(type, size, 4); return { type, v: `0x${(size === 8 ? c.readBigUInt64LE(p) : BigInt(c.readUInt32LE(p))).toString(16)}` };
      case T.FileTime: fixedSize(type, size, 8); return { type, v: c.readBigUInt64LE(p) };
      case T.SysTime: {
        fixedSize(type, size, 16);
        const d = Date.UTC(c.readUInt16LE(p), c.readUInt16LE(p + 2) - 1, c.readUInt16LE(p + 6), c.readUInt16LE(p + 8),
          c.readUInt16LE(p + 10), c.readUInt16LE(p + 12), c.readUInt16LE(p + 14));
        if (Number.isNaN(d)) throw new Error(`bad SYSTEMTIME at ${p}`);
        return { type, v: new Date(d).toISOString() };
      }
      case T.Sid: return { type, v: sidText(c, p, size) };
      case T.HexInt32: fixedSize(type, size, 4); return { type, v: `0x${c.readUInt32LE(p).toString(16)}` };
      case T.HexInt64: fixedSize(type, size, 8); return { type, v: `0x${c.readBigUInt64LE(p).toString(16)}` };
      case T.BinXml: {
        // its elements have no dependency id; bounded by the value, not the record
        const saved = this.limit;
        this.limit = p + size;
        try { return { type, v: this.fragment(p, p + size, false)[0] as XmlNode[] }; } finally { this.limit = saved; }
      }
      case 0x81: return { type, v: c.toString('utf16le', p, p + size).replace(/\0+$/, '').split('\0').join(', ') };
      default: return { type, v: c.toString('hex', p, p + size).toUpperCase() };
    }
  }
}

/** A fixed-size value must have its bytes (a damaged descriptor may give fewer). */
function fixedSize(type: number, size: number, n: number): void {
  if (size < n) throw new Error(`value of type 0x${type.toString(16)} needs ${n} bytes, has ${size}`);
}

function safe(b: bigint): number | bigint {
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

function isNode(x: unknown): x is TNode {
  return typeof x === 'object' && x !== null && 'name' in x;
}

/** Parts with their substitutions filled in; false when nothing was there (all Null). */
function substitute(parts: Part[], values: Value[], out: (XmlNode | Value | string)[]): boolean {
  let any = false;
  for (const part of parts) {
    if (typeof part === 'string') { out.push(part); any = true; } else if (isNode(part)) { out.push(instantiate(part, values)); any = true; } else {
      const v = values[part.sub];
      if (!v || v.type === T.Null) continue;
      any = true;
      if (v.type === T.BinXml) out.push(...(v.v as XmlNode[])); else out.push(v);
    }
  }
  return any;
}

function hasOptionalSub(parts: Part[]): boolean {
  for (const p of parts) if (typeof p === 'object' && !isNode(p) && p.opt) return true;
  return false;
}

/**
 * XML nodes one record may expand to. A real record has a few hundred; a crafted 64 KiB one
 * (one big template instantiated thousands of times) could otherwise build millions and
 * exhaust memory. Reset per record by chunkRecords.
 */
const MAX_NODES = 200_000;
let nodeBudget = MAX_NODES;

function instantiate(t: TNode, values: Value[]): XmlNode {
  if (--nodeBudget < 0) throw new Error(`record expands to more than ${MAX_NODES} XML nodes`);
  const node: XmlNode = { name: t.name, attrs: [], children: [] };
  for (const a of t.attrs) {
    const vals: (Value | string)[] = [];
    const present = substitute(a.parts, values, vals as (XmlNode | Value | string)[]);
    // an optional substitution that is Null drops the attribute
    if (present || !hasOptionalSub(a.parts)) node.attrs.push({ name: a.name, value: vals });
  }
  substitute(t.children, values, node.children);
  return node;
}

/** Text of a value as Windows Event XML shows it. */
export function valueText(v: Value | string): string {
  if (typeof v === 'string') return v;
  if (v.type === T.FileTime) {
    const ns = filetimeToNs(v.v as bigint);
    const sec = ns / 1_000_000_000n;
    const frac = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
    return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${frac.toString().padStart(9, '0').slice(0, 7)}00Z`;
  }
  if (v.type === T.Guid) return (v.v as string).toUpperCase();
  if (v.v === null) return '';
  if (Array.isArray(v.v)) return v.v.map(renderNode).join('');
  return String(v.v);
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** The tree as one line of XML (for debugging and foreign records). */
export function renderNode(n: XmlNode | Value | string): string {
  if (typeof n === 'string' || !('name' in n)) return esc(valueText(n));
  const attrs = n.attrs.map((a) => ` ${a.name}="${esc(a.value.map(valueText).join(''))}"`).join('');
  if (n.children.length === 0) return `<${n.name}${attrs}/>`;
  return `<${n.name}${attrs}>${n.children.map(renderNode).join('')}</${n.name}>`;
}

export interface FileInfo {
  chunkCount: number;
  nextRecordId: bigint;
  flags: number;
  headerCrcOk: boolean;
}

export function parseFileHeader(h: Buffer): FileInfo {
  if (h.length < 128 || !h.subarray(0, 8).equals(FILE_MAGIC)) throw new Error('not an EVTX file (no ElfFile magic)');
  return {
    chunkCount: h.readUInt16LE(42), nextRecordId: h.readBigUInt64LE(24), flags: h.readUInt32LE(120),
    headerCrcOk: h.readUInt32LE(124) === crc(h, 0, 120),
  };
}

/**
 * Something the reader could not read ('damage': bytes or records were skipped), or a warning
 * about what it did read (bad checksum, truncated chunk). `lost` counts the records known to be
 * skipped: a damaged record 1; damaged bytes in a chunk whose header is intact 0, and the
 * chunk's closing "N of the M records ... not found" report counts them; elsewhere 1.
 */
export interface ReadIssue {
  readonly kind: 'warning' | 'damage';
  readonly file: string;
  /** chunk index; -1 for the file header */
  readonly chunk: number;
  /** the record's id from its header, when that much was readable */
  readonly record?: bigint;
  /** file offset of what is reported */
  readonly offset: number;
  readonly lost: number;
  readonly reason: string;
}

export function issueText(i: ReadIssue): string {
  const where = i.chunk < 0 ? 'file header' : `chunk ${i.chunk}${i.record !== undefined ? `, record ${i.record}` : ''}`;
  return `${i.file}: ${where} (offset 0x${i.offset.toString(16)}): ${i.reason}`;
}

export interface ReadOptions {
  /** per-chunk checks, one entry per chunk read */
  chunks?: ChunkInfo[];
  /** told about every damaged part and warning; default: ignore */
  onIssue?: (issue: ReadIssue) => void;
}

interface ChunkContext {
  file: string;
  /** file offset of the chunk */
  offset: number;
  /** bytes of the chunk present in the file (less than CHUNK_SIZE for a truncated last chunk) */
  available: number;
  onIssue?: (issue: ReadIssue) => void;
  /** records this chunk should hold when its own header is unreadable, from its neighbours' headers */
  expected?: number;
}

/** Smallest record: magic, size, id, time, an EOF token and the size copy. */
const MIN_RECORD = 28;

function isZero(c: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (c[i] !== 0) return false;
  return true;
}

/** A record starts at p: magic, a size that fits `end`, and the size copy at its end. */
function recordAt(c: Buffer, p: number, end: number): number {
  if (p + MIN_RECORD > end || c.readUInt32LE(p) !== RECORD_MAGIC) return 0;
  const size = c.readUInt32LE(p + 4);
  return size >= MIN_RECORD && p + size <= end && c.readUInt32LE(p + size - 4) === size ? size : 0;
}

/** The next position after `from` where a whole record starts, or -1. */
function nextRecord(c: Buffer, from: number, end: number): number {
  for (let p = c.indexOf(RECORD_MAGIC_BYTES, from); p >= 0 && p + MIN_RECORD <= end; p = c.indexOf(RECORD_MAGIC_BYTES, p + 1)) {
    if (recordAt(c, p, end) > 0) return p;
  }
  return -1;
}

const RECORD_MAGIC_BYTES = Buffer.from([0x2a, 0x2a, 0x00, 0x00]);

/**
 * Records of one chunk buffer. Every whole record (magic, size, size copy) is parsed on its
 * own: a damaged one is reported and skipped, and bytes that are no record are skipped up to
 * the next whole record. Bad checksums are reported as warnings; the records are still read.
 */
export function* chunkRecords(c: Buffer, index: number, info?: ChunkInfo, ctx?: ChunkContext): Generator<EvtxRecord> {
  const avail = Math.min(ctx?.available ?? CHUNK_SIZE, CHUNK_SIZE);
  const base = ctx?.offset ?? 0;
  const report = (kind: ReadIssue['kind'], at: number, reason: string, lost = 0, record?: bigint) =>
    ctx?.onIssue?.({ kind, file: ctx.file, chunk: index, record, offset: base + at, lost, reason });
  const magicOk = avail >= 8 && c.subarray(0, 8).equals(CHUNK_MAGIC);
  const headerOk = magicOk && avail >= CHUNK_HEADER_SIZE && c.readUInt32LE(124) === chunkHeaderCrc(c);
  const free = c.readUInt32LE(48);
  const dataOk = headerOk && free >= CHUNK_HEADER_SIZE && free <= avail && c.readUInt32LE(52) === crc(c, CHUNK_HEADER_SIZE, free);
  if (info) { info.headerCrcOk = headerOk; info.dataCrcOk = dataOk; }
  if (avail < CHUNK_SIZE) report('warning', 0, `chunk cut at ${avail} of ${CHUNK_SIZE} bytes (truncated file): its whole records are read`);
  if (!magicOk) {
    if (isZero(c, 0, avail)) { report('damage', 0, `chunk is all zeros: ${ctx?.expected !== undefined ? `its ${ctx.expected} records (from the neighbouring chunks' headers) ` : ''}skipped`, ctx?.expected ?? 1); return; }
    report('warning', 0, 'no chunk magic (ElfChnk): scanning it for records');
  } else if (!headerOk && avail >= CHUNK_HEADER_SIZE) report('warning', 0, 'chunk header checksum mismatch: scanning it for records');
  else if (headerOk && !dataOk && avail === CHUNK_SIZE) report('warning', 0, 'event records checksum mismatch (data damaged, or records added after the header was written)');
  // what the (intact) header promises: the records numbered first..last, ending at `free`
  const first = c.readBigUInt64LE(8);
  const last = c.readBigUInt64LE(16);
  const expected = headerOk && last >= first && last - first < BigInt(Math.floor(CHUNK_SIZE / MIN_RECORD)) ? Number(last - first) + 1 : (headerOk ? undefined : ctx?.expected);
  const parser = new ChunkParser(c);
  let found = 0;
  let damaged = 0;
  let p = CHUNK_HEADER_SIZE;
  while (p + MIN_RECORD <= avail) {
    const size = recordAt(c, p, avail);
    if (size > 0) {
      const recordId = c.readBigUInt64LE(p + 8);
      let rec: EvtxRecord | null = null;
      try {
        parser.limit = p + size - 4;
        nodeBudget = MAX_NODES;
        const [root] = parser.fragment(p + 24, p + size - 4, false);
        rec = { recordId, timeNs: filetimeToNs(c.readBigUInt64LE(p + 16)), root: root as XmlNode[], chunk: index, offset: base + p };
      } catch (e) {
        damaged++;
        report('damage', p, `damaged record skipped: ${(e as Error).message}`, 1, recordId);
      }
      if (rec) {
        found++;
        if (info) info.records++;
        yield rec;
      }
      p += size;
      continue;
    }
    if (c.readUInt32LE(p) === RECORD_MAGIC && p + c.readUInt32LE(p + 4) > avail && avail < CHUNK_SIZE) {
      damaged++;
      report('damage', p, 'record cut by the end of the file: skipped', 1, p + 16 <= avail ? c.readBigUInt64LE(p + 8) : undefined);
      break;
    }
    // no whole record here: the end of the records (zeros), or damage to skip
    if (isZero(c, p, avail)) break;
    if (headerOk && dataOk && p >= free) break; // bytes past an intact chunk's free space are not records
    const next = nextRecord(c, p + 1, avail);
    report('damage', p, `${(next < 0 ? avail : next) - p} bytes that are no whole record skipped`, expected === undefined ? 1 : 0);
    if (next < 0) break;
    p = next;
  }
  if (expected !== undefined && found + damaged < expected) {
    report('damage', 0, `${expected - found - damaged} of the ${expected} records ${headerOk ? 'the chunk header lists' : 'expected from the neighbouring chunks\' headers'} were not found: skipped`, expected - found - damaged);
  }
}

/** Record numbers first..last of each chunk whose header is intact (magic and checksum). */
function chunkSpans(fd: number, n: number): ({ first: bigint; last: bigint } | undefined)[] {
  const h = Buffer.alloc(CHUNK_HEADER_SIZE);
  const out: ({ first: bigint; last: bigint } | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const got = readSync(fd, h, 0, CHUNK_HEADER_SIZE, FILE_HEADER_SIZE + i * CHUNK_SIZE);
    const ok = got === CHUNK_HEADER_SIZE && h.subarray(0, 8).equals(CHUNK_MAGIC) && h.readUInt32LE(124) === chunkHeaderCrc(h);
    out.push(ok ? { first: h.readBigUInt64LE(8), last: h.readBigUInt64LE(16) } : undefined);
  }
  return out;
}

/**
 * Every record of an EVTX file that can be read, chunk by chunk; what cannot be read is
 * skipped and told to `onIssue`. A file cut mid-chunk gives the whole records of its last
 * chunk. Only a file that is not EVTX at all (no ElfFile magic) throws.
 * (`chunks` may be passed alone, as before.)
 */
export function* readEvtxRecords(path: string, opts: ReadOptions | ChunkInfo[] = {}): Generator<EvtxRecord> {
  const { chunks, onIssue } = Array.isArray(opts) ? { chunks: opts, onIssue: undefined } : opts;
  const fd = openSync(path, 'r');
  try {
    const h = Buffer.alloc(FILE_HEADER_SIZE);
    const got = readSync(fd, h, 0, FILE_HEADER_SIZE, 0);
    if (got < 8 || !h.subarray(0, 8).equals(FILE_MAGIC)) throw new Error(`${path}: not an EVTX file (no ElfFile magic)`);
    const issue = (kind: ReadIssue['kind'], offset: number, reason: string) => onIssue?.({ kind, file: path, chunk: -1, offset, lost: 0, reason });
    if (got < FILE_HEADER_SIZE) { issue('damage', got, `file cut inside its header (${got} bytes): no chunks, skipped`); return; }
    const header = parseFileHeader(h);
    if (!header.headerCrcOk) issue('warning', 0, 'file header checksum mismatch');
    const size = fstatSync(fd).size;
    const n = Math.ceil((size - FILE_HEADER_SIZE) / CHUNK_SIZE);
    const spans = chunkSpans(fd, n);
    const c = Buffer.alloc(CHUNK_SIZE);
    for (let i = 0; i < n; i++) {
      const offset = FILE_HEADER_SIZE + i * CHUNK_SIZE;
      const available = readSync(fd, c, 0, CHUNK_SIZE, offset);
      c.fill(0, available);
      // Space past the header's chunk count that holds no chunk is not damage: Windows
      // preallocates log files (the reference sample has 8 such chunks of filler) and updates
      // the count lazily, so a chunk there with its magic, or with whole records, is still read.
      if (i >= header.chunkCount && !c.subarray(0, 8).equals(CHUNK_MAGIC) && nextRecord(c, CHUNK_HEADER_SIZE, available) < 0) continue;
      const info: ChunkInfo = { index: i, headerCrcOk: false, dataCrcOk: false, records: 0 };
      if (chunks) chunks.push(info);
      // a chunk whose header is lost between two intact ones held the records numbered between them
      const prev = spans[i - 1];
      const next = spans[i + 1];
      const expected = !spans[i] && prev && next && next.first > prev.last && next.first - prev.last - 1n < 65536n ? Number(next.first - prev.last - 1n) : undefined;
      yield* chunkRecords(c, i, info, { file: path, offset, available, onIssue, expected });
    }
  } finally {
    closeSync(fd);
  }
}

function child(n: XmlNode | undefined, name: string): XmlNode | undefined {
  return n?.children.find((c): c is XmlNode => typeof c === 'object' && 'name' in c && c.name === name);
}

function attr(n: XmlNode | undefined, name: string): (Value | string)[] | undefined {
  return n?.attrs.find((a) => a.name === name)?.value;
}

function textOf(n: XmlNode | undefined): string {
  return n ? n.children.map((c) => (typeof c === 'object' && 'name' in c ? '' : valueText(c))).join('') : '';
}

/**
 * A Data value as its JSONL type: numbers, booleans, "{lowercase-guid}", "0x..." hex, strings.
 * Typed values keep their type; text (records without templates, as forwarded logs carry
 * them) becomes the schema's type when it is that type's canonical text, else stays a string.
 */
function jsonValue(parts: (XmlNode | Value | string)[], type: FieldType | undefined): FieldValue {
  const vals = parts.filter((p) => !(typeof p === 'object' && 'name' in p)) as (Value | string)[];
  if (vals.length === 1 && typeof vals[0] === 'object') {
    const v = vals[0];
    switch (v.type) {
      case T.UInt8: case T.UInt16: case T.UInt32: case T.Int8: case T.Int16: case T.Int32:
      case T.UInt64: case T.Int64: case T.Real32: case T.Real64:
        return typeof v.v === 'bigint' ? v.v.toString() : (v.v as number);
      case T.Bool: return v.v as boolean;
      case T.Guid: return (v.v as string).toLowerCase();
      case T.HexInt32: case T.HexInt64: return v.v as string;
    }
  }
  const text = vals.map(valueText).join('');
  if (vals.some((v) => typeof v === 'object' && v.type !== T.String)) return text;
  switch (type) {
    case 'UInt32': case 'UInt16': case 'UInt64':
      return /^(0|[1-9][0-9]{0,14})$/.test(text) ? Number(text) : text;
    case 'Boolean': return text === 'true' ? true : text === 'false' ? false : text;
    case 'GUID': return /^\{[0-9A-Fa-f-]{36}\}$/.test(text) ? text.toLowerCase() : text;
    default: return text;
  }
}

export interface ParsedEvent {
  readonly event: SysmonEvent;
  readonly identity: Identity;
  /** Version, Level, Task as in the record */
  readonly version: number;
}

/** The providers whose records are read as Sysmon events; any other is skipped (see docs/evtx.md). */
export const SYSMON_PROVIDERS: ReadonlySet<string> = new Set(['Linux-Sysmon', 'Microsoft-Windows-Sysmon']);

/** What a record is: a Sysmon event, or why it is not one. */
export type RecordVerdict =
  | { readonly event: ParsedEvent }
  | { readonly skip: 'not-an-event' | 'foreign-provider' | 'unknown-id'; readonly provider: string; readonly id: number | null };

function digits(text: string): bigint | null {
  return /^[0-9]{1,20}$/.test(text.trim()) ? BigInt(text.trim()) : null;
}

function timeOf(parts: (Value | string)[] | undefined, fallback: bigint): bigint {
  const tc = parts?.[0];
  if (tc && typeof tc === 'object' && tc.type === T.FileTime) return filetimeToNs(tc.v as bigint);
  const text = parts?.map(valueText).join('') ?? '';
  if (text) { try { return parseIsoNs(text); } catch { /* keep the record header's */ } }
  return fallback;
}

const typesById = new Map<number, Map<string, FieldType>>();
function fieldTypes(id: number): Map<string, FieldType> {
  let m = typesById.get(id);
  if (!m) { m = new Map(eventDef(id).fields.map((f) => [f.name, f.type])); typesById.set(id, m); }
  return m;
}

export function classifyRecord(rec: EvtxRecord): RecordVerdict {
  const ev = rec.root.find((n) => n.name === 'Event');
  const sys = child(ev, 'System');
  if (!ev || !sys) return { skip: 'not-an-event', provider: '', id: null };
  const provider = child(sys, 'Provider');
  const providerName = (attr(provider, 'Name') ?? []).map(valueText).join('');
  const idText = textOf(child(sys, 'EventID'));
  const id = /^[0-9]{1,5}$/.test(idText.trim()) ? Number(idText) : null;
  if (!SYSMON_PROVIDERS.has(providerName)) return { skip: 'foreign-provider', provider: providerName, id };
  if (id === null || !isKnownEvent(id)) return { skip: 'unknown-id', provider: providerName, id };
  const def = eventDef(id);
  const types = fieldTypes(id);
  const data: Record<string, FieldValue> = {};
  for (const d of child(ev, 'EventData')?.children ?? []) {
    if (typeof d !== 'object' || !('name' in d) || d.name !== 'Data') continue;
    const name = (attr(d, 'Name') ?? []).map(valueText).join('');
    data[name] = jsonValue(d.children, types.get(name));
  }
  // the event's own EventRecordID (Windows numbers records per log; the record header's id is
  // the file's), the header's only when the event has none
  const rid = digits(textOf(child(sys, 'EventRecordID'))) ?? rec.recordId;
  const version = digits(textOf(child(sys, 'Version')));
  return {
    event: {
      event: { id, recordId: rid <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(rid) : 0, timeNs: timeOf(attr(child(sys, 'TimeCreated'), 'SystemTime'), rec.timeNs), data },
      identity: {
        provider: providerName,
        providerGuid: (attr(provider, 'Guid') ?? []).map((v) => (typeof v === 'string' ? v : String(v.v))).join(''),
        channel: textOf(child(sys, 'Channel')),
        computer: textOf(child(sys, 'Computer')),
      },
      version: version !== null && version < 256n ? Number(version) : def.version,
    },
  };
}

/** System/EventRecordID of any record (the record header's id when the event has none). */
export function eventRecordIdOf(rec: EvtxRecord): bigint {
  const sys = child(rec.root.find((n) => n.name === 'Event'), 'System');
  return digits(textOf(child(sys, 'EventRecordID'))) ?? rec.recordId;
}

/** A record as a SysmonEvent, or null when it is not an event of a Sysmon provider with a known ID. */
export function recordToEvent(rec: EvtxRecord): ParsedEvent | null {
  const v = classifyRecord(rec);
  return 'event' in v ? v.event : null;
}

/** The structure of a record: element paths with attribute names and value types (for comparing layouts). */
export function recordShape(rec: EvtxRecord): string[] {
  const out: string[] = [];
  const typeOf = (parts: (XmlNode | Value | string)[]) => parts.map((p) => (typeof p === 'string' ? 'text' : 'name' in p ? '' : `0x${p.type.toString(16).padStart(2, '0')}`)).filter(Boolean).join('+');
  const walk = (n: XmlNode, path: string) => {
    const here = `${path}/${n.name}`;
    const nameAttr = n.name === 'Data' ? attr(n, 'Name') : undefined;
    const label = nameAttr ? `${here}[Name=${nameAttr.map(valueText).join('')}]` : here;
    out.push(`${label}${n.attrs.filter((a) => !(nameAttr && a.name === 'Name')).map((a) => ` @${a.name}=${typeOf(a.value)}`).join('')} ${typeOf(n.children) || '-'}`);
    for (const c of n.children) if (typeof c === 'object' && 'name' in c) walk(c, here);
  };
  for (const n of rec.root) walk(n, '');
  return out;
}
