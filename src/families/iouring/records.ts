// io_uring family records (driver/linux/iouring.bpf.c): a file created by IORING_OP_OPENAT or
// IORING_OP_OPENAT2 (Sysmon 11), and the UNLINKAT/RENAMEAT/LINKAT name operations as two
// records (the request at submission, its result at completion). The file-like records are a
// struct file_record exactly as file.bpf.c writes it, followed by the request's fields: the
// file part is decoded by the file family's decoder.
import { u64 } from '../../kernel/records/u64.js';
import { FILE_DECODERS, FileRecordType, type FileRecord } from '../file/records.js';
import { need, type Header } from '../../kernel/records/common.js';
import { ENUMS, STRUCTS } from '../../kernel/generated/events-h.js';

const IOURING_TYPES = ENUMS.iouring_record_type;
export const IouringRecordType = {
  FileCreate: IOURING_TYPES.RECORD_IOURING_FILE_CREATE,
  NameOp: IOURING_TYPES.RECORD_IOURING_NAME_OP,
  Result: IOURING_TYPES.RECORD_IOURING_RESULT,
} as const;

export const IouringOp = { OpenAt: 18, OpenAt2: 28, RenameAt: 35, UnlinkAt: 36, LinkAt: 39 } as const;

export const IOURING_LAYOUT = {
  iouring_file_record: STRUCTS.iouring_file_record.fields,
  iouring_name_record: STRUCTS.iouring_name_record.fields,
  iouring_result_record: STRUCTS.iouring_result_record.fields,
} as const;

export const IOURING_SIZES = {
  iouring_file_record: STRUCTS.iouring_file_record.size,
  iouring_name_record: STRUCTS.iouring_name_record.size,
  iouring_result_record: STRUCTS.iouring_result_record.size,
} as const;

export interface IouringFileRecord extends Omit<FileRecord, 'type'> {
  type: 90;
  /** the SQE's user_data */
  userData: bigint;
  /** IORING_OP_OPENAT (18) or IORING_OP_OPENAT2 (28) */
  opcode: number;
}

/**
 * An UNLINKAT/RENAMEAT/LINKAT request as submitted: op FileOp.Unlink/Rmdir (a delete) or
 * Rename/Link (the new name is created), path the absolute (new) name. No inode facts.
 */
export interface IouringNameRecord extends Omit<FileRecord, 'type'> {
  type: 91;
  userData: bigint;
  /** the request's kernel address, joining the IouringResultRecord */
  request: bigint;
  opcode: number;
}

/** The completion of a name operation's request: res 0 or -errno. */
export interface IouringResultRecord extends Header {
  type: 92;
  userData: bigint;
  request: bigint;
  opcode: number;
  res: number;
}

export type IouringRecord = IouringFileRecord | IouringNameRecord | IouringResultRecord;

const U = IOURING_LAYOUT.iouring_file_record;

function decodeIouringFile(rec: Buffer): IouringFileRecord {
  need(rec, IOURING_SIZES.iouring_file_record, 'io_uring file');
  // string refs are offsets from the record start: the file decoder reads them unchanged
  const file = FILE_DECODERS[FileRecordType.Create](rec);
  return {
    ...file,
    type: IouringRecordType.FileCreate,
    userData: u64(rec, U.user_data[0]),
    opcode: rec.readUInt32LE(U.opcode[0]),
  };
}

const N = IOURING_LAYOUT.iouring_name_record;

function decodeIouringName(rec: Buffer): IouringNameRecord {
  need(rec, IOURING_SIZES.iouring_name_record, 'io_uring name operation');
  const file = FILE_DECODERS[FileRecordType.Create](rec);
  return {
    ...file,
    type: IouringRecordType.NameOp,
    userData: u64(rec, N.user_data[0]),
    request: u64(rec, N.request[0]),
    opcode: rec.readUInt32LE(N.opcode[0]),
  };
}

const R = IOURING_LAYOUT.iouring_result_record;

function decodeIouringResult(rec: Buffer): IouringResultRecord {
  need(rec, IOURING_SIZES.iouring_result_record, 'io_uring result');
  return {
    type: IouringRecordType.Result,
    flags: rec.readUInt16LE(2),
    bootNs: u64(rec, 8),
    tgid: rec.readUInt32LE(16),
    tid: rec.readUInt32LE(20),
    userData: u64(rec, R.user_data[0]),
    request: u64(rec, R.request[0]),
    opcode: rec.readUInt32LE(R.opcode[0]),
    res: rec.readInt32LE(R.res[0]),
  };
}

export const IOURING_DECODERS = {
  [IouringRecordType.FileCreate]: decodeIouringFile,
  [IouringRecordType.NameOp]: decodeIouringName,
  [IouringRecordType.Result]: decodeIouringResult,
};
