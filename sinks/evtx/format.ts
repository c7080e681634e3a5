// EVTX constants and small encoders shared by the writer and the reader.
// Layout facts: docs/evtx.md and the libyal EVTX format description.
import { crc32 } from 'node:zlib';

export const FILE_HEADER_SIZE = 4096;
export const CHUNK_SIZE = 65536;
export const CHUNK_HEADER_SIZE = 512;
export const FILE_MAGIC = Buffer.from('ElfFile\0', 'latin1');
export const CHUNK_MAGIC = Buffer.from('ElfChnk\0', 'latin1');
export const RECORD_MAGIC = 0x00002a2a;
/** chunk count is a u16 in the file header */
export const MAX_CHUNKS = 0xffff;

/** file header flags */
export const FLAG_CLEAN = 0;
export const FLAG_DIRTY = 1;
export const FLAG_FULL = 2;

/** Binary XML value types */
export const T = {
  Null: 0x00,
  String: 0x01,
  AnsiString: 0x02,
  Int8: 0x03,
  UInt8: 0x04,
  Int16: 0x05,
  UInt16: 0x06,
  Int32: 0x07,
  UInt32: 0x08,
  Int64: 0x09,
  UInt64: 0x0a,
  Real32: 0x0b,
  Real64: 0x0c,
  Bool: 0x0d,
  Binary: 0x0e,
  Guid: 0x0f,
  SizeT: 0x10,
  FileTime: 0x11,
  SysTime: 0x12,
  Sid: 0x13,
  HexInt32: 0x14,
  HexInt64: 0x15,
  BinXml: 0x21,
} as const;

export function crc(buf: Uint8Array, start = 0, end = buf.length): number {
  return crc32(buf.subarray(start, end)) >>> 0;
}

/** CRC of chunk header bytes 0..120 and 128..512 */
export function chunkHeaderCrc(chunk: Uint8Array): number {
  return crc32(chunk.subarray(128, 512), crc32(chunk.subarray(0, 120))) >>> 0;
}

/** Name hash: low 16 bits of h = h*65599 + code unit over the UTF-16 name. */
export function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 65599) + name.charCodeAt(i)) >>> 0;
  return h & 0xffff;
}

/** Template bucket (0..31): the same hash over the GUID read as 8 little-endian u16. */
export function templateBucket(guid: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < 16; i += 2) h = (Math.imul(h, 65599) + (guid[i]! | (guid[i + 1]! << 8))) >>> 0;
  return (h & 0xffff) % 32;
}

/** 16 bytes of a "{xxxxxxxx-xxxx-...}" GUID (Data1-3 little-endian), or null if not a GUID. */
export { guidBytes } from '../shared/guid.js';

export function guidText(b: Uint8Array, off = 0, upper = false): string {
  const buf = Buffer.from(b.buffer, b.byteOffset + off, 16);
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  const s =
    `{${h(buf.readUInt32LE(0), 8)}-${h(buf.readUInt16LE(4), 4)}-${h(buf.readUInt16LE(6), 4)}-` +
    `${buf.subarray(8, 10).toString('hex')}-${buf.subarray(10, 16).toString('hex')}}`;
  return upper ? s.toUpperCase() : s;
}

const EPOCH_DIFF_100NS = 116444736000000000n;

export function nsToFiletime(ns: bigint): bigint {
  return ns / 100n + EPOCH_DIFF_100NS;
}

export function filetimeToNs(ft: bigint): bigint {
  return (ft - EPOCH_DIFF_100NS) * 100n;
}

/** SID bytes from "S-1-5-18" */
export function sidBytes(text: string): Buffer {
  const parts = text.split('-');
  if (parts[0] !== 'S' || parts.length < 3) throw new Error(`bad SID ${text}`);
  const subs = parts.slice(3).map((p) => Number(p));
  const b = Buffer.alloc(8 + 4 * subs.length);
  b[0] = Number(parts[1]);
  b[1] = subs.length;
  b.writeUIntBE(Number(parts[2]), 2, 6);
  for (const [i, s] of subs.entries()) b.writeUInt32LE(s, 8 + 4 * i);
  return b;
}

export function sidText(b: Uint8Array, off: number, size: number): string {
  const buf = Buffer.from(b.buffer, b.byteOffset + off, size);
  if (size < 8) return '';
  const n = buf[1]!;
  let s = `S-${buf[0]}-${buf.readUIntBE(2, 6)}`;
  for (let i = 0; i < n && 8 + 4 * i + 4 <= size; i++) s += `-${buf.readUInt32LE(8 + 4 * i)}`;
  return s;
}
