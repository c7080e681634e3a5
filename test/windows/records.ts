// Records as the Windows driver fills them (driver/windows/*.c), built at the decoders'
// offsets: the Windows records (200-239) and the shared ones it writes (3, 40, 41, 44).
import { COMMON_LAYOUT } from '../../src/kernel/records/common.js';
import { PROCESS_LAYOUT, PROCESS_SIZES } from '../../src/kernel/records/process.js';
import { SECURITY_LAYOUT, SECURITY_SIZES } from '../../src/kernel/records/security.js';
import { WINDOWS_LAYOUT, WINDOWS_SIZES } from '../../src/kernel/windows/records.js';

const H = COMMON_LAYOUT.record_header;
const I = COMMON_LAYOUT.process_ids;

class Builder {
  private strings: Buffer[] = [];
  private used: number;
  constructor(readonly fixed: Buffer) { this.used = fixed.length; }
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

function ids(b: Buffer, at: number, pid: number, ppid: number, startKey: bigint): void {
  for (const f of ['uid', 'euid', 'gid', 'auid'] as const) b.writeUInt32LE(0xffffffff, at + I[f][0]);
  b.writeUInt32LE(1, at + I.sessionid[0]);
  b.writeUInt32LE(ppid, at + I.ppid[0]);
  b.writeBigUInt64LE(BigInt(pid) * 1000n, at + I.start_boot_ns[0]);
  b.writeBigUInt64LE(startKey, at + I.end_code[0]);
}

const u16 = (s: string): Buffer => Buffer.from(s, 'utf16le');

/** S-1-5-21-1-2-3-1001 as binary */
export const SID_BYTES = Buffer.from([1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xe9, 3, 0, 0]);

export function winProcess(pid: number, image: string, cmd: string): Buffer {
  const P = WINDOWS_LAYOUT.win_process_record;
  const b = header(WINDOWS_SIZES.win_process_record, 200, pid, 4004, 10n);
  ids(b, P.ids[0], pid, 4000, 0x0016000000000603n);
  b.writeBigUInt64LE(134090000000000000n, P.create_time[0]);
  b.writeBigUInt64LE(0xfa328n, P.logon_id[0]);
  b.writeUInt32LE(0x2000, P.integrity_rid[0]);
  b.writeUInt32LE(1, P.flags[0]);
  b.writeUInt32LE(4000, P.creating_pid[0]);
  b.writeUInt32LE(4004, P.creating_tid[0]);
  return new Builder(b).str(P.image[0], u16(image)).str(P.command_line[0], u16(cmd)).str(P.user_sid[0], SID_BYTES).done();
}

export function winFile(type: number, path: string, newPath = ''): Buffer {
  const F = WINDOWS_LAYOUT.win_file_record;
  const b = header(WINDOWS_SIZES.win_file_record, type, 5000, 5004, 20n);
  b.writeUInt32LE(1, F.op[0]);
  b.writeUInt32LE(0x20, F.attributes[0]);
  b.writeUInt32LE(2, F.create_result[0]);
  b.writeBigUInt64LE(134090000000000000n, F.creation_time[0]);
  return new Builder(b).str(F.path[0], u16(path)).str(F.new_path[0], u16(newPath)).done();
}

export function winReg(type: number, key: string, value: string, data: Buffer): Buffer {
  const R = WINDOWS_LAYOUT.win_reg_record;
  const b = header(WINDOWS_SIZES.win_reg_record, type, 6000, 6004, 30n);
  b.writeUInt32LE(16, R.op[0]);
  b.writeUInt32LE(4, R.value_type[0]);
  b.writeUInt32LE(data.length, R.data_size[0]);
  return new Builder(b).str(R.key[0], u16(key)).str(R.value[0], u16(value)).str(R.data[0], data).str(R.new_name[0], Buffer.alloc(0)).done();
}

export function winImage(pid: number, path: string, kernel: boolean): Buffer {
  const M = WINDOWS_LAYOUT.win_image_record;
  const b = header(WINDOWS_SIZES.win_image_record, 201, pid, 7004, 40n);
  b.writeBigUInt64LE(0x7ff600000000n, M.image_base[0]);
  b.writeBigUInt64LE(0x20000n, M.image_size[0]);
  b.writeUInt32LE((kernel ? 1 << 8 : 0) | (12 << 12) | (1 << 16), M.properties[0]);
  return new Builder(b).str(M.path[0], u16(path)).done();
}

export function exitRecord(pid: number, code: number): Buffer {
  const X = PROCESS_LAYOUT.exit_record;
  const b = header(PROCESS_SIZES.exit_record, 3, pid, pid + 4, 50n);
  ids(b, X.ids[0], pid, 4000, 0x16000000000603n);
  b.writeInt32LE(code, X.exit_code[0]);
  return b;
}

export function accessRecord(src: number, target: number, granted: number): Buffer {
  const A = SECURITY_LAYOUT.access_record;
  const T = SECURITY_LAYOUT.target_ids;
  const b = header(SECURITY_SIZES.access_record, 40, src, src + 4, 60n);
  ids(b, A.ids[0], src, 4000, 1n);
  b.writeUInt32LE(target, A.target[0] + T.tgid[0]);
  b.writeUInt32LE(0xffffffff, A.target[0] + T.uid[0]);
  b.writeUInt32LE(granted, A.granted[0]);
  b.writeUInt32LE(5, A.how[0]);
  return b;
}

export function injectRecord(src: number, target: number, tid: number, start: bigint): Buffer {
  const J = SECURITY_LAYOUT.inject_record;
  const T = SECURITY_LAYOUT.target_ids;
  const b = header(SECURITY_SIZES.inject_record, 41, src, src + 4, 70n);
  ids(b, J.ids[0], src, 4000, 1n);
  b.writeUInt32LE(target, J.target[0] + T.tgid[0]);
  b.writeUInt32LE(tid, J.target[0] + T.tid[0]);
  b.writeBigUInt64LE(start, J.start_address[0]);
  return b;
}

export function tamperRecord(pid: number): Buffer {
  const X = SECURITY_LAYOUT.tamper_record;
  const b = header(SECURITY_SIZES.tamper_record, 44, pid, pid + 4, 80n);
  ids(b, X.ids[0], pid, 4000, 1n);
  b.writeUInt32LE(1, X.kind[0]);
  b.writeUInt32LE(SECURITY_SIZES.tamper_record, X.exe[0]);   // empty, as the driver writes it
  return b;
}

export function stackRecord(of: Buffer, frames: bigint[]): Buffer {
  const S = WINDOWS_LAYOUT.win_stack_record;
  const b = Buffer.alloc(WINDOWS_SIZES.win_stack_record);
  of.copy(b, 0, 0, 24);
  b.writeUInt16LE(230, H.type[0]);
  b.writeUInt32LE(of.readUInt16LE(H.type[0]), S.for_type[0]);
  const f = Buffer.alloc(8 * frames.length);
  frames.forEach((x, i) => f.writeBigUInt64LE(x, 8 * i));
  return new Builder(b).str(S.frames[0], f).done();
}
