// Records as the Windows driver fills them (driver/windows/*.c), built at the decoders'
// offsets: the Windows records (200-239) and the shared ones it writes (3, 40, 41, 44).
import { COMMON_LAYOUT } from '../../src/kernel/records/common.js';
import { PROCESS_LAYOUT, PROCESS_SIZES } from '../../src/families/process/records.js';
import { SECURITY_LAYOUT, SECURITY_SIZES } from '../../src/families/security/records.js';
import { WINDOWS_LAYOUT, WINDOWS_SIZES } from '../../src/families/windows/records.js';

const H = COMMON_LAYOUT.record_header;
const I = COMMON_LAYOUT.process_ids;

class Builder {
  private strings: Buffer[] = [];
  private used: number;
  constructor(readonly fixed: Buffer) {
    this.used = fixed.length;
  }
  str(refAt: number, bytes: Buffer): this {
    this.fixed.writeUInt32LE(this.used, refAt);
    this.fixed.writeUInt32LE(bytes.length, refAt + 4);
    this.strings.push(bytes);
    this.used += bytes.length;
    return this;
  }
  done(): Buffer {
    const b = Buffer.concat([this.fixed, ...this.strings]);
    b.writeUInt32LE(b.length, H.size[0]);
    return b;
  }
}

function header(size: number, type: number, pid: number, tid: number, bootNs: bigint): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt16LE(type, H.type[0]);
  b.writeUInt32LE(size, H.size[0]);
  b.writeBigUInt64LE(bootNs, H.boot_ns[0]);
  b.writeUInt32LE(pid, H.tgid[0]);
  b.writeUInt32LE(tid, H.tid[0]);
  return b;
}

function ids(b: Buffer, at: number, pid: number, ppid: number, startKey: bigint, parentKey = 0n): void {
  for (const f of ['uid', 'euid', 'gid', 'auid'] as const) b.writeUInt32LE(0xffffffff, at + I[f][0]);
  b.writeUInt32LE(1, at + I.sessionid[0]);
  b.writeUInt32LE(ppid, at + I.ppid[0]);
  b.writeBigUInt64LE(startBootNs(pid), at + I.start_boot_ns[0]);
  b.writeBigUInt64LE(startKey, at + I.end_code[0]);
  b.writeBigUInt64LE(startBootNs(ppid), at + I.parent_start_boot_ns[0]);
  b.writeBigUInt64LE(parentKey, at + I.parent_end_code[0]);
}

/** the boot ns the builders give a process as its start: 1 s per pid */
export function startBootNs(pid: number): bigint {
  return BigInt(pid) * 1_000_000_000n;
}

const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');

/** S-1-5-21-1-2-3-1001 as binary */
export const SID_BYTES = Buffer.from([1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xe9, 3, 0, 0]);

export interface ProcessOpts {
  ppid?: number;
  startKey?: bigint;
  parentKey?: bigint;
  createTime?: bigint;
  sid?: Buffer;
  rid?: number;
  logonId?: bigint;
  session?: number;
  bootNs?: bigint;
}

export function winProcess(pid: number, image: string, cmd: string, o: ProcessOpts = {}): Buffer {
  const P = WINDOWS_LAYOUT.win_process_record;
  const b = header(WINDOWS_SIZES.win_process_record, 200, pid, 4004, o.bootNs ?? 10n);
  ids(b, P.ids[0], pid, o.ppid ?? 4000, o.startKey ?? 0x0016000000000603n, o.parentKey ?? 0n);
  if (o.session !== undefined) b.writeUInt32LE(o.session, P.ids[0] + I.sessionid[0]);
  b.writeBigUInt64LE(o.createTime ?? 134090000000000000n, P.create_time[0]);
  b.writeBigUInt64LE(o.logonId ?? 0xfa328n, P.logon_id[0]);
  b.writeUInt32LE(o.rid ?? 0x2000, P.integrity_rid[0]);
  b.writeUInt32LE(1, P.flags[0]);
  b.writeUInt32LE(o.ppid ?? 4000, P.creating_pid[0]);
  b.writeUInt32LE(4004, P.creating_tid[0]);
  return new Builder(b)
    .str(P.image[0], u16(image))
    .str(P.command_line[0], u16(cmd))
    .str(P.user_sid[0], o.sid ?? SID_BYTES)
    .done();
}

export interface FileOpts {
  op?: number;
  pid?: number;
  startKey?: bigint;
  creationTime?: bigint;
  prevCreationTime?: bigint;
  bootNs?: bigint;
}

export function winFile(type: number, path: string, newPath = '', o: FileOpts = {}): Buffer {
  const F = WINDOWS_LAYOUT.win_file_record;
  const b = header(WINDOWS_SIZES.win_file_record, type, o.pid ?? 5000, (o.pid ?? 5000) + 4, o.bootNs ?? 20n);
  b.writeUInt32LE(o.op ?? 1, F.op[0]);
  b.writeUInt32LE(0x20, F.attributes[0]);
  b.writeUInt32LE(2, F.create_result[0]);
  b.writeBigUInt64LE(o.creationTime ?? 134090000000000000n, F.creation_time[0]);
  b.writeBigUInt64LE(o.prevCreationTime ?? 0n, F.prev_creation_time[0]);
  b.writeBigUInt64LE(o.startKey ?? 0n, F.process_start_key[0]);
  return new Builder(b).str(F.path[0], u16(path)).str(F.new_path[0], u16(newPath)).done();
}

export interface RegOpts {
  op?: number;
  valueType?: number;
  pid?: number;
  startKey?: bigint;
  newName?: string;
  dataSize?: number;
  bootNs?: bigint;
}

export function winReg(type: number, key: string, value: string, data: Buffer, o: RegOpts = {}): Buffer {
  const R = WINDOWS_LAYOUT.win_reg_record;
  const b = header(WINDOWS_SIZES.win_reg_record, type, o.pid ?? 6000, (o.pid ?? 6000) + 4, o.bootNs ?? 30n);
  b.writeUInt32LE(o.op ?? 16, R.op[0]);
  b.writeUInt32LE(o.valueType ?? 4, R.value_type[0]);
  b.writeUInt32LE(o.dataSize ?? data.length, R.data_size[0]);
  b.writeBigUInt64LE(o.startKey ?? 0n, R.process_start_key[0]);
  return new Builder(b)
    .str(R.key[0], u16(key))
    .str(R.value[0], u16(value))
    .str(R.data[0], data)
    .str(R.new_name[0], u16(o.newName ?? ''))
    .done();
}

export interface ImageOpts {
  base?: bigint;
  size?: bigint;
  startKey?: bigint;
  level?: number;
  bootNs?: bigint;
}

export function winImage(pid: number, path: string, kernel: boolean, o: ImageOpts = {}): Buffer {
  const M = WINDOWS_LAYOUT.win_image_record;
  const b = header(WINDOWS_SIZES.win_image_record, 201, pid, 7004, o.bootNs ?? 40n);
  b.writeBigUInt64LE(o.base ?? 0x7ff600000000n, M.image_base[0]);
  b.writeBigUInt64LE(o.size ?? 0x20000n, M.image_size[0]);
  b.writeUInt32LE((kernel ? 1 << 8 : 0) | ((o.level ?? 12) << 12) | (1 << 16), M.properties[0]);
  b.writeBigUInt64LE(o.startKey ?? 0n, M.process_start_key[0]);
  return new Builder(b).str(M.path[0], u16(path)).done();
}

export function exitRecord(pid: number, code: number, startKey = 0x16000000000603n, bootNs = 50n): Buffer {
  const X = PROCESS_LAYOUT.exit_record;
  const b = header(PROCESS_SIZES.exit_record, 3, pid, pid + 4, bootNs);
  ids(b, X.ids[0], pid, 4000, startKey);
  b.writeInt32LE(code, X.exit_code[0]);
  return b;
}

export interface CrossOpts {
  srcKey?: bigint;
  targetKey?: bigint;
  bootNs?: bigint;
}

function targetIds(b: Buffer, at: number, target: number, tid: number, key: bigint): void {
  const T = SECURITY_LAYOUT.target_ids;
  b.writeUInt32LE(target, at + T.tgid[0]);
  b.writeUInt32LE(tid, at + T.tid[0]);
  b.writeUInt32LE(0xffffffff, at + T.uid[0]);
  b.writeBigUInt64LE(startBootNs(target), at + T.start_boot_ns[0]);
  b.writeBigUInt64LE(key, at + T.end_code[0]);
}

export function accessRecord(src: number, target: number, granted: number, o: CrossOpts = {}): Buffer {
  const A = SECURITY_LAYOUT.access_record;
  const b = header(SECURITY_SIZES.access_record, 40, src, src + 4, o.bootNs ?? 60n);
  ids(b, A.ids[0], src, 4000, o.srcKey ?? 1n);
  targetIds(b, A.target[0], target, 0, o.targetKey ?? 0n);
  b.writeUInt32LE(granted, A.granted[0]);
  b.writeUInt32LE(5, A.how[0]);
  return b;
}

export function injectRecord(src: number, target: number, tid: number, start: bigint, o: CrossOpts = {}): Buffer {
  const J = SECURITY_LAYOUT.inject_record;
  const b = header(SECURITY_SIZES.inject_record, 41, src, src + 4, o.bootNs ?? 70n);
  ids(b, J.ids[0], src, 4000, o.srcKey ?? 1n);
  targetIds(b, J.target[0], target, tid, o.targetKey ?? 0n);
  b.writeBigUInt64LE(start, J.start_address[0]);
  return b;
}

export function tamperRecord(pid: number, startKey = 1n): Buffer {
  const X = SECURITY_LAYOUT.tamper_record;
  const b = header(SECURITY_SIZES.tamper_record, 44, pid, pid + 4, 80n);
  ids(b, X.ids[0], pid, 4000, startKey);
  b.writeUInt32LE(1, X.kind[0]);
  b.writeUInt32LE(SECURITY_SIZES.tamper_record, X.exe[0]); // empty, as the driver writes it
  return b;
}

export function stackRecord(of: Buffer, frames: bigint[]): Buffer {
  const S = WINDOWS_LAYOUT.win_stack_record;
  const b = Buffer.alloc(WINDOWS_SIZES.win_stack_record);
  of.copy(b, 0, 0, 24);
  b.writeUInt16LE(230, H.type[0]);
  b.writeUInt32LE(of.readUInt16LE(H.type[0]), S.for_type[0]);
  const f = Buffer.alloc(8 * frames.length);
  for (const [i, x] of frames.entries()) f.writeBigUInt64LE(x, 8 * i);
  return new Builder(b).str(S.frames[0], f).done();
}
