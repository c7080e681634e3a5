// Byte offsets of the records in driver/include/events.h, as the TypeScript decoder reads
// them. test/kernel/layout.test.ts checks every entry against the compiled object's BTF.

export const RecordType = {
  ProcessExec: 1,
  ProcessFork: 2,
  ProcessExit: 3,
} as const;

export const RecordFlag = {
  ArgsTruncated: 1 << 0,
  ExeTruncated: 1 << 1,
  CwdTruncated: 1 << 2,
} as const;

/** struct name -> field name -> [offset, size] */
export const LAYOUT = {
  record_header: { type: [0, 2], flags: [2, 2], size: [4, 4], boot_ns: [8, 8], tgid: [16, 4], tid: [20, 4] },
  str_ref: { off: [0, 4], len: [4, 4] },
  process_ids: {
    uid: [0, 4], euid: [4, 4], gid: [8, 4], auid: [12, 4], sessionid: [16, 4], ppid: [20, 4],
    start_boot_ns: [24, 8], end_code: [32, 8], parent_start_boot_ns: [40, 8], parent_end_code: [48, 8],
  },
  exec_record: { hdr: [0, 24], ids: [24, 56], exe: [80, 8], cwd: [88, 8], args: [96, 8], comm: [104, 8] },
  fork_record: { hdr: [0, 24], ids: [24, 56] },
  exit_record: { hdr: [0, 24], ids: [24, 56], exit_code: [80, 4], _pad: [84, 4] },
} as const satisfies Record<string, Record<string, readonly [number, number]>>;

export const STRUCT_SIZES = {
  record_header: 24, str_ref: 8, process_ids: 56, exec_record: 112, fork_record: 80, exit_record: 88,
} as const;

export const HEADER_SIZE = STRUCT_SIZES.record_header;
