// Turns raw ring records (bytes laid out by driver/include/events.h) into typed objects.
// A record that does not fit its declared layout is rejected with DecodeError: the caller
// counts it, reports event 255 and skips it.
import { decodeBytes } from '../events/text.js';
import { HEADER_SIZE, LAYOUT, RecordType, STRUCT_SIZES } from './layout.js';

export class DecodeError extends Error {}

export interface ProcessIds {
  uid: number; euid: number; gid: number; auid: number; sessionid: number; ppid: number;
  startBootNs: bigint; endCode: bigint; parentStartBootNs: bigint; parentEndCode: bigint;
}

interface Header { flags: number; bootNs: bigint; tgid: number; tid: number }

export interface ExecRecord extends Header { type: typeof RecordType.ProcessExec; ids: ProcessIds; exe: string; cwd: string; argv: string[]; comm: string }
export interface ForkRecord extends Header { type: typeof RecordType.ProcessFork; ids: ProcessIds }
export interface ExitRecord extends Header { type: typeof RecordType.ProcessExit; ids: ProcessIds; exitCode: number }
export type KernelRecord = ExecRecord | ForkRecord | ExitRecord;

const H = LAYOUT.record_header;
const I = LAYOUT.process_ids;

function readIds(b: Buffer, at: number): ProcessIds {
  return {
    uid: b.readUInt32LE(at + I.uid[0]),
    euid: b.readUInt32LE(at + I.euid[0]),
    gid: b.readUInt32LE(at + I.gid[0]),
    auid: b.readUInt32LE(at + I.auid[0]),
    sessionid: b.readUInt32LE(at + I.sessionid[0]),
    ppid: b.readUInt32LE(at + I.ppid[0]),
    startBootNs: b.readBigUInt64LE(at + I.start_boot_ns[0]),
    endCode: b.readBigUInt64LE(at + I.end_code[0]),
    parentStartBootNs: b.readBigUInt64LE(at + I.parent_start_boot_ns[0]),
    parentEndCode: b.readBigUInt64LE(at + I.parent_end_code[0]),
  };
}

function slice(b: Buffer, refAt: number, what: string): Buffer {
  const off = b.readUInt32LE(refAt + LAYOUT.str_ref.off[0]);
  const len = b.readUInt32LE(refAt + LAYOUT.str_ref.len[0]);
  if (off + len > b.length || (len > 0 && off < HEADER_SIZE)) {
    throw new DecodeError(`${what} string (off ${off}, len ${len}) outside the ${b.length}-byte record`);
  }
  return b.subarray(off, off + len);
}

/** "usr\0bin\0" leaf-first components -> "/bin/usr" reversed -> "/usr/bin" */
export function joinPath(components: Buffer): string {
  if (components.length === 0) return '/';
  const parts = decodeBytes(components).split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return '/' + parts.reverse().join('/');
}

export function splitArgs(args: Buffer): string[] {
  if (args.length === 0) return [];
  const text = decodeBytes(args);
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** `rec` must hold exactly one record (the ring's length prefix already removed). */
export function decodeRecord(rec: Buffer): KernelRecord {
  if (rec.length < HEADER_SIZE) throw new DecodeError(`record of ${rec.length} bytes is shorter than its header`);
  const type = rec.readUInt16LE(H.type[0]);
  const size = rec.readUInt32LE(H.size[0]);
  if (size !== rec.length) throw new DecodeError(`record type ${type} says ${size} bytes but the ring holds ${rec.length}`);
  const header: Header = {
    flags: rec.readUInt16LE(H.flags[0]),
    bootNs: rec.readBigUInt64LE(H.boot_ns[0]),
    tgid: rec.readUInt32LE(H.tgid[0]),
    tid: rec.readUInt32LE(H.tid[0]),
  };
  switch (type) {
    case RecordType.ProcessExec: {
      need(rec, STRUCT_SIZES.exec_record, 'exec');
      const E = LAYOUT.exec_record;
      return {
        type, ...header, ids: readIds(rec, E.ids[0]),
        exe: joinPath(slice(rec, E.exe[0], 'exe')),
        cwd: joinPath(slice(rec, E.cwd[0], 'cwd')),
        argv: splitArgs(slice(rec, E.args[0], 'args')),
        comm: decodeBytes(slice(rec, E.comm[0], 'comm')),
      };
    }
    case RecordType.ProcessFork:
      need(rec, STRUCT_SIZES.fork_record, 'fork');
      return { type, ...header, ids: readIds(rec, LAYOUT.fork_record.ids[0]) };
    case RecordType.ProcessExit:
      need(rec, STRUCT_SIZES.exit_record, 'exit');
      return { type, ...header, ids: readIds(rec, LAYOUT.exit_record.ids[0]), exitCode: rec.readInt32LE(LAYOUT.exit_record.exit_code[0]) };
    default:
      throw new DecodeError(`unknown record type ${type} (${rec.length} bytes)`);
  }
}

function need(rec: Buffer, bytes: number, what: string): void {
  if (rec.length < bytes) throw new DecodeError(`${what} record of ${rec.length} bytes, expected at least ${bytes}`);
}
