// A small Binary XML / EVTX builder for test inputs the writer never produces: records
// without templates (Windows Event Collector, merged logs), BinXml (0x21) values holding
// elements without a dependency id (CAPI2's UserData), template instances nested in
// substitutions (Windows Sysmon's EventData), any provider, any EventID, an EventRecordID in
// the event that differs from the record header's. Layout facts: docs/evtx.md
// and libyal's "Windows XML Event Log (EVTX)". Every name and template definition is written
// inline on first use in a chunk and referenced by offset afterwards, with the string and
// template bucket tables filled as Windows fills them, so libevtx and python-evtx can check
// the files.
import { createHash } from 'node:crypto';
import {
  CHUNK_HEADER_SIZE,
  CHUNK_MAGIC,
  CHUNK_SIZE,
  FILE_HEADER_SIZE,
  RECORD_MAGIC,
  T,
  chunkHeaderCrc,
  crc,
  guidBytes,
  nameHash,
  nsToFiletime,
  sidBytes,
  templateBucket,
} from '../../sinks/evtx/format.js';
import { fileHeader } from '../../sinks/evtx/writer.js';

/** Writes tokens at the end of the chunk being built (offsets are chunk-relative). */
export interface Emit {
  u8(v: number): void;
  u16(v: number): void;
  u32(v: number): void;
  u64(v: bigint): void;
  bytes(b: Uint8Array): void;
  readonly at: number;
}

/** Content of an element or attribute: text, substitutions, child elements. */
export type Content = (e: Tokens) => void;

/** A template value: its type and how its bytes are written (BinXml values write tokens). */
export interface TValue {
  type: number;
  write: (t: Tokens) => void;
}

export class Tokens implements Emit {
  constructor(private readonly b: ChunkBuilder) {}
  get at(): number {
    return this.b.p;
  }
  u8(v: number): void {
    this.b.buf[this.b.p++] = v;
  }
  u16(v: number): void {
    this.b.buf.writeUInt16LE(v, this.b.p);
    this.b.p += 2;
  }
  u32(v: number): void {
    this.b.buf.writeUInt32LE(v >>> 0, this.b.p);
    this.b.p += 4;
  }
  u64(v: bigint): void {
    this.b.buf.writeBigUInt64LE(v, this.b.p);
    this.b.p += 8;
  }
  bytes(x: Uint8Array): void {
    this.b.buf.set(x, this.b.p);
    this.b.p += x.length;
  }
  utf16(s: string): void {
    this.b.p += this.b.buf.write(s, this.b.p, 'utf16le');
  }

  fragmentHeader(): void {
    this.bytes(Buffer.from([0x0f, 0x01, 0x01, 0x00]));
  }
  eof(): void {
    this.u8(0x00);
  }

  /** `dep`: write a dependency id (template definitions do, record bodies and BinXml values do not). */
  element(name: string, opts: { dep: boolean; attrs?: [string, Content][] }, content: Content | null): void {
    const attrs = opts.attrs ?? [];
    this.u8(attrs.length ? 0x41 : 0x01);
    if (opts.dep) this.u16(0xffff);
    const sizeAt = this.at;
    this.u32(0);
    this.name(name);
    if (attrs.length) {
      const listAt = this.at;
      this.u32(0);
      attrs.forEach(([n, v], i) => {
        this.u8(i < attrs.length - 1 ? 0x46 : 0x06);
        this.name(n);
        v(this);
      });
      this.b.buf.writeUInt32LE(this.at - listAt - 4, listAt);
    }
    if (content) {
      this.u8(0x02);
      content(this);
      this.u8(0x04);
    } else this.u8(0x03);
    this.b.buf.writeUInt32LE(this.at - sizeAt - 4, sizeAt);
  }

  text(s: string): void {
    this.u8(0x05);
    this.u8(0x01);
    this.u16(s.length);
    this.utf16(s);
  }
  sub(index: number, type: number, optional = true): void {
    this.u8(optional ? 0x0e : 0x0d);
    this.u16(index);
    this.u8(type);
  }

  name(name: string): void {
    const known = this.b.names.get(name);
    if (known !== undefined) {
      this.u32(known);
      return;
    }
    const at = this.at + 4;
    this.u32(at);
    const hash = nameHash(name);
    this.u32(this.b.strBuckets[hash % 64]!);
    this.u16(hash);
    this.u16(name.length);
    this.utf16(name);
    this.u16(0);
    this.b.strBuckets[hash % 64] = at;
    this.b.names.set(name, at);
  }

  /** `0C 01 id offset` (+ the definition inline on first use), then the values. */
  instance(key: string, body: Content, values: TValue[]): void {
    const guid = createHash('md5').update(`builder/${key}`).digest();
    this.u8(0x0c);
    this.u8(0x01);
    this.bytes(guid.subarray(0, 4));
    const known = this.b.templates.get(key);
    if (known !== undefined) this.u32(known);
    else {
      const at = this.at + 4;
      this.u32(at);
      const bucket = templateBucket(guid);
      this.u32(this.b.tplBuckets[bucket]!);
      this.bytes(guid);
      const sizeAt = this.at;
      this.u32(0);
      this.fragmentHeader();
      body(this);
      this.eof();
      this.b.buf.writeUInt32LE(this.at - sizeAt - 4, sizeAt);
      this.b.tplBuckets[bucket] = at;
      this.b.templates.set(key, at);
    }
    this.u32(values.length);
    const decl = this.at;
    this.b.p += 4 * values.length;
    values.forEach((v, i) => {
      const start = this.at;
      v.write(this);
      this.b.buf.writeUInt16LE(this.at - start, decl + 4 * i);
      this.b.buf.writeUInt16LE(v.type, decl + 4 * i + 2);
    });
  }
}

// ---- template values ------------------------------------------------------------------------
export const V = {
  null: (): TValue => ({ type: T.Null, write: () => {} }),
  str: (s: string): TValue => ({ type: T.String, write: (t) => t.utf16(s) }),
  u8: (n: number): TValue => ({ type: T.UInt8, write: (t) => t.u8(n) }),
  u16: (n: number): TValue => ({ type: T.UInt16, write: (t) => t.u16(n) }),
  u32: (n: number): TValue => ({ type: T.UInt32, write: (t) => t.u32(n) }),
  u64: (n: bigint): TValue => ({ type: T.UInt64, write: (t) => t.u64(n) }),
  hex64: (n: bigint): TValue => ({ type: T.HexInt64, write: (t) => t.u64(n) }),
  guid: (g: string): TValue => ({ type: T.Guid, write: (t) => t.bytes(guidBytes(g)!) }),
  filetime: (ns: bigint): TValue => ({ type: T.FileTime, write: (t) => t.u64(nsToFiletime(ns)) }),
  sid: (s: string): TValue => ({ type: T.Sid, write: (t) => t.bytes(sidBytes(s)) }),
  binxml: (body: Content): TValue => ({ type: T.BinXml, write: body }),
};

// ---- chunks and files ----------------------------------------------------------------------
export class ChunkBuilder {
  readonly buf = Buffer.alloc(CHUNK_SIZE);
  p = CHUNK_HEADER_SIZE;
  readonly names = new Map<string, number>();
  readonly templates = new Map<string, number>();
  readonly strBuckets = new Uint32Array(64);
  readonly tplBuckets = new Uint32Array(32);
  private firstId = 0n;
  private lastId = 0n;
  private lastOffset = 0;
  count = 0;

  /** Room left for records (a rough check; a record that does not fit throws). */
  get free(): number {
    return CHUNK_SIZE - this.p;
  }

  /** One record: header id, time, and its Binary XML body (fragment header and EOF added here). */
  record(id: bigint, timeNs: bigint, body: Content): void {
    const start = this.p;
    const t = new Tokens(this);
    t.u32(RECORD_MAGIC);
    t.u32(0);
    t.u64(id);
    t.u64(nsToFiletime(timeNs));
    t.fragmentHeader();
    body(t);
    t.eof();
    while ((this.p + 4) % 8 !== 0) t.u8(0);
    const size = this.p + 4 - start;
    t.u32(size);
    this.buf.writeUInt32LE(size, start + 4);
    if (this.p > CHUNK_SIZE) throw new Error('record does not fit the chunk');
    if (this.count === 0) this.firstId = id;
    this.lastId = id;
    this.lastOffset = start;
    this.count++;
  }

  seal(): Buffer {
    const b = this.buf;
    CHUNK_MAGIC.copy(b, 0);
    b.writeBigUInt64LE(this.firstId, 8);
    b.writeBigUInt64LE(this.lastId, 16);
    b.writeBigUInt64LE(this.firstId, 24);
    b.writeBigUInt64LE(this.lastId, 32);
    b.writeUInt32LE(128, 40);
    b.writeUInt32LE(this.lastOffset, 44);
    b.writeUInt32LE(this.p, 48);
    b.writeUInt32LE(crc(b, CHUNK_HEADER_SIZE, this.p), 52);
    b.writeUInt32LE(1, 120);
    for (let i = 0; i < 64; i++) b.writeUInt32LE(this.strBuckets[i]!, 128 + 4 * i);
    for (let i = 0; i < 32; i++) b.writeUInt32LE(this.tplBuckets[i]!, 384 + 4 * i);
    b.writeUInt32LE(chunkHeaderCrc(b), 124);
    return b;
  }
}

/** A whole file of sealed chunks (clean, next record id after the last one). */
export function evtxFile(chunks: ChunkBuilder[], nextRecordId: bigint): Buffer {
  const parts = [fileHeader(chunks.length, nextRecordId, 0), ...chunks.map((c) => c.seal())];
  const out = Buffer.concat(parts);
  if (out.length !== FILE_HEADER_SIZE + chunks.length * CHUNK_SIZE) throw new Error('bad file size');
  return out;
}

// ---- the events of the tests -----------------------------------------------------------------
export interface SimpleEvent {
  provider: string;
  providerGuid: string;
  channel: string;
  computer: string;
  eventId: number;
  version: number;
  /** System/EventRecordID */
  recordId: bigint;
  timeNs: bigint;
  /** EventData Data Name=value, in order */
  data: [string, string][];
}

/**
 * A record without any template: every element written out with text values and no
 * dependency ids, as the Windows Event Collector writes forwarded events (with their
 * RenderingInfo).
 */
export function plainRecord(ev: SimpleEvent, dep = false): Content {
  const el = (t: Tokens, name: string, attrs: [string, string][], content: Content | null) =>
    t.element(name, { dep, attrs: attrs.map(([n, v]) => [n, (x: Tokens) => x.text(v)] as [string, Content]) }, content);
  const iso = (ns: bigint) =>
    `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0').slice(0, 7)}Z`;
  return (t) =>
    el(t, 'Event', [['xmlns', 'http://schemas.microsoft.com/win/2004/08/events/event']], (t) => {
      el(t, 'System', [], (t) => {
        el(
          t,
          'Provider',
          [
            ['Name', ev.provider],
            ['Guid', ev.providerGuid],
          ],
          null,
        );
        el(t, 'EventID', [], (t) => t.text(String(ev.eventId)));
        el(t, 'Version', [], (t) => t.text(String(ev.version)));
        el(t, 'Level', [], (t) => t.text('4'));
        el(t, 'TimeCreated', [['SystemTime', iso(ev.timeNs)]], null);
        el(t, 'EventRecordID', [], (t) => t.text(String(ev.recordId)));
        el(t, 'Channel', [], (t) => t.text(ev.channel));
        el(t, 'Computer', [], (t) => t.text(ev.computer));
      });
      el(t, 'EventData', [], (t) => {
        for (const [n, v] of ev.data) el(t, 'Data', [['Name', n]], v === '' ? null : (t) => t.text(v));
      });
      el(t, 'RenderingInfo', [['Culture', 'en-US']], (t) => el(t, 'Message', [], (t) => t.text(`event ${ev.eventId}`)));
    });
}

/** The 18-value System template as Windows writes it, `payload` as value 17 (BinXml). */
function systemInstance(ev: SimpleEvent, payload: TValue): Content {
  const s = (t: Tokens, i: number, type: number) => t.sub(i, type, true);
  const el = (t: Tokens, name: string, attrs: [string, Content][], content: Content | null) => t.element(name, { dep: true, attrs }, content);
  return (t) =>
    t.instance(
      `system/${ev.computer}`,
      (t) => {
        el(t, 'Event', [['xmlns', (t) => t.text('http://schemas.microsoft.com/win/2004/08/events/event')]], (t) => {
          el(t, 'System', [], (t) => {
            el(
              t,
              'Provider',
              [
                ['Name', (t) => s(t, 14, T.String)],
                ['Guid', (t) => s(t, 15, T.Guid)],
              ],
              null,
            );
            el(t, 'EventID', [['Qualifiers', (t) => s(t, 4, T.UInt16)]], (t) => s(t, 3, T.UInt16));
            el(t, 'Version', [], (t) => s(t, 11, T.UInt8));
            el(t, 'Level', [], (t) => s(t, 0, T.UInt8));
            el(t, 'Task', [], (t) => s(t, 2, T.UInt16));
            el(t, 'Opcode', [], (t) => s(t, 1, T.UInt8));
            el(t, 'Keywords', [], (t) => s(t, 5, T.HexInt64));
            el(t, 'TimeCreated', [['SystemTime', (t) => s(t, 6, T.FileTime)]], null);
            el(t, 'EventRecordID', [], (t) => s(t, 10, T.UInt64));
            el(
              t,
              'Correlation',
              [
                ['ActivityID', (t) => s(t, 7, T.Guid)],
                ['RelatedActivityID', (t) => s(t, 13, T.Guid)],
              ],
              null,
            );
            el(
              t,
              'Execution',
              [
                ['ProcessID', (t) => s(t, 8, T.UInt32)],
                ['ThreadID', (t) => s(t, 9, T.UInt32)],
              ],
              null,
            );
            el(t, 'Channel', [], (t) => s(t, 16, T.String));
            el(t, 'Computer', [], (t) => t.text(ev.computer));
            el(t, 'Security', [['UserID', (t) => s(t, 12, T.Sid)]], null);
          });
          s(t, 17, T.BinXml);
        });
      },
      [
        V.u8(4),
        V.u8(0),
        V.u16(ev.eventId),
        V.u16(ev.eventId),
        V.null(),
        V.hex64(0x8000000000000000n),
        V.filetime(ev.timeNs),
        V.null(),
        V.u32(4242),
        V.u32(4243),
        V.u64(ev.recordId),
        V.u8(ev.version),
        V.sid('S-1-5-18'),
        V.null(),
        V.str(ev.provider),
        V.guid(ev.providerGuid),
        V.str(ev.channel),
        payload,
      ],
    );
}

/**
 * A record laid out as Windows writes manifest events: the System template, and as value 17
 * a template instance (no fragment header) of `<EventData><Data Name=..>%i</Data>...`.
 */
export function templatedRecord(ev: SimpleEvent): Content {
  const names = ev.data.map(([n]) => n);
  return systemInstance(
    ev,
    V.binxml((t) =>
      t.instance(
        `data/${ev.provider}/${ev.eventId}/${names.join(',')}`,
        (t) => {
          t.element('EventData', { dep: true }, (t) => {
            for (const [i, n] of names.entries()) t.element('Data', { dep: true, attrs: [['Name', (t) => t.text(n)]] }, (t) => t.sub(i, T.String, false));
          });
        },
        ev.data.map(([, v]) => V.str(v)),
      ),
    ),
  );
}

/**
 * A CAPI2-style record: the System template, and as value 17 a BinXml value holding plain
 * elements (no dependency ids, no template): `<UserData><Name attr=..><Data Name=..>v</Data>..`.
 * `fragmentHeader`: whether the value starts with `0F 01 01 00` (both are seen).
 */
export function userDataRecord(ev: SimpleEvent, fragmentHeader: boolean): Content {
  return systemInstance(
    ev,
    V.binxml((t) => {
      if (fragmentHeader) t.fragmentHeader();
      const dep = fragmentHeader;
      t.element('UserData', { dep }, (t) => {
        t.element('CertGetCertificateChain', { dep, attrs: [['source', (t) => t.text('builder')]] }, (t) => {
          for (const [n, v] of ev.data) t.element('Data', { dep, attrs: [['Name', (t) => t.text(n)]] }, (t) => t.text(v));
        });
      });
      t.eof();
    }),
  );
}
