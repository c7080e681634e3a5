// EVTX reader: file header, chunks, records and Binary XML (templates, inline and
// back-referenced names and definitions, substitutions, nested BinXml values) into a small
// XML tree, and from there into SysmonEvents. Reads our files and Windows' own (tested on a
// real Windows Sysmon log). Streams chunk by chunk; a file cut mid-chunk is read up to its
// last complete chunk. Chunks whose CRCs fail are still parsed record by record while the
// record magic and sizes hold (Windows leaves the live chunk of a dirty log that way).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { FieldValue, Identity, SysmonEvent } from '../../src/events/event.js';
import { eventDef, isKnownEvent } from '../../src/events/schema.js';
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
}

export interface ChunkInfo {
  index: number;
  headerCrcOk: boolean;
  dataCrcOk: boolean;
  records: number;
}

type Part = TNode | string | { sub: number; opt: boolean };
interface TNode { name: string; attrs: { name: string; parts: Part[] }[]; children: Part[] }

class ChunkParser {
  private readonly templates = new Map<number, TNode[]>();
  constructor(private readonly c: Buffer) {}

  private name(p: number): [string, number] {
    const off = this.c.readUInt32LE(p);
    p += 4;
    const n = this.c.readUInt16LE(off + 6);
    const s = this.c.toString('utf16le', off + 8, off + 8 + 2 * n);
    if (off === p) p = off + 8 + 2 * n + 2;
    return [s, p];
  }

  /** Tokens of a fragment or template body up to EOF or `end`. */
  fragment(p: number, end: number, values: Value[] | null): [XmlNode[] | TNode[], number] {
    const out: (XmlNode | TNode)[] = [];
    while (p < end) {
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
        const [node, q] = this.element(p);
        out.push(values ? instantiate(node, values) : node);
        p = q;
        continue;
      }
      throw new Error(`unexpected BinXml token 0x${tok.toString(16)} at ${p}`);
    }
    return [out as XmlNode[], p];
  }

  private element(p: number): [TNode, number] {
    const hasAttrs = (this.c[p]! & 0x40) !== 0;
    p += 3; // token, dependency id
    const size = this.c.readUInt32LE(p);
    p += 4;
    const end = p + size;
    let name: string;
    [name, p] = this.name(p);
    const node: TNode = { name, attrs: [], children: [] };
    if (hasAttrs) {
      const listEnd = p + 4 + this.c.readUInt32LE(p);
      p += 4;
      while (p < listEnd && (this.c[p]! & 0xbf) === 0x06) {
        let aname: string;
        [aname, p] = this.name(p + 1);
        const parts: Part[] = [];
        p = this.values(p, parts);
        node.attrs.push({ name: aname, parts });
      }
    }
    const tok = this.c[p++]!;
    if (tok === 0x02) {
      for (;;) {
        const t = this.c[p]!;
        if (t === 0x04) { p++; break; }
        if ((t & 0xbf) === 0x01) {
          const [child, q] = this.element(p);
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
  }

  /** Value-like tokens (text, substitutions, references) into parts; returns the new position. */
  private values(p: number, parts: Part[]): number {
    for (;;) {
      const t = this.c[p]! & 0xbf;
      if (t === 0x05) {
        const n = this.c.readUInt16LE(p + 2);
        parts.push(this.c.toString('utf16le', p + 4, p + 4 + 2 * n));
        p += 4 + 2 * n;
      } else if (t === 0x0d || t === 0x0e) {
        parts.push({ sub: this.c.readUInt16LE(p + 1), opt: t === 0x0e });
        p += 4;
      } else if (t === 0x07) {
        const n = this.c.readUInt16LE(p + 1);
        parts.push(this.c.toString('utf16le', p + 3, p + 3 + 2 * n));
        p += 3 + 2 * n;
      } else if (t === 0x08) {
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
    const defOff = this.c.readUInt32LE(p + 6);
    p += 10;
    if (defOff === p) p = defOff + 24 + this.c.readUInt32LE(defOff + 20);
    let tpl = this.templates.get(defOff);
    if (!tpl) {
      const size = this.c.readUInt32LE(defOff + 20);
      tpl = this.fragment(defOff + 24, defOff + 24 + size, null)[0] as TNode[];
      this.templates.set(defOff, tpl);
    }
    const n = this.c.readUInt32LE(p);
    p += 4;
    const decl: [number, number][] = [];
    for (let i = 0; i < n; i++, p += 4) decl.push([this.c.readUInt16LE(p), this.c[p + 2]!]);
    const values: Value[] = [];
    for (const [size, type] of decl) {
      values.push(this.value(type, p, size));
      p += size;
    }
    return [tpl.map((t) => instantiate(t, values)), p];
  }

  value(type: number, p: number, size: number): Value {
    const c = this.c;
    switch (type) {
      case T.Null: return { type, v: null };
      case T.String: return { type, v: c.toString('utf16le', p, p + size).replace(/\0+$/, '') };
      case T.AnsiString: return { type, v: c.toString('latin1', p, p + size).replace(/\0+$/, '') };
      case T.Int8: return { type, v: c.readInt8(p) };
      case T.UInt8: return { type, v: c[p]! };
      case T.Int16: return { type, v: c.readInt16LE(p) };
      case T.UInt16: return { type, v: c.readUInt16LE(p) };
      case T.Int32: return { type, v: c.readInt32LE(p) };
      case T.UInt32: return { type, v: c.readUInt32LE(p) };
      case T.Int64: return { type, v: safe(c.readBigInt64LE(p)) };
      case T.UInt64: return { type, v: safe(c.readBigUInt64LE(p)) };
      case T.Real32: return { type, v: c.readFloatLE(p) };
      case T.Real64: return { type, v: c.readDoubleLE(p) };
      case T.Bool: return { type, v: (size >= 4 ? c.readUInt32LE(p) : c[p]!) !== 0 };
      case T.Guid: return { type, v: guidText(c, p) };
      case T.SizeT: return { type, v: `0x${(size === 8 ? c.readBigUInt64LE(p) : BigInt(c.readUInt32LE(p))).toString(16)}` };
      case T.FileTime: return { type, v: c.readBigUInt64LE(p) };
      case T.SysTime: {
        const d = Date.UTC(c.readUInt16LE(p), c.readUInt16LE(p + 2) - 1, c.readUInt16LE(p + 6), c.readUInt16LE(p + 8),
          c.readUInt16LE(p + 10), c.readUInt16LE(p + 12), c.readUInt16LE(p + 14));
        return { type, v: new Date(d).toISOString() };
      }
      case T.Sid: return { type, v: sidText(c, p, size) };
      case T.HexInt32: return { type, v: `0x${c.readUInt32LE(p).toString(16)}` };
      case T.HexInt64: return { type, v: `0x${c.readBigUInt64LE(p).toString(16)}` };
      case T.BinXml: return { type, v: this.fragment(p, p + size, null)[0] as XmlNode[] };
      case 0x81: return { type, v: c.toString('utf16le', p, p + size).replace(/\0+$/, '').split('\0').join(', ') };
      default: return { type, v: c.toString('hex', p, p + size).toUpperCase() };
    }
  }
}

function safe(b: bigint): number | bigint {
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

function isNode(x: unknown): x is TNode {
  return typeof x === 'object' && x !== null && 'name' in x;
}

function instantiate(t: TNode, values: Value[]): XmlNode {
  const subst = (parts: Part[], out: (XmlNode | Value | string)[]): boolean => {
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
  };
  const node: XmlNode = { name: t.name, attrs: [], children: [] };
  for (const a of t.attrs) {
    const vals: (Value | string)[] = [];
    const present = subst(a.parts, vals as (XmlNode | Value | string)[]);
    // an optional substitution that is Null drops the attribute
    if (present || !a.parts.some((p) => typeof p === 'object' && !isNode(p) && p.opt)) node.attrs.push({ name: a.name, value: vals });
  }
  subst(t.children, node.children);
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

/** Records of one chunk buffer. */
export function* chunkRecords(c: Buffer, index: number, info?: ChunkInfo): Generator<EvtxRecord> {
  if (!c.subarray(0, 8).equals(CHUNK_MAGIC)) return;
  const free = c.readUInt32LE(48);
  if (info) {
    info.headerCrcOk = c.readUInt32LE(124) === chunkHeaderCrc(c);
    info.dataCrcOk = free <= CHUNK_SIZE && c.readUInt32LE(52) === crc(c, CHUNK_HEADER_SIZE, free);
  }
  const parser = new ChunkParser(c);
  let p = CHUNK_HEADER_SIZE;
  const limit = free >= CHUNK_HEADER_SIZE && free <= CHUNK_SIZE ? free : CHUNK_SIZE;
  while (p + 28 <= limit && c.readUInt32LE(p) === RECORD_MAGIC) {
    const size = c.readUInt32LE(p + 4);
    if (size < 28 || p + size > CHUNK_SIZE || c.readUInt32LE(p + size - 4) !== size) break;
    const recordId = c.readBigUInt64LE(p + 8);
    const timeNs = filetimeToNs(c.readBigUInt64LE(p + 16));
    const [root] = parser.fragment(p + 24, p + size - 4, null);
    if (info) info.records++;
    yield { recordId, timeNs, root: root as XmlNode[], chunk: index };
    p += size;
  }
}

/** Every record of an EVTX file, chunk by chunk. `chunks` collects per-chunk checks when given. */
export function* readEvtxRecords(path: string, chunks?: ChunkInfo[]): Generator<EvtxRecord> {
  const fd = openSync(path, 'r');
  try {
    const h = Buffer.alloc(FILE_HEADER_SIZE);
    readSync(fd, h, 0, FILE_HEADER_SIZE, 0);
    parseFileHeader(h);
    const size = fstatSync(fd).size;
    const n = Math.floor((size - FILE_HEADER_SIZE) / CHUNK_SIZE);
    const c = Buffer.alloc(CHUNK_SIZE);
    for (let i = 0; i < n; i++) {
      readSync(fd, c, 0, CHUNK_SIZE, FILE_HEADER_SIZE + i * CHUNK_SIZE);
      const info: ChunkInfo = { index: i, headerCrcOk: false, dataCrcOk: false, records: 0 };
      if (chunks) chunks.push(info);
      yield* chunkRecords(c, i, info);
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

/** A Data value as its JSONL type: numbers, booleans, "{lowercase-guid}", "0x..." hex, strings. */
function jsonValue(parts: (XmlNode | Value | string)[]): FieldValue {
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
  return vals.map(valueText).join('');
}

export interface ParsedEvent {
  readonly event: SysmonEvent;
  readonly identity: Identity;
  /** Version, Level, Task as in the record */
  readonly version: number;
}

/** A record as a SysmonEvent, or null when it is not a Sysmon-shaped event we know. */
export function recordToEvent(rec: EvtxRecord): ParsedEvent | null {
  const ev = rec.root.find((n) => n.name === 'Event');
  const sys = child(ev, 'System');
  if (!ev || !sys) return null;
  const id = Number(textOf(child(sys, 'EventID')));
  if (!Number.isInteger(id) || !isKnownEvent(id)) return null;
  const provider = child(sys, 'Provider');
  const tc = attr(child(sys, 'TimeCreated'), 'SystemTime')?.[0];
  const timeNs = tc && typeof tc === 'object' && tc.type === T.FileTime ? filetimeToNs(tc.v as bigint) : rec.timeNs;
  const data: Record<string, FieldValue> = {};
  for (const d of child(ev, 'EventData')?.children ?? []) {
    if (typeof d !== 'object' || !('name' in d) || d.name !== 'Data') continue;
    const name = (attr(d, 'Name') ?? []).map(valueText).join('');
    data[name] = jsonValue(d.children);
  }
  const rid = rec.recordId;
  return {
    event: { id, recordId: rid <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(rid) : 0, timeNs, data },
    identity: {
      provider: (attr(provider, 'Name') ?? []).map(valueText).join(''),
      providerGuid: (attr(provider, 'Guid') ?? []).map((v) => (typeof v === 'string' ? v : String(v.v))).join(''),
      channel: textOf(child(sys, 'Channel')),
      computer: textOf(child(sys, 'Computer')),
    },
    version: Number(textOf(child(sys, 'Version'))) || eventDef(id).version,
  };
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
