// Pipes family records (driver/linux/pipes.bpf.c, types 71-72): FIFO creation and opens
// (Sysmon 17/18 PipeEvent).
import { u64 } from '../../kernel/records/u64.js';
import { need, refPathInDir, type Header } from '../../kernel/records/common.js';
import { normalizePath } from '../file/records.js';
import { ENUMS, DEFINES, STRUCTS } from '../../kernel/generated/events-h.js';

const PIPE_TYPES = ENUMS.pipe_record_type;
export const PipeRecordType = { PipeCreate: PIPE_TYPES.RECORD_PIPE_CREATE, PipeOpen: PIPE_TYPES.RECORD_PIPE_OPEN } as const;
export const PipeOp = { Mknod: DEFINES.PIPE_OP_MKNOD, Open: DEFINES.PIPE_OP_OPEN } as const;

const P = STRUCTS.pipe_record.fields;

export interface PipeRecord extends Header {
  type: 71 | 72;
  cgroupId: bigint;
  op: number;
  flags: number;
  ino: bigint;
  /** absolute path of the FIFO */
  path: string;
}

function decodePipe(rec: Buffer): PipeRecord {
  need(rec, STRUCTS.pipe_record.size, 'pipe');
  const path = refPathInDir(rec, P.path[0], P.name[0], normalizePath);
  return {
    type: rec.readUInt16LE(0) as 71 | 72,
    bootNs: u64(rec, 8),
    tgid: rec.readUInt32LE(16),
    tid: rec.readUInt32LE(20),
    cgroupId: u64(rec, P.cgroup_id[0]),
    op: rec.readUInt32LE(P.op[0]),
    flags: rec.readUInt32LE(P.flags[0]),
    ino: u64(rec, P.ino[0]),
    path,
  };
}

export const PIPES_DECODERS = {
  [PipeRecordType.PipeCreate]: decodePipe,
  [PipeRecordType.PipeOpen]: decodePipe,
};
