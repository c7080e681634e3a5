// Kernel records -> finished Sysmon events: decode, keep process state current, normalize.
// Bad records and kernel drops become event 255, never silence.
import { DecodeError, decodeRecord, type KernelRecord } from './kernel/decode.js';
import { RecordType } from './kernel/layout.js';
import type { SysmonEvent } from './events/event.js';
import { processCreate, processTerminate } from './events/process-events.js';
import type { ProcessTable } from './events/processes.js';
import { errorReport } from './events/service-events.js';

export interface CaptureCounters {
  records: number;
  rejected: number;
  kernelDrops: bigint;
}

export class Capture {
  readonly counters: CaptureCounters = { records: 0, rejected: 0, kernelDrops: 0n };

  constructor(private readonly processes: ProcessTable, private bootEpochNs: bigint) {}

  setBootEpoch(ns: bigint): void {
    this.bootEpochNs = ns;
  }

  /** One raw ring record -> zero or more events, appended to `out`. */
  onRecord(raw: Buffer, out: SysmonEvent[]): void {
    this.counters.records++;
    let rec: KernelRecord;
    try {
      rec = decodeRecord(raw);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.counters.rejected++;
      out.push(errorReport('DecodeError', `malformed kernel record skipped (${this.counters.rejected} so far): ${err.message}`));
      return;
    }
    const timeNs = this.bootEpochNs + rec.bootNs;
    switch (rec.type) {
      case RecordType.ProcessExec: {
        const parent = this.processes.parentOf(rec.ids);
        const proc = this.processes.onExec(rec);
        out.push(processCreate(this.processes, proc, parent, this.processes.parentGuid(rec.ids), timeNs));
        break;
      }
      case RecordType.ProcessFork:
        this.processes.onFork(rec);
        break;
      case RecordType.ProcessExit:
        out.push(processTerminate(this.processes.onExit(rec, Date.now()), timeNs));
        break;
    }
  }

  /** Reports kernel-side losses since the last call as one event 255. */
  checkDrops(total: bigint, out: SysmonEvent[]): void {
    if (total <= this.counters.kernelDrops) return;
    const lost = total - this.counters.kernelDrops;
    this.counters.kernelDrops = total;
    out.push(errorReport('RingDrops', `${lost} kernel records lost because the ring buffer was full (${total} since start)`));
  }
}
