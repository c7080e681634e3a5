// Helpers shared by every record family's decoder: the header, string refs, process ids.
import { u64 } from './u64.js';
import { decodeBytes, decodeRange } from '../text.js';
import { DEFINES, STRUCTS } from '../generated/events-h.js';
import { u32 } from './le.js';

export class DecodeError extends Error {}

export const HEADER_SIZE = STRUCTS.record_header.size;

/** record_header.flags every family may set */
export const RecordFlag = {
  ArgsTruncated: DEFINES.RECORD_FLAG_ARGS_TRUNCATED,
  ExeTruncated: DEFINES.RECORD_FLAG_EXE_TRUNCATED,
  CwdTruncated: DEFINES.RECORD_FLAG_CWD_TRUNCATED,
  /** exec: in exactly the parent's cgroups (same css_set), every hierarchy */
  ParentCgroups: DEFINES.RECORD_FLAG_PARENT_CGROUPS,
} as const;

export const COMMON_LAYOUT = {
  record_header: STRUCTS.record_header.fields,
  str_ref: STRUCTS.str_ref.fields,
  process_ids: STRUCTS.process_ids.fields,
} as const;

export const COMMON_SIZES = { record_header: STRUCTS.record_header.size, str_ref: STRUCTS.str_ref.size, process_ids: STRUCTS.process_ids.size } as const;

export interface Header {
  flags: number;
  bootNs: bigint;
  tgid: number;
  tid: number;
}

export interface ProcessIds {
  uid: number;
  euid: number;
  gid: number;
  auid: number;
  sessionid: number;
  ppid: number;
  startBootNs: bigint;
  endCode: bigint;
  parentStartBootNs: bigint;
  parentEndCode: bigint;
}

const H = COMMON_LAYOUT.record_header;
const I = COMMON_LAYOUT.process_ids;

/** The header's fields; decoders write the same four reads inline (offsets fixed by
 * COMMON_LAYOUT, checked by test/kernel/layout.test.ts) rather than spread this object. */
export function readHeader(b: Buffer): Header {
  return {
    flags: b.readUInt16LE(H.flags[0]),
    bootNs: u64(b, H.boot_ns[0]),
    tgid: b.readUInt32LE(H.tgid[0]),
    tid: b.readUInt32LE(H.tid[0]),
  };
}

export function readIds(b: Buffer, at: number): ProcessIds {
  return {
    uid: b.readUInt32LE(at + I.uid[0]),
    euid: b.readUInt32LE(at + I.euid[0]),
    gid: b.readUInt32LE(at + I.gid[0]),
    auid: b.readUInt32LE(at + I.auid[0]),
    sessionid: b.readUInt32LE(at + I.sessionid[0]),
    ppid: b.readUInt32LE(at + I.ppid[0]),
    startBootNs: u64(b, at + I.start_boot_ns[0]),
    endCode: u64(b, at + I.end_code[0]),
    parentStartBootNs: u64(b, at + I.parent_start_boot_ns[0]),
    parentEndCode: u64(b, at + I.parent_end_code[0]),
  };
}

/** The offset of the string a str_ref at `refAt` points to, checked against the record's bounds. */
function refOffset(b: Buffer, refAt: number, what: string): number {
  if (refAt < 0 || refAt + 8 > b.length) throw new DecodeError(`${what} string ref at ${refAt} outside the ${b.length}-byte record`);
  const off = u32(b, refAt);
  const len = u32(b, refAt + 4);
  if (off + len > b.length || (len > 0 && off < HEADER_SIZE)) {
    throw new DecodeError(`${what} string (off ${off}, len ${len}) outside the ${b.length}-byte record`);
  }
  return off;
}

/** Checks a str_ref at `refAt` against the record's bounds, for a string that is not read. */
export function checkRef(b: Buffer, refAt: number, what: string): void {
  refOffset(b, refAt, what);
}

/** The bytes a str_ref at `refAt` points to, checked against the record's bounds. */
export function slice(b: Buffer, refAt: number, what: string): Buffer {
  const off = refOffset(b, refAt, what);
  return b.subarray(off, off + u32(b, refAt + 4));
}

/** joinPath(slice(b, refAt, what)), decoded straight from the record (no Buffer view) */
export function refPath(b: Buffer, refAt: number, what: string): string {
  const off = refOffset(b, refAt, what);
  return joinPathIn(b, off, off + u32(b, refAt + 4));
}

/** commandLineOfArgs(slice(b, refAt, what)), decoded straight from the record */
export function refCommandLine(b: Buffer, refAt: number, what: string): string {
  const off = refOffset(b, refAt, what);
  return commandLineIn(b, off, off + u32(b, refAt + 4));
}

export function need(rec: Buffer, bytes: number, what: string): void {
  if (rec.length < bytes) throw new DecodeError(`${what} record of ${rec.length} bytes, expected at least ${bytes}`);
}

/** "usr\0bin\0" leaf-first components -> "/bin/usr" reversed -> "/usr/bin" */
export function joinPath(components: Buffer): string {
  return joinPathIn(components, 0, components.length);
}

/**
 * A path's bytes are assembled in this buffer and decoded once: one flat string per path, not a
 * decode, a slice per component and a concatenation per component (the file storm's decoder
 * allocated ~330 bytes per path that way).
 */
let scratch = Buffer.allocUnsafe(4096);

function scratchOf(bytes: number): Buffer {
  if (scratch.length < bytes) scratch = Buffer.allocUnsafe(Math.max(bytes, scratch.length * 2));
  return scratch;
}

/**
 * Leaf-first components b[start, end) ("leaf\0dir\0" with an optional last NUL) as
 * "/dir/leaf" at out[at..]; returns where it ends. Room: end - start + 1 bytes.
 */
function putPath(out: Buffer, at: number, b: Buffer, start: number, end: number): number {
  if (end > start && b[end - 1] === 0) end--;
  let p = at;
  let last = end;
  for (;;) {
    let nul = last - 1;
    while (nul >= start && b[nul] !== 0) nul--;
    out[p++] = 0x2f;
    for (let i = nul + 1; i < last; i++) out[p++] = b[i]!;
    if (nul < start) return p;
    last = nul;
  }
}

function joinPathIn(b: Buffer, start: number, end: number): string {
  if (end === start) return '/';
  const out = scratchOf(end - start + 1);
  return decodeRange(out, 0, putPath(out, 0, b, start, end));
}

/**
 * The directory at `dirRefAt` (leaf-first components) and the name at `nameRefAt` joined:
 * `${joinPath(dir)}/${name}` decoded once; an absolute name stands alone. `normalize` gets the
 * joined path (the file family's lexical `..` resolution).
 */
export function refPathInDir(b: Buffer, dirRefAt: number, nameRefAt: number, normalize: (joined: string) => string): string {
  const dOff = refOffset(b, dirRefAt, 'path');
  const dLen = u32(b, dirRefAt + 4);
  const nOff = refOffset(b, nameRefAt, 'name');
  const nLen = u32(b, nameRefAt + 4);
  if (nLen === 0) return joinPathIn(b, dOff, dOff + dLen);
  if (b[nOff] === 0x2f) return normalize(decodeRange(b, nOff, nOff + nLen));
  const out = scratchOf(dLen + nLen + 2);
  let p = 1;
  if (dLen === 0) out[0] = 0x2f;
  else p = putPath(out, 0, b, dOff, dOff + dLen);
  out[p++] = 0x2f;
  for (let i = nOff; i < nOff + nLen; i++) out[p++] = b[i]!;
  return normalize(decodeRange(out, 0, p));
}

/**
 * argv bytes ("a\0b c\0") -> the command line Sysmon for Linux logs: the arguments joined by
 * single spaces ("a b c"). One decode and one replace, not split + join: argv is only ever
 * used joined, and an exec storm decodes one per exec.
 */
export function commandLineOfArgs(args: Buffer): string {
  return commandLineIn(args, 0, args.length);
}

function commandLineIn(b: Buffer, start: number, end: number): string {
  // splitArgs drops one trailing empty argument (the last NUL), so only one NUL goes here
  const s = decodeRange(b, start, end > start && b[end - 1] === 0 ? end - 1 : end);
  return s.includes('\0') ? s.replaceAll('\0', ' ') : s;
}

export function splitArgs(args: Buffer): string[] {
  if (args.length === 0) return [];
  const parts = decodeBytes(args).split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}
