// Byte offsets of every record in driver/include/events.h, as the TypeScript decoders read
// them, gathered from each family. test/kernel/layout.test.ts checks every entry against
// the compiled objects' BTF. A new family adds its layout here.
import { COMMON_LAYOUT, COMMON_SIZES } from './records/common.js';
import { PROCESS_LAYOUT, PROCESS_SIZES } from './records/process.js';
import { SECURITY_LAYOUT, SECURITY_SIZES } from './records/security.js';
import { FILE_LAYOUT, FILE_SIZES } from './records/file.js';
import { NETWORK_LAYOUT, NETWORK_SIZES } from './records/network.js';
import { DNS_LAYOUT, DNS_SIZES } from './records/dns.js';
import { IMAGE_LAYOUT, IMAGE_SIZES } from './records/image.js';
import { IOURING_LAYOUT, IOURING_SIZES } from './records/iouring.js';

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
  ArgsTruncated: 1 << 0,
  ExeTruncated: 1 << 1,
  CwdTruncated: 1 << 2,
  /** exec: in exactly the parent's cgroups (same css_set), every hierarchy */
  ParentCgroups: 1 << 3,
} as const;
