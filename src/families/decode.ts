// Raw Linux ring records -> typed records, through the decoders of every Linux family
// (src/families/linux.generated.ts). A record that does not fit its declared layout is rejected
// with DecodeError: the caller counts it, reports event 255 and skips it.
import type { RecordsOf } from './descriptor.js';
import { LINUX_FAMILIES } from './linux.generated.js';
import { recordReader, recordTable } from './registry.js';

export { DecodeError, joinPath, splitArgs, type ProcessIds } from '../kernel/records/common.js';
export type { ExecRecord, ExitRecord, ForkRecord } from './process/records.js';
export type { NetConnectRecord } from './network/records.js';

/** Every record a Linux family can produce (derived from the families' decoders). */
export type KernelRecord = RecordsOf<(typeof LINUX_FAMILIES)[number]['decoders']>;

/** Every Linux record type's decoder and handler, indexed by type (src/capture.ts). */
export const LINUX_RECORD_TABLE = recordTable(LINUX_FAMILIES);

const read = recordReader(LINUX_RECORD_TABLE.decoders);

/** `rec` must hold exactly one record (the ring's length prefix already removed). */
export function decodeRecord(rec: Buffer): KernelRecord {
  // the table was built from the same families KernelRecord is derived from
  return read(rec) as KernelRecord;
}
