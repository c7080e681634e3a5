// Process family records (driver/linux/process.bpf.c): exec, fork, exit.
import { u64, i64 } from '../../kernel/records/u64.js';
import { COMMON_LAYOUT, need, checkRef, refPath, refCommandLine, slice, RecordFlag, type Header } from '../../kernel/records/common.js';
import { ENUMS, STRUCTS } from '../../kernel/generated/events-h.js';
import { startTicksOf } from '../../events/guid.js';
import type { TaskIds } from '../../events/processes.js';
import { u16, u32, i32 } from '../../kernel/records/le.js';

export const ProcessRecordType = {
  Exec: ENUMS.record_type.RECORD_PROCESS_EXEC,
  Fork: ENUMS.record_type.RECORD_PROCESS_FORK,
  Exit: ENUMS.record_type.RECORD_PROCESS_EXIT,
} as const;

export const PROCESS_LAYOUT = {
  exec_record: STRUCTS.exec_record.fields,
  fork_record: STRUCTS.fork_record.fields,
  exit_record: STRUCTS.exit_record.fields,
} as const;

export const PROCESS_SIZES = { exec_record: STRUCTS.exec_record.size, fork_record: STRUCTS.fork_record.size, exit_record: STRUCTS.exit_record.size } as const;

const I = COMMON_LAYOUT.process_ids;

/**
 * The record's process_ids as the process table reads them: the u64 start times as USER_HZ
 * ticks and end_codes as their low halves, read from the u32 words (no BigInt: readIds made 16
 * per record, ~400 heap bytes, and startTicks another division each).
 */
export function readTaskIds(b: Buffer, at: number): TaskIds {
  const start = at + I.start_boot_ns[0];
  const parentStart = at + I.parent_start_boot_ns[0];
  return {
    uid: u32(b, at + I.uid[0]),
    auid: u32(b, at + I.auid[0]),
    sessionid: u32(b, at + I.sessionid[0]),
    ppid: u32(b, at + I.ppid[0]),
    startTicks: startTicksOf(u32(b, start), u32(b, start + 4)),
    key: i32(b, at + I.end_code[0]), // signed: see guidKey
    parentStartTicks: startTicksOf(u32(b, parentStart), u32(b, parentStart + 4)),
    parentKey: i32(b, at + I.parent_end_code[0]),
  };
}

export interface ExecRecord extends Header {
  type: 1;
  ids: TaskIds;
  /** the task's start (boot ns): ProcessCreate's UtcTime */
  startBootNs: bigint;
  exe: string;
  cwd: string;
  /** argv joined by single spaces, as Sysmon logs CommandLine (argv is not used apart) */
  commandLine: string;
  /** controlling terminal: driver major << 20 | index; 0 without one */
  tty: number;
}
export interface ForkRecord extends Header {
  type: 2;
  ids: TaskIds;
}
export interface ExitRecord extends Header {
  type: 3;
  ids: TaskIds;
  exitCode: number;
}
export type ProcessRecord = ExecRecord | ForkRecord | ExitRecord;

/**
 * What only a kept ProcessCreate needs of an exec record: the cgroup it execs in (container
 * context) and the executable's inode as the kernel ran it (the hash cache key, with no stat).
 * Read from the record (already checked by the decoder) by the handler once the config keeps
 * the event, not decoded for every exec: four u64s are 16 BigInts, which events the config
 * drops (most of an exec storm with sysmon-modular) never read.
 */
export interface ExecKeptFacts {
  /** the cgroup v2 id the process execs in */
  cgroupId: bigint;
  exeFile: { dev: number; ino: bigint; size: bigint; mtimeNs: bigint };
}

/** The cgroup v2 id of ExecKeptFacts alone (the image's inode is read only when no memo has its hashes). */
export function readExecCgroupId(rec: Buffer): bigint {
  return u64(rec, PROCESS_LAYOUT.exec_record.cgroup_id[0]);
}

/** `rec`: an exec record PROCESS_DECODERS accepted */
export function readExecKeptFacts(rec: Buffer): ExecKeptFacts {
  const E = PROCESS_LAYOUT.exec_record;
  return {
    cgroupId: u64(rec, E.cgroup_id[0]),
    exeFile: {
      dev: u32(rec, E.exe_dev[0]),
      ino: u64(rec, E.exe_ino[0]),
      size: u64(rec, E.exe_size[0]),
      mtimeNs: i64(rec, E.exe_mtime_ns[0]),
    },
  };
}

export const PROCESS_DECODERS = {
  [ProcessRecordType.Exec]: (rec: Buffer): ExecRecord => {
    need(rec, PROCESS_SIZES.exec_record, 'exec');
    const E = PROCESS_LAYOUT.exec_record;
    // comm (the task name) is not used: its bounds are checked like every string ref's, no decode
    checkRef(rec, E.comm[0], 'comm');
    return {
      type: 1,
      flags: u16(rec, 2),
      bootNs: u64(rec, 8),
      tgid: u32(rec, 16),
      tid: u32(rec, 20),
      ids: readTaskIds(rec, E.ids[0]),
      startBootNs: u64(rec, E.ids[0] + I.start_boot_ns[0]),
      exe: refPath(rec, E.exe[0], 'exe'),
      cwd: refPath(rec, E.cwd[0], 'cwd'),
      commandLine: refCommandLine(rec, E.args[0], 'args'),
      tty: u32(rec, E.tty[0]),
    };
  },
  [ProcessRecordType.Fork]: (rec: Buffer): ForkRecord => {
    need(rec, PROCESS_SIZES.fork_record, 'fork');
    return {
      type: 2,
      flags: u16(rec, 2),
      bootNs: u64(rec, 8),
      tgid: u32(rec, 16),
      tid: u32(rec, 20),
      ids: readTaskIds(rec, PROCESS_LAYOUT.fork_record.ids[0]),
    };
  },
  [ProcessRecordType.Exit]: (rec: Buffer): ExitRecord => {
    need(rec, PROCESS_SIZES.exit_record, 'exit');
    const X = PROCESS_LAYOUT.exit_record;
    return {
      type: 3,
      flags: u16(rec, 2),
      bootNs: u64(rec, 8),
      tgid: u32(rec, 16),
      tid: u32(rec, 20),
      ids: readTaskIds(rec, X.ids[0]),
      exitCode: i32(rec, X.exit_code[0]),
    };
  },
};

/**
 * The exec record's exe path bytes as the kernel wrote them (components leaf first), the exact
 * key of the image's verdict (events.h pv_path_key); null when the path was truncated.
 */
export function execExeBytes(rec: Buffer): Buffer | null {
  if (u16(rec, 2) & RecordFlag.ExeTruncated) return null;
  return slice(rec, PROCESS_LAYOUT.exec_record.exe[0], 'exe');
}
