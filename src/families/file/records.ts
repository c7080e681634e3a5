// File family records (driver/linux/file.bpf.c): create (Sysmon 11), delete (23/26), raw
// block-device read (9), mtime set back (2). One layout, struct file_record, for all four.
import { u64, i64 } from '../../kernel/records/u64.js';
import { posix } from 'node:path';
import { need, refPathInDir, type Header } from '../../kernel/records/common.js';
import { ENUMS, DEFINES, STRUCTS } from '../../kernel/generated/events-h.js';
import { u16, u32 } from '../../kernel/records/le.js';

export const FileRecordType = {
  Create: ENUMS.record_type.RECORD_FILE_CREATE,
  Delete: ENUMS.record_type.RECORD_FILE_DELETE,
  RawRead: ENUMS.record_type.RECORD_FILE_RAW_READ,
  Time: ENUMS.record_type.RECORD_FILE_TIME,
} as const;

const O = ENUMS.file_op;
export const FileOp = {
  Open: O.FILE_OP_OPEN,
  OpenAt: O.FILE_OP_OPENAT,
  OpenAt2: O.FILE_OP_OPENAT2,
  Creat: O.FILE_OP_CREAT,
  Rename: O.FILE_OP_RENAME,
  Link: O.FILE_OP_LINK,
  Mknod: O.FILE_OP_MKNOD,
  Unlink: O.FILE_OP_UNLINK,
  Rmdir: O.FILE_OP_RMDIR,
  Utimensat: O.FILE_OP_UTIMENSAT,
  Utimes: O.FILE_OP_UTIMES,
  Utime: O.FILE_OP_UTIME,
} as const;

export const FileInfo = { Inode: DEFINES.FILE_INFO_INODE, PrevTime: DEFINES.FILE_INFO_PREV_TIME } as const;
export const FileRecordFlag = { PathTruncated: DEFINES.RECORD_FLAG_PATH_TRUNCATED, NameTruncated: DEFINES.RECORD_FLAG_NAME_TRUNCATED } as const;

export const FILE_LAYOUT = {
  file_record: STRUCTS.file_record.fields,
} as const;

export const FILE_SIZES = { file_record: STRUCTS.file_record.size } as const;

export interface FileRecord extends Header {
  type: 20 | 21 | 22 | 23;
  op: number;
  info: number;
  /** inode fields, valid when info & FileInfo.Inode */
  mode: number;
  /** kernel dev_t of the filesystem (MAJOR << 20 | MINOR) */
  dev: number;
  ino: bigint;
  size: bigint;
  nlink: number;
  /** block device (raw reads), kernel dev_t */
  rdev: number;
  mtimeNs: bigint;
  newTimeNs: bigint;
  /** absolute path of the file (the kernel walked it, or joined a directory and the name) */
  path: string;
}

const F = FILE_LAYOUT.file_record;

/** "a/../b" against "/dir" -> "/b"; absolute names stand alone. Lexical: `..` after a symlink is not resolved. */
export function resolveName(dir: string, name: string): string {
  return normalizePath(name.startsWith('/') ? name : `${dir}/${name}`);
}

/** resolveName's lexical normalization of a joined path */
export function normalizePath(s: string): string {
  // already normal (no empty, '.' or '..' component, no trailing slash): normalize would return it unchanged
  if (s.length > 1 && s.charCodeAt(0) === 47 && !s.includes('//') && !s.includes('/.') && !s.endsWith('/')) return s;
  return posix.normalize(s).replace(/(.)\/$/, '$1');
}

function decodeFile(rec: Buffer): FileRecord {
  need(rec, FILE_SIZES.file_record, 'file');
  const type = u16(rec, 0) as FileRecord['type'];
  const path = refPathInDir(rec, F.path[0], F.name[0], normalizePath);
  return {
    type,
    flags: u16(rec, 2),
    bootNs: u64(rec, 8),
    tgid: u32(rec, 16),
    tid: u32(rec, 20),
    op: u32(rec, F.op[0]),
    info: u32(rec, F.info[0]),
    mode: u32(rec, F.mode[0]),
    dev: u32(rec, F.dev[0]),
    ino: u64(rec, F.ino[0]),
    size: u64(rec, F.size[0]),
    nlink: u32(rec, F.nlink[0]),
    rdev: u32(rec, F.rdev[0]),
    mtimeNs: i64(rec, F.mtime_ns[0]),
    newTimeNs: i64(rec, F.new_time_ns[0]),
    path,
  };
}

export const FILE_DECODERS = {
  [FileRecordType.Create]: decodeFile,
  [FileRecordType.Delete]: decodeFile,
  [FileRecordType.RawRead]: decodeFile,
  [FileRecordType.Time]: decodeFile,
};

/** Kernel dev_t (MAJOR << 20 | MINOR) -> the st_dev userspace stat() reports (new_encode_dev). */
export function userDev(kdev: number): number {
  const major = kdev >>> 20;
  const minor = kdev & 0xfffff;
  return (minor & 0xff) + major * 0x100 + (minor >>> 8) * 0x100000;
}
