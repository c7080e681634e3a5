// How a record family turns its kernel records into Sysmon events. Each family's module
// exports a RecordHandlers table keyed by record type; src/capture.ts merges them.
import type { KernelRecord } from '../kernel/decode.js';
import type { SysmonEvent } from './event.js';
import type { ProcessTable } from './processes.js';

export interface CaptureContext {
  readonly processes: ProcessTable;
  /** kernel boot-clock ns -> Unix ns */
  timeNs(bootNs: bigint): bigint;
}

export type RecordHandler = (rec: KernelRecord, ctx: CaptureContext, out: SysmonEvent[]) => void;
export type RecordHandlers = Record<number, RecordHandler>;
