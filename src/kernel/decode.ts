// Raw ring records (bytes laid out by driver/include/events.h) -> typed records, through
// each family's decoders. A record that does not fit its declared layout is rejected with
// DecodeError: the caller counts it, reports event 255 and skips it.
import { DecodeError, HEADER_SIZE, COMMON_LAYOUT } from './records/common.js';
import { PROCESS_DECODERS, type ProcessRecord } from './records/process.js';
import { SECURITY_DECODERS, type SecurityRecord } from './records/security.js';
import { FILE_DECODERS, type FileRecord } from './records/file.js';
import { NETWORK_DECODERS, type NetworkRecord } from './records/network.js';
import { DNS_DECODERS, type DnsRecord } from './records/dns.js';
import { IMAGE_DECODERS, type ImageFamilyRecord } from './records/image.js';
import { IOURING_DECODERS, type IouringRecord } from './records/iouring.js';

export { DecodeError, joinPath, splitArgs, type ProcessIds } from './records/common.js';
export type { ExecRecord, ExitRecord, ForkRecord } from './records/process.js';
export type { NetConnectRecord } from './records/network.js';

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
