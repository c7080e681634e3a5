// File family records (driver/linux/file.bpf.c): create (Sysmon 11), delete (23/26), raw
// block-device read (9), mtime set back (2). One layout, struct file_record, for all four.
import { posix } from 'node:path';
import { decodeBytes } from '../../events/text.js';
import { need, slice, joinPath, type Header } from './common.js';

export const FileRecordType = { Create: 20, Delete: 21, RawRead: 22, Time: 23 } as const;

export const FileOp = {
  Open: 1, OpenAt: 2, OpenAt2: 3, Creat: 4, Rename: 5, Link: 6, Mknod: 7,
  Unlink: 8, Rmdir: 9, Utimensat: 10, Utimes: 11, Utime: 12,
} as const;

export const FileInfo = { Inode: 1 << 0, PrevTime: 1 << 1 } as const;
export const FileRecordFlag = { PathTruncated: 1 << 8, NameTruncated: 1 << 9 } as const;

export const FILE_LAYOUT = {
  file_record: {
    hdr: [0, 24], op: [24, 4], info: [28, 4], mode: [32, 4], dev: [36, 4], ino: [40, 8], size: [48, 8],
    nlink: [56, 4], rdev: [60, 4], mtime_ns: [64, 8], new_time_ns: [72, 8], path: [80, 8], name: [88, 8],
  },
} as const;

export const FILE_SIZES = { file_record: 96 } as const;

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
  const s = name.startsWith('/') ? name : `${dir}/${name}`;
  // already normal (no empty, '.' or '..' component, no trailing slash): normalize would return it unchanged
  if (s.length > 1 && s.charCodeAt(0) === 47 && !s.includes('//') && !s.includes('/.') && !s.endsWith('/')) return s;
  return posix.normalize(s).replace(/(.)\/$/, '$1');
}

/**
 * The absolute path of a record that carries a name and a directory (common.bpf.h's
 * write_name_in_dir): the directory's own components when there is no name.
 */
export function pathOfNameInDir(pathBytes: Buffer, nameBytes: Buffer): string {
  if (nameBytes.length === 0) return joinPath(pathBytes);
  const name = decodeBytes(nameBytes);
  return resolveName(name.startsWith('/') ? '/' : joinPath(pathBytes), name);
}

function decodeFile(rec: Buffer): FileRecord {
  need(rec, FILE_SIZES.file_record, 'file');
  const type = rec.readUInt16LE(0) as FileRecord['type'];
  const path = pathOfNameInDir(slice(rec, F.path[0], 'path'), slice(rec, F.name[0], 'name'));
  return {
    type, flags: rec.readUInt16LE(2), bootNs: rec.readBigUInt64LE(8), tgid: rec.readUInt32LE(16), tid: rec.readUInt32LE(20),
    op: rec.readUInt32LE(F.op[0]),
    info: rec.readUInt32LE(F.info[0]),
    mode: rec.readUInt32LE(F.mode[0]),
    dev: rec.readUInt32LE(F.dev[0]),
    ino: rec.readBigUInt64LE(F.ino[0]),
    size: rec.readBigUInt64LE(F.size[0]),
    nlink: rec.readUInt32LE(F.nlink[0]),
    rdev: rec.readUInt32LE(F.rdev[0]),
    mtimeNs: rec.readBigInt64LE(F.mtime_ns[0]),
    newTimeNs: rec.readBigInt64LE(F.new_time_ns[0]),
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

/** file.bpf.c's programs -> the Sysmon events they exist for (src/kernel/programs.ts). */
export const FILE_PROGRAM_EVENTS: Record<string, readonly number[]> = Object.fromEntries([
  ...['open', 'openat', 'openat2', 'creat'].map((s) => [`file_create_x_${s}`, [11]]),
  ...['rename', 'renameat', 'renameat2', 'link', 'linkat', 'mknod', 'mknodat']
    .flatMap((s) => [[`file_create_e_${s}`, [11]], [`file_create_x_${s}`, [11]]]),
  ...['open', 'openat', 'openat2'].map((s) => [`file_raw_x_${s}`, [9]]),
  ...['unlink', 'unlinkat', 'rmdir'].map((s) => [`file_delete_x_${s}`, [23, 26]]),
  ['file_delete_ext4_unlink', [23, 26]],
  ...['utimensat', 'utimes', 'futimesat', 'utime'].flatMap((s) => [[`file_time_e_${s}`, [2]], [`file_time_x_${s}`, [2]]]),
]) as Record<string, readonly number[]>;
