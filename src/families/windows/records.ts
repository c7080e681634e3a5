// Windows-only records (driver/include/events.h, "Windows driver" section, types 200-239):
// process creation, image loads, file system operations seen by the minifilter, registry.
// Their strings are UTF-16LE as the Windows kernel holds them (NT paths), SIDs binary.
// The Windows driver also writes Linux records whose fields carry over (exit 3, access 40,
// inject 41, tamper 44): the family decodes those with the security family's decoders and the
// exit with its own (WINDOWS_FAMILY_DECODERS). A file or registry record whose op does not belong to
// its type, or a stack record for another record than an access, is rejected (event 255).
import { u64 } from '../../kernel/records/u64.js';
import { DecodeError, need, readHeader, readIds, slice, type Header, type ProcessIds } from '../../kernel/records/common.js';
import { ENUMS, DEFINES, STRUCTS } from '../../kernel/generated/events-h.js';
import type { RecordsOf } from '../descriptor.js';
import { indexed, recordReader } from '../registry.js';
import { PROCESS_LAYOUT, PROCESS_SIZES, ProcessRecordType } from '../process/records.js';
import { SECURITY_DECODERS, SecurityRecordType } from '../security/records.js';

const TYPES = ENUMS.record_type;
export const WindowsRecordType = {
  ProcessCreate: TYPES.RECORD_WIN_PROCESS_CREATE,
  ImageLoad: TYPES.RECORD_WIN_IMAGE_LOAD,
  FileCreate: TYPES.RECORD_WIN_FILE_CREATE,
  FileDelete: TYPES.RECORD_WIN_FILE_DELETE,
  FileRawRead: TYPES.RECORD_WIN_FILE_RAW_READ,
  FileTime: TYPES.RECORD_WIN_FILE_TIME,
  FileRename: TYPES.RECORD_WIN_FILE_RENAME,
  FileStream: TYPES.RECORD_WIN_FILE_STREAM,
  RegKey: TYPES.RECORD_WIN_REG_KEY,
  RegValue: TYPES.RECORD_WIN_REG_VALUE,
  RegRename: TYPES.RECORD_WIN_REG_RENAME,
  Stack: TYPES.RECORD_WIN_STACK,
} as const;

/** access_record.how values the Windows driver writes (ObRegisterCallbacks post-operation). */
export const WinAccessVia = { Open: DEFINES.ACCESS_VIA_WIN_OPEN, Duplicate: DEFINES.ACCESS_VIA_WIN_DUPLICATE } as const;
export const WinProcFlag = {
  FileOpenName: DEFINES.WIN_PROC_FILE_OPEN_NAME,
  Subsystem: DEFINES.WIN_PROC_SUBSYSTEM,
  ImageDeletePending: DEFINES.WIN_PROC_IMAGE_DELETE_PENDING,
} as const;
export const WinFileOp = {
  Create: DEFINES.WIN_FILE_OP_CREATE,
  Disposition: DEFINES.WIN_FILE_OP_DISPOSITION,
  DeleteOnClose: DEFINES.WIN_FILE_OP_DELETE_ON_CLOSE,
  Rename: DEFINES.WIN_FILE_OP_RENAME,
  BasicInfo: DEFINES.WIN_FILE_OP_BASIC_INFO,
} as const;
/** win_reg_record.op: the REG_NOTIFY_CLASS the record comes from */
export const WinRegOp = { PreDeleteKey: 0, PreDeleteValueKey: 2, PreRenameKey: 4, PostSetValueKey: 16, PostCreateKeyEx: 27 } as const;
/** uid/euid/gid/auid in records written on Windows */
export const WIN_NO_ID = DEFINES.WIN_NO_ID;

export const WINDOWS_LAYOUT = {
  win_process_record: STRUCTS.win_process_record.fields,
  win_image_record: STRUCTS.win_image_record.fields,
  win_file_record: STRUCTS.win_file_record.fields,
  win_reg_record: STRUCTS.win_reg_record.fields,
  win_stack_record: STRUCTS.win_stack_record.fields,
  win_ring_producer: STRUCTS.win_ring_producer.fields,
  win_ring_info: STRUCTS.win_ring_info.fields,
} as const;

export const WINDOWS_SIZES = {
  win_process_record: STRUCTS.win_process_record.size,
  win_image_record: STRUCTS.win_image_record.size,
  win_file_record: STRUCTS.win_file_record.size,
  win_reg_record: STRUCTS.win_reg_record.size,
  win_stack_record: STRUCTS.win_stack_record.size,
  win_ring_producer: STRUCTS.win_ring_producer.size,
  win_ring_info: STRUCTS.win_ring_info.size,
} as const;

export interface WinProcessRecord extends Header {
  type: 200;
  /** of the new process (its pid is the header's tgid): sessionid = session, ppid = parent, endCode = process start key */
  ids: ProcessIds;
  /** FILETIME (100 ns since 1601, UTC) */
  createTime: bigint;
  logonId: bigint;
  integrityRid: number;
  flags: number;
  creatingPid: number;
  creatingTid: number;
  /** NT path (\Device\HarddiskVolume3\Windows\System32\cmd.exe) */
  image: string;
  commandLine: string;
  /** S-1-5-21-... ('' when the driver could not read the token) */
  userSid: string;
}

export interface WinImageRecord extends Header {
  type: 201;
  imageBase: bigint;
  imageSize: bigint;
  properties: number;
  /** a kernel-mode image: Sysmon 6 (DriverLoad) rather than 7 */
  systemModeImage: boolean;
  signatureLevel: number;
  signatureType: number;
  processStartKey: bigint;
  path: string;
}

export interface WinFileRecord extends Header {
  type: 210 | 211 | 212 | 213 | 214 | 215;
  op: number;
  attributes: number;
  createResult: number;
  desiredAccess: number;
  creationTime: bigint;
  prevCreationTime: bigint;
  processStartKey: bigint;
  path: string;
  /** rename: the new name; stream: the stream's name (":Zone.Identifier:$DATA") */
  newPath: string;
}

export interface WinRegRecord extends Header {
  type: 220 | 221 | 222;
  op: number;
  valueType: number;
  dataSize: number;
  processStartKey: bigint;
  key: string;
  value: string;
  /** the data's first bytes (at most 1024), copied out of the ring */
  data: Buffer;
  newName: string;
}

/** The user-mode return addresses of the record before it (same bootNs, tgid, tid): CallTrace. */
export interface WinStackRecord extends Header {
  type: 230;
  forType: number;
  /** innermost first */
  frames: bigint[];
}

export type WindowsRecord = WinProcessRecord | WinImageRecord | WinFileRecord | WinRegRecord | WinStackRecord;

function utf16(rec: Buffer, refAt: number, what: string): string {
  const b = slice(rec, refAt, what);
  if (b.length & 1) throw new DecodeError(`${what} string of ${b.length} bytes is not UTF-16`);
  return b.toString('utf16le');
}

/** A binary SID -> "S-1-5-21-..." ('' for an empty one). */
export function sidToString(b: Buffer): string {
  if (b.length === 0) return '';
  if (b.length < 8 || b.length !== 8 + 4 * b[1]!) throw new DecodeError(`SID of ${b.length} bytes with ${b[1]} sub-authorities`);
  const authority = b.readUIntBE(2, 6);
  let s = `S-${b[0]}-${authority}`;
  for (let i = 0; i < b[1]!; i++) s += `-${b.readUInt32LE(8 + 4 * i)}`;
  return s;
}

const P = WINDOWS_LAYOUT.win_process_record;
const I = WINDOWS_LAYOUT.win_image_record;
const F = WINDOWS_LAYOUT.win_file_record;
const R = WINDOWS_LAYOUT.win_reg_record;

/** the ops each record type may carry (driver/include/events.h) */
const FILE_OPS: Record<number, readonly number[]> = {
  [WindowsRecordType.FileCreate]: [WinFileOp.Create],
  [WindowsRecordType.FileDelete]: [WinFileOp.Disposition, WinFileOp.DeleteOnClose],
  [WindowsRecordType.FileRawRead]: [WinFileOp.Create],
  [WindowsRecordType.FileTime]: [WinFileOp.BasicInfo],
  [WindowsRecordType.FileRename]: [WinFileOp.Rename],
  [WindowsRecordType.FileStream]: [WinFileOp.Create],
};
const REG_OPS: Record<number, readonly number[]> = {
  [WindowsRecordType.RegKey]: [WinRegOp.PostCreateKeyEx, WinRegOp.PreDeleteKey],
  [WindowsRecordType.RegValue]: [WinRegOp.PostSetValueKey, WinRegOp.PreDeleteValueKey],
  [WindowsRecordType.RegRename]: [WinRegOp.PreRenameKey],
};

function checkOp(type: number, op: number, allowed: Record<number, readonly number[]>): void {
  if (!allowed[type]?.includes(op)) throw new DecodeError(`record type ${type} with op ${op}, which it never carries`);
}

function decodeFile(rec: Buffer): WinFileRecord {
  need(rec, WINDOWS_SIZES.win_file_record, 'windows file');
  checkOp(rec.readUInt16LE(0), rec.readUInt32LE(F.op[0]), FILE_OPS);
  return {
    type: rec.readUInt16LE(0) as WinFileRecord['type'],
    ...readHeader(rec),
    op: rec.readUInt32LE(F.op[0]),
    attributes: rec.readUInt32LE(F.attributes[0]),
    createResult: rec.readUInt32LE(F.create_result[0]),
    desiredAccess: rec.readUInt32LE(F.desired_access[0]),
    creationTime: u64(rec, F.creation_time[0]),
    prevCreationTime: u64(rec, F.prev_creation_time[0]),
    processStartKey: u64(rec, F.process_start_key[0]),
    path: utf16(rec, F.path[0], 'path'),
    newPath: utf16(rec, F.new_path[0], 'new path'),
  };
}

function decodeReg(rec: Buffer): WinRegRecord {
  need(rec, WINDOWS_SIZES.win_reg_record, 'windows registry');
  checkOp(rec.readUInt16LE(0), rec.readUInt32LE(R.op[0]), REG_OPS);
  return {
    type: rec.readUInt16LE(0) as WinRegRecord['type'],
    ...readHeader(rec),
    op: rec.readUInt32LE(R.op[0]),
    valueType: rec.readUInt32LE(R.value_type[0]),
    dataSize: rec.readUInt32LE(R.data_size[0]),
    processStartKey: u64(rec, R.process_start_key[0]),
    key: utf16(rec, R.key[0], 'key'),
    value: utf16(rec, R.value[0], 'value name'),
    data: Buffer.from(slice(rec, R.data[0], 'value data')),
    newName: utf16(rec, R.new_name[0], 'new key name'),
  };
}

export const WINDOWS_DECODERS = {
  [WindowsRecordType.ProcessCreate]: (rec: Buffer): WinProcessRecord => {
    need(rec, WINDOWS_SIZES.win_process_record, 'windows process');
    return {
      type: 200,
      ...readHeader(rec),
      ids: readIds(rec, P.ids[0]),
      createTime: u64(rec, P.create_time[0]),
      logonId: u64(rec, P.logon_id[0]),
      integrityRid: rec.readUInt32LE(P.integrity_rid[0]),
      flags: rec.readUInt32LE(P.flags[0]),
      creatingPid: rec.readUInt32LE(P.creating_pid[0]),
      creatingTid: rec.readUInt32LE(P.creating_tid[0]),
      image: utf16(rec, P.image[0], 'image'),
      commandLine: utf16(rec, P.command_line[0], 'command line'),
      userSid: sidToString(slice(rec, P.user_sid[0], 'user SID')),
    };
  },
  [WindowsRecordType.ImageLoad]: (rec: Buffer): WinImageRecord => {
    need(rec, WINDOWS_SIZES.win_image_record, 'windows image');
    const properties = rec.readUInt32LE(I.properties[0]);
    return {
      type: 201,
      ...readHeader(rec),
      imageBase: u64(rec, I.image_base[0]),
      imageSize: u64(rec, I.image_size[0]),
      properties,
      systemModeImage: (properties & (1 << 8)) !== 0,
      signatureLevel: (properties >>> 12) & 0xf,
      signatureType: (properties >>> 16) & 0x7,
      processStartKey: u64(rec, I.process_start_key[0]),
      path: utf16(rec, I.path[0], 'image path'),
    };
  },
  [WindowsRecordType.Stack]: (rec: Buffer): WinStackRecord => {
    need(rec, WINDOWS_SIZES.win_stack_record, 'windows stack');
    const S = WINDOWS_LAYOUT.win_stack_record;
    const b = slice(rec, S.frames[0], 'frames');
    if (b.length % 8) throw new DecodeError(`stack of ${b.length} bytes is not a list of u64 addresses`);
    const forType = rec.readUInt32LE(S.for_type[0]);
    if (forType !== SecurityRecordType.Access) throw new DecodeError(`stack record for record type ${forType}, only ${SecurityRecordType.Access} has one`);
    const frames: bigint[] = [];
    for (let i = 0; i < b.length; i += 8) frames.push(u64(b, i));
    return { type: 230, ...readHeader(rec), forType, frames };
  },
  [WindowsRecordType.FileCreate]: decodeFile,
  [WindowsRecordType.FileDelete]: decodeFile,
  [WindowsRecordType.FileRawRead]: decodeFile,
  [WindowsRecordType.FileTime]: decodeFile,
  [WindowsRecordType.FileRename]: decodeFile,
  [WindowsRecordType.FileStream]: decodeFile,
  [WindowsRecordType.RegKey]: decodeReg,
  [WindowsRecordType.RegValue]: decodeReg,
  [WindowsRecordType.RegRename]: decodeReg,
};

/**
 * The exit record (3) with its whole process_ids: the Windows table keys a process by end_code's
 * 64 bits (the driver's process start key), which the Linux decoder reads as its low half only.
 */
export interface WindowsExitRecord extends Header {
  type: 3;
  ids: ProcessIds;
  exitCode: number;
}

function decodeExit(rec: Buffer): WindowsExitRecord {
  need(rec, PROCESS_SIZES.exit_record, 'exit');
  const X = PROCESS_LAYOUT.exit_record;
  return { type: 3, ...readHeader(rec), ids: readIds(rec, X.ids[0]), exitCode: rec.readInt32LE(X.exit_code[0]) };
}

/** Every record the Windows driver writes: its own, and the Linux ones whose fields carry over. */
export const WINDOWS_FAMILY_DECODERS = {
  ...WINDOWS_DECODERS,
  [ProcessRecordType.Exit]: decodeExit,
  [SecurityRecordType.Access]: SECURITY_DECODERS[SecurityRecordType.Access],
  [SecurityRecordType.Inject]: SECURITY_DECODERS[SecurityRecordType.Inject],
  [SecurityRecordType.Tamper]: SECURITY_DECODERS[SecurityRecordType.Tamper],
};

export type WindowsDriverRecord = RecordsOf<typeof WINDOWS_FAMILY_DECODERS>;

const readWindowsRecord = recordReader(indexed(WINDOWS_FAMILY_DECODERS));

/** A record from the Windows driver's ring (header checked; DecodeError when it does not fit). */
export function decodeWindowsRecord(rec: Buffer): WindowsDriverRecord {
  return readWindowsRecord(rec) as WindowsDriverRecord;
}
