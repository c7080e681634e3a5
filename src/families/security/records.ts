// Security family records (driver/linux/security.bpf.c): cross-process access (ptrace,
// process_vm_readv/writev, /proc/PID/mem), ptrace code injection, eBPF program loads,
// kernel module loads, and images that lost their last link (memfd, deleted, replaced).
import { u64, i64 } from '../../kernel/records/u64.js';
import { decodeBytes } from '../../kernel/text.js';
import { need, readIds, slice, joinPath, type Header, type ProcessIds } from '../../kernel/records/common.js';
import { ENUMS, DEFINES, STRUCTS } from '../../kernel/generated/events-h.js';

export const SecurityRecordType = {
  Access: ENUMS.record_type.RECORD_PROCESS_ACCESS,
  Inject: ENUMS.record_type.RECORD_REMOTE_THREAD,
  BpfLoad: ENUMS.record_type.RECORD_BPF_PROG_LOAD,
  ModuleLoad: ENUMS.record_type.RECORD_MODULE_LOAD,
  Tamper: ENUMS.record_type.RECORD_TAMPER,
} as const;

/** access_record.how */
export const AccessVia = {
  Ptrace: DEFINES.ACCESS_VIA_PTRACE,
  VmReadv: DEFINES.ACCESS_VIA_VM_READV,
  VmWritev: DEFINES.ACCESS_VIA_VM_WRITEV,
  ProcMem: DEFINES.ACCESS_VIA_PROC_MEM,
} as const;
/** tamper_record.kind */
export const TamperKind = { ExecUnlinked: DEFINES.TAMPER_EXEC_UNLINKED, ExitUnlinked: DEFINES.TAMPER_EXIT_UNLINKED } as const;

export const SECURITY_LAYOUT = {
  target_ids: STRUCTS.target_ids.fields,
  access_record: STRUCTS.access_record.fields,
  inject_record: STRUCTS.inject_record.fields,
  bpf_load_record: STRUCTS.bpf_load_record.fields,
  module_record: STRUCTS.module_record.fields,
  tamper_record: STRUCTS.tamper_record.fields,
} as const;

export const SECURITY_SIZES = {
  target_ids: STRUCTS.target_ids.size,
  access_record: STRUCTS.access_record.size,
  inject_record: STRUCTS.inject_record.size,
  bpf_load_record: STRUCTS.bpf_load_record.size,
  module_record: STRUCTS.module_record.size,
  tamper_record: STRUCTS.tamper_record.size,
} as const;

export interface TargetIds {
  tgid: number;
  tid: number;
  uid: number;
  startBootNs: bigint;
  endCode: bigint;
}

export interface AccessRecord extends Header {
  type: 40;
  ids: ProcessIds;
  target: TargetIds;
  granted: number;
  how: number;
  request: bigint;
}
export interface InjectRecord extends Header {
  type: 41;
  ids: ProcessIds;
  target: TargetIds;
  startAddress: bigint;
  request: bigint;
}
export interface BpfLoadRecord extends Header {
  type: 42;
  ids: ProcessIds;
  cmd: number;
  progType: number;
  progId: number;
  name: string;
}
export interface ModuleRecord extends Header {
  type: 43;
  ids: ProcessIds;
  finit: boolean;
  fd: number;
  len: bigint;
  ino: bigint;
  dev: number;
  moduleFlags: number;
  /** finit_module: the .ko's path; '' for init_module (image from memory) */
  path: string;
  params: string;
}
export interface TamperRecord extends Header {
  type: 44;
  ids: ProcessIds;
  kind: number;
  nlink: number;
  ino: bigint;
  dev: number;
  exe: string;
}
export type SecurityRecord = AccessRecord | InjectRecord | BpfLoadRecord | ModuleRecord | TamperRecord;

const T = SECURITY_LAYOUT.target_ids;

function readTarget(b: Buffer, at: number): TargetIds {
  return {
    tgid: b.readUInt32LE(at + T.tgid[0]),
    tid: b.readUInt32LE(at + T.tid[0]),
    uid: b.readUInt32LE(at + T.uid[0]),
    startBootNs: u64(b, at + T.start_boot_ns[0]),
    endCode: u64(b, at + T.end_code[0]),
  };
}

export const SECURITY_DECODERS = {
  [SecurityRecordType.Access]: (rec: Buffer): AccessRecord => {
    need(rec, SECURITY_SIZES.access_record, 'access');
    const A = SECURITY_LAYOUT.access_record;
    return {
      type: 40,
      flags: rec.readUInt16LE(2),
      bootNs: u64(rec, 8),
      tgid: rec.readUInt32LE(16),
      tid: rec.readUInt32LE(20),
      ids: readIds(rec, A.ids[0]),
      target: readTarget(rec, A.target[0]),
      granted: rec.readUInt32LE(A.granted[0]),
      how: rec.readUInt32LE(A.how[0]),
      request: i64(rec, A.request[0]),
    };
  },
  [SecurityRecordType.Inject]: (rec: Buffer): InjectRecord => {
    need(rec, SECURITY_SIZES.inject_record, 'inject');
    const I = SECURITY_LAYOUT.inject_record;
    return {
      type: 41,
      flags: rec.readUInt16LE(2),
      bootNs: u64(rec, 8),
      tgid: rec.readUInt32LE(16),
      tid: rec.readUInt32LE(20),
      ids: readIds(rec, I.ids[0]),
      target: readTarget(rec, I.target[0]),
      startAddress: u64(rec, I.start_address[0]),
      request: i64(rec, I.request[0]),
    };
  },
  [SecurityRecordType.BpfLoad]: (rec: Buffer): BpfLoadRecord => {
    need(rec, SECURITY_SIZES.bpf_load_record, 'bpf load');
    const B = SECURITY_LAYOUT.bpf_load_record;
    return {
      type: 42,
      flags: rec.readUInt16LE(2),
      bootNs: u64(rec, 8),
      tgid: rec.readUInt32LE(16),
      tid: rec.readUInt32LE(20),
      ids: readIds(rec, B.ids[0]),
      cmd: rec.readUInt32LE(B.cmd[0]),
      progType: rec.readUInt32LE(B.prog_type[0]),
      progId: rec.readUInt32LE(B.prog_id[0]),
      name: decodeBytes(slice(rec, B.name[0], 'program name')),
    };
  },
  [SecurityRecordType.ModuleLoad]: (rec: Buffer): ModuleRecord => {
    need(rec, SECURITY_SIZES.module_record, 'module');
    const M = SECURITY_LAYOUT.module_record;
    const finit = rec.readUInt32LE(M.finit[0]) !== 0;
    const path = slice(rec, M.path[0], 'module path');
    return {
      type: 43,
      flags: rec.readUInt16LE(2),
      bootNs: u64(rec, 8),
      tgid: rec.readUInt32LE(16),
      tid: rec.readUInt32LE(20),
      ids: readIds(rec, M.ids[0]),
      finit,
      fd: rec.readInt32LE(M.fd[0]),
      len: u64(rec, M.len[0]),
      ino: u64(rec, M.ino[0]),
      dev: rec.readUInt32LE(M.dev[0]),
      moduleFlags: rec.readUInt32LE(M.flags[0]),
      path: finit && path.length > 0 ? joinPath(path) : '',
      params: decodeBytes(slice(rec, M.params[0], 'module params')),
    };
  },
  [SecurityRecordType.Tamper]: (rec: Buffer): TamperRecord => {
    need(rec, SECURITY_SIZES.tamper_record, 'tamper');
    const X = SECURITY_LAYOUT.tamper_record;
    return {
      type: 44,
      flags: rec.readUInt16LE(2),
      bootNs: u64(rec, 8),
      tgid: rec.readUInt32LE(16),
      tid: rec.readUInt32LE(20),
      ids: readIds(rec, X.ids[0]),
      kind: rec.readUInt32LE(X.kind[0]),
      nlink: rec.readUInt32LE(X.nlink[0]),
      ino: u64(rec, X.ino[0]),
      dev: rec.readUInt32LE(X.dev[0]),
      exe: joinPath(slice(rec, X.exe[0], 'exe')),
    };
  },
};
