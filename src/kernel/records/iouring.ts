// io_uring family records (driver/linux/iouring.bpf.c): a file created by IORING_OP_OPENAT or
// IORING_OP_OPENAT2 (Sysmon 11). The record is a struct file_record exactly as file.bpf.c's
// FileCreate writes it, followed by the request's user_data and opcode: the file part is
// decoded by the file family's decoder.
import { FILE_DECODERS, FileRecordType, type FileRecord } from './file.js';
import { need } from './common.js';

export const IouringRecordType = { FileCreate: 90 } as const;

export const IouringOp = { OpenAt: 18, OpenAt2: 28 } as const;

export const IOURING_LAYOUT = {
  iouring_file_record: { file: [0, 96], user_data: [96, 8], opcode: [104, 4], _pad: [108, 4] },
} as const;

export const IOURING_SIZES = { iouring_file_record: 112 } as const;

export interface IouringFileRecord extends Omit<FileRecord, 'type'> {
  type: 90;
  /** the SQE's user_data */
  userData: bigint;
  /** IORING_OP_OPENAT (18) or IORING_OP_OPENAT2 (28) */
  opcode: number;
}

export type IouringRecord = IouringFileRecord;

const U = IOURING_LAYOUT.iouring_file_record;

function decodeIouringFile(rec: Buffer): IouringFileRecord {
  need(rec, IOURING_SIZES.iouring_file_record, 'io_uring file');
  // string refs are offsets from the record start: the file decoder reads them unchanged
  const file = FILE_DECODERS[FileRecordType.Create](rec);
  return {
    ...file,
    type: IouringRecordType.FileCreate,
    userData: rec.readBigUInt64LE(U.user_data[0]),
    opcode: rec.readUInt32LE(U.opcode[0]),
  };
}

export const IOURING_DECODERS = {
  [IouringRecordType.FileCreate]: decodeIouringFile,
};
