// How a record family turns its kernel records into Sysmon events. Each family's module
// exports a RecordHandlers table keyed by record type; src/capture.ts merges them.
import type { KernelRecord } from './decode.js';
import type { SysmonEvent } from '../events/event.js';
import type { ProcessTable } from '../events/processes.js';

export interface CaptureContext {
  readonly processes: ProcessTable;
  /** kernel boot-clock ns -> Unix ns */
  timeNs(bootNs: bigint): bigint;
  /**
   * Holds back the current batch of events until `work` settles (e.g. hashing a file off
   * the main thread fills a field of an event already in `out`). Batches stay in order;
   * `work` must settle in bounded time and must not reject (fill '-' on failure instead).
   */
  defer(work: Promise<unknown>): void;
}

export type RecordHandler = (rec: KernelRecord, ctx: CaptureContext, out: SysmonEvent[]) => void;
export type RecordHandlers = Record<number, RecordHandler>;
