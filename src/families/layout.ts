// The layouts every family's decoder reads, gathered: each comes from
// src/kernel/generated/events-h.ts (`npm run gen` from driver/include/events.h).
import { COMMON_LAYOUT, COMMON_SIZES } from '../kernel/records/common.js';
import { PROCESS_LAYOUT, PROCESS_SIZES } from './process/records.js';
import { SECURITY_LAYOUT, SECURITY_SIZES } from './security/records.js';
import { FILE_LAYOUT, FILE_SIZES } from './file/records.js';
import { NETWORK_LAYOUT, NETWORK_SIZES } from './network/records.js';
import { DNS_LAYOUT, DNS_SIZES } from './dns/records.js';
import { IMAGE_LAYOUT, IMAGE_SIZES } from './image/records.js';
import { IOURING_LAYOUT, IOURING_SIZES } from './iouring/records.js';
import { DEFINES } from '../kernel/generated/events-h.js';

export const LAYOUT: Record<string, Record<string, readonly [number, number]>> = {
  ...COMMON_LAYOUT,
  ...PROCESS_LAYOUT,
  ...SECURITY_LAYOUT,
  ...FILE_LAYOUT,
  ...NETWORK_LAYOUT,
  ...DNS_LAYOUT,
  ...IMAGE_LAYOUT,
  ...IOURING_LAYOUT,
};

export const STRUCT_SIZES: Record<string, number> = {
  ...COMMON_SIZES,
  ...PROCESS_SIZES,
  ...SECURITY_SIZES,
  ...FILE_SIZES,
  ...NETWORK_SIZES,
  ...DNS_SIZES,
  ...IMAGE_SIZES,
  ...IOURING_SIZES,
};

export const RecordFlag = {
  ArgsTruncated: DEFINES.RECORD_FLAG_ARGS_TRUNCATED,
  ExeTruncated: DEFINES.RECORD_FLAG_EXE_TRUNCATED,
  CwdTruncated: DEFINES.RECORD_FLAG_CWD_TRUNCATED,
  /** exec: in exactly the parent's cgroups (same css_set), every hierarchy */
  ParentCgroups: DEFINES.RECORD_FLAG_PARENT_CGROUPS,
} as const;
