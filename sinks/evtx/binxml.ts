// Binary XML of one EVTX chunk into a small XML tree: templates (inline definitions and
// back-references), names, attributes, text, substitutions, nested BinXml values, every value
// type. Bounded by the record being parsed: damage throws (the reader skips and reports that
// record), never loops, never reads outside the record, nests at most 64 deep and expands to at
// most 200,000 nodes. Layout: docs/evtx.md, libyal's EVTX notes, [MS-EVEN6].
import { CHUNK_HEADER_SIZE, CHUNK_SIZE, T, filetimeToNs, guidText, sidText } from './format.js';

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

type Part = TNode | string | { sub: number; opt: boolean };
interface TNode {
  name: string;
  attrs: { name: string; parts: Part[] }[];
  children: Part[];
}

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
export class ChunkParser {
  private readonly templates = new Map<number, TNode[]>();
  private depth = 0;
  /** end of the record being parsed (chunk offset) */
  limit = CHUNK_SIZE;
  constructor(private readonly c: Buffer) {}

  /** Bounds (and a fresh node budget) for the record whose Binary XML ends at `end`. */
  beginRecord(end: number): void {
    this.limit = end;
    nodeBudget = MAX_NODES;
  }

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
        if (tok === 0x00) {
          p++;
          break;
        }
        if (tok === 0x0f) {
          p += 4;
          continue;
        }
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
    } finally {
      this.depth--;
    }
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
          if (t === 0x04) {
            p++;
            break;
          }
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
    } finally {
      this.depth--;
    }
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
        } finally {
          this.limit = saved;
        }
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
    } finally {
      this.depth--;
    }
  }

  value(type: number, p: number, size: number): Value {
    const c = this.c;
    switch (type) {
      case T.Null:
        return { type, v: null };
      case T.String:
        return { type, v: c.toString('utf16le', p, p + size).replace(/\0+$/, '') };
      case T.AnsiString:
        return { type, v: c.toString('latin1', p, p + size).replace(/\0+$/, '') };
      case T.Int8:
        fixedSize(type, size, 1);
        return { type, v: c.readInt8(p) };
      case T.UInt8:
        fixedSize(type, size, 1);
        return { type, v: c[p]! };
      case T.Int16:
        fixedSize(type, size, 2);
        return { type, v: c.readInt16LE(p) };
      case T.UInt16:
        fixedSize(type, size, 2);
        return { type, v: c.readUInt16LE(p) };
      case T.Int32:
        fixedSize(type, size, 4);
        return { type, v: c.readInt32LE(p) };
      case T.UInt32:
        fixedSize(type, size, 4);
        return { type, v: c.readUInt32LE(p) };
      case T.Int64:
        fixedSize(type, size, 8);
        return { type, v: safe(c.readBigInt64LE(p)) };
      case T.UInt64:
        fixedSize(type, size, 8);
        return { type, v: safe(c.readBigUInt64LE(p)) };
      case T.Real32:
        fixedSize(type, size, 4);
        return { type, v: c.readFloatLE(p) };
      case T.Real64:
        fixedSize(type, size, 8);
        return { type, v: c.readDoubleLE(p) };
      case T.Bool:
        fixedSize(type, size, 1);
        return { type, v: (size >= 4 ? c.readUInt32LE(p) : c[p]!) !== 0 };
      case T.Guid:
        fixedSize(type, size, 16);
        return { type, v: guidText(c, p) };
      case T.SizeT:
        fixedSize(type, size, 4);
        return { type, v: `0x${(size === 8 ? c.readBigUInt64LE(p) : BigInt(c.readUInt32LE(p))).toString(16)}` };
      case T.FileTime:
        fixedSize(type, size, 8);
        return { type, v: c.readBigUInt64LE(p) };
      case T.SysTime: {
        fixedSize(type, size, 16);
        const d = Date.UTC(
          c.readUInt16LE(p),
          c.readUInt16LE(p + 2) - 1,
          c.readUInt16LE(p + 6),
          c.readUInt16LE(p + 8),
          c.readUInt16LE(p + 10),
          c.readUInt16LE(p + 12),
          c.readUInt16LE(p + 14),
        );
        if (Number.isNaN(d)) throw new Error(`bad SYSTEMTIME at ${p}`);
        return { type, v: new Date(d).toISOString() };
      }
      case T.Sid:
        return { type, v: sidText(c, p, size) };
      case T.HexInt32:
        fixedSize(type, size, 4);
        return { type, v: `0x${c.readUInt32LE(p).toString(16)}` };
      case T.HexInt64:
        fixedSize(type, size, 8);
        return { type, v: `0x${c.readBigUInt64LE(p).toString(16)}` };
      case T.BinXml: {
        // its elements have no dependency id; bounded by the value, not the record
        const saved = this.limit;
        this.limit = p + size;
        try {
          return { type, v: this.fragment(p, p + size, false)[0] as XmlNode[] };
        } finally {
          this.limit = saved;
        }
      }
      case 0x81:
        return {
          type,
          v: c
            .toString('utf16le', p, p + size)
            .replace(/\0+$/, '')
            .split('\0')
            .join(', '),
        };
      default:
        return { type, v: c.toString('hex', p, p + size).toUpperCase() };
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
    if (typeof part === 'string') {
      out.push(part);
      any = true;
    } else if (isNode(part)) {
      out.push(instantiate(part, values));
      any = true;
    } else {
      const v = values[part.sub];
      if (!v || v.type === T.Null) continue;
      any = true;
      if (v.type === T.BinXml) out.push(...(v.v as XmlNode[]));
      else out.push(v);
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
