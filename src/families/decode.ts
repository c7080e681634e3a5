// Raw ring records (bytes laid out by driver/include/events.h) -> typed records, through
// each family's decoders. A record that does not fit its declared layout is rejected with
// DecodeError: the caller counts it, reports event 255 and skips it.
import { DecodeError, HEADER_SIZE, COMMON_LAYOUT } from '../kernel/records/common.js';
import { PROCESS_DECODERS, type ProcessRecord } from './process/records.js';
import { SECURITY_DECODERS, type SecurityRecord } from './security/records.js';
import { FILE_DECODERS, type FileRecord } from './file/records.js';
import { NETWORK_DECODERS, type NetworkRecord } from './network/records.js';
import { DNS_DECODERS, type DnsRecord } from './dns/records.js';
import { IMAGE_DECODERS, type ImageFamilyRecord } from './image/records.js';
import { IOURING_DECODERS, type IouringRecord } from './iouring/records.js';

export { DecodeError, joinPath, splitArgs, type ProcessIds } from '../kernel/records/common.js';
export type { ExecRecord, ExitRecord, ForkRecord } from './process/records.js';
export type { NetConnectRecord } from './network/records.js';

/** Every record any family can produce; a new family adds its union here. */
export type KernelRecord = ProcessRecord | SecurityRecord | NetworkRecord | FileRecord | ImageFamilyRecord | DnsRecord | IouringRecord;

/** The decoder of every Linux record type, by type */
export const DECODERS: Readonly<Record<number, (rec: Buffer) => KernelRecord>> = {
  ...PROCESS_DECODERS,
  ...SECURITY_DECODERS,
  ...FILE_DECODERS,
  ...NETWORK_DECODERS,
  ...IMAGE_DECODERS,
  ...DNS_DECODERS,
  ...IOURING_DECODERS,
};

/** `rec` must hold exactly one record (the ring's length prefix already removed). */
export function decodeRecord(rec: Buffer): KernelRecord {
  if (rec.length < HEADER_SIZE) throw new DecodeError(`record of ${rec.length} bytes is shorter than its header`);
  const type = rec.readUInt16LE(COMMON_LAYOUT.record_header.type[0]);
  const size = rec.readUInt32LE(COMMON_LAYOUT.record_header.size[0]);
  if (size !== rec.length) throw new DecodeError(`record type ${type} says ${size} bytes but the ring holds ${rec.length}`);
  const decode = DECODERS[type];
  if (!decode) throw new DecodeError(`unknown record type ${type} (${rec.length} bytes)`);
  return decode(rec);
}
