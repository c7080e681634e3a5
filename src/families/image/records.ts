// Image family records (driver/linux/image.bpf.c, types 70-89): executable file mappings
// (Sysmon 7 ImageLoad) and cgroup migrations (the container context of src/events/containers.ts).
import { u64, i64 } from '../../kernel/records/u64.js';
import { decodeBytes } from '../../kernel/text.js';
import { need, slice, refPath, type Header } from '../../kernel/records/common.js';
import { ENUMS, DEFINES, STRUCTS } from '../../kernel/generated/events-h.js';
import { u16, u32 } from '../../kernel/records/le.js';

const IMAGE_TYPES = ENUMS.image_record_type;
export const ImageRecordType = { ImageLoad: IMAGE_TYPES.RECORD_IMAGE_LOAD, CgroupAttach: IMAGE_TYPES.RECORD_CGROUP_ATTACH } as const;
export const ImageVia = { Mmap: DEFINES.IMAGE_VIA_MMAP, Mprotect: DEFINES.IMAGE_VIA_MPROTECT } as const;

export const IMAGE_LAYOUT = {
  image_record: STRUCTS.image_record.fields,
  cgroup_record: STRUCTS.cgroup_record.fields,
} as const;

export const IMAGE_SIZES = { image_record: STRUCTS.image_record.size, cgroup_record: STRUCTS.cgroup_record.size } as const;

export interface ImageLoadRecord extends Header {
  type: 70;
  cgroupId: bigint;
  how: number;
  prot: number;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  dev: number;
  mode: number;
  /** absolute path of the mapped file */
  path: string;
}

export interface CgroupAttachRecord extends Header {
  type: 73;
  cgroupId: bigint;
  startBootNs: bigint;
  hierarchyId: number;
  threadgroup: boolean;
  /** the destination cgroup's path inside its hierarchy ("/system.slice/docker-<id>.scope") */
  path: string;
}

export type ImageFamilyRecord = ImageLoadRecord | CgroupAttachRecord;

const I = IMAGE_LAYOUT.image_record;
const C = IMAGE_LAYOUT.cgroup_record;

function decodeImage(rec: Buffer): ImageLoadRecord {
  need(rec, IMAGE_SIZES.image_record, 'image');
  return {
    type: 70,
    flags: u16(rec, 2),
    bootNs: u64(rec, 8),
    tgid: u32(rec, 16),
    tid: u32(rec, 20),
    cgroupId: u64(rec, I.cgroup_id[0]),
    how: u32(rec, I.how[0]),
    prot: u32(rec, I.prot[0]),
    ino: u64(rec, I.ino[0]),
    size: u64(rec, I.size[0]),
    mtimeNs: i64(rec, I.mtime_ns[0]),
    dev: u32(rec, I.dev[0]),
    mode: u32(rec, I.mode[0]),
    path: refPath(rec, I.path[0], 'path'),
  };
}

function decodeCgroup(rec: Buffer): CgroupAttachRecord {
  need(rec, IMAGE_SIZES.cgroup_record, 'cgroup');
  return {
    type: 73,
    flags: u16(rec, 2),
    bootNs: u64(rec, 8),
    tgid: u32(rec, 16),
    tid: u32(rec, 20),
    cgroupId: u64(rec, C.cgroup_id[0]),
    startBootNs: u64(rec, C.start_boot_ns[0]),
    hierarchyId: u32(rec, C.hierarchy_id[0]),
    threadgroup: u32(rec, C.threadgroup[0]) !== 0,
    path: decodeBytes(slice(rec, C.path[0], 'path')) || '/',
  };
}

export const IMAGE_DECODERS = {
  [ImageRecordType.ImageLoad]: decodeImage,
  [ImageRecordType.CgroupAttach]: decodeCgroup,
};

/** The ImageLoad record's path bytes as the kernel wrote them (pv_quiet_paths' key); null when truncated. */
export function imagePathBytes(rec: Buffer): Buffer | null {
  if (u16(rec, 2) & DEFINES.RECORD_FLAG_EXE_TRUNCATED) return null;
  return slice(rec, IMAGE_LAYOUT.image_record.path[0], 'path');
}
