// Kernel records -> finished Sysmon events: decode, then the record family's handler keeps
// process state current and normalizes. Bad records and kernel drops become event 255.
import { DecodeError, decodeRecord, LINUX_RECORD_TABLE } from './families/decode.js';
import type { SysmonEvent } from './events/event.js';
import type { CaptureContext } from './families/descriptor.js';
import { containers } from './events/containers.js';
import { earlyFilter, type EarlyFilter } from './events/early-filter.js';
import type { ProcessTable } from './events/processes.js';
import { errorReport } from './events/service-events.js';

/** Removes from out[from..] the events the active config surely drops (order kept). */
function dropEarly(out: SysmonEvent[], from: number, early: EarlyFilter): void {
  let w = from;
  for (let i = from; i < out.length; i++) {
    const ev = out[i]!;
    if (!early.drops(ev)) out[w++] = ev;
  }
  // setting an array's length is a runtime call even when it does not change
  if (w !== out.length) out.length = w;
}

/**
 * How a platform's raw records become events: its decoder and its handlers, indexed by record
 * type (src/families/registry.ts recordTable: one array read per record, no walk over families).
 */
export interface RecordFormat {
  decode(raw: Buffer): { readonly type: number; readonly tgid: number };
  readonly handlers: readonly (((rec: never, ctx: CaptureContext, out: SysmonEvent[]) => void) | undefined)[];
  /** Linux: events carry the container their process runs in (cgroups) */
  readonly containers: boolean;
}

export const LINUX_RECORDS: RecordFormat = { decode: decodeRecord, handlers: LINUX_RECORD_TABLE.handlers, containers: true };

export interface CaptureCounters {
  records: number;
  rejected: number;
  kernelDrops: bigint;
}

export class Capture implements CaptureContext {
  readonly counters: CaptureCounters = { records: 0, rejected: 0, kernelDrops: 0n };
  record: Buffer = Buffer.alloc(0);
  private deferred: Promise<unknown>[] = [];

  /** `processes`: the Linux table (the Windows handlers keep their own, src/families/windows) */
  constructor(
    readonly processes: ProcessTable,
    private bootEpochNs: bigint,
    private readonly format: RecordFormat = LINUX_RECORDS,
  ) {}

  setBootEpoch(ns: bigint): void {
    this.bootEpochNs = ns;
  }

  timeNs(bootNs: bigint): bigint {
    return this.bootEpochNs + bootNs;
  }

  defer(work: Promise<unknown>): void {
    this.deferred.push(work);
  }

  /** The async work the handlers started since the last call (the current batch waits for it). */
  takeDeferred(): Promise<unknown>[] {
    const d = this.deferred;
    this.deferred = [];
    return d;
  }

  /** One raw ring record -> zero or more events, appended to `out`. */
  /**
   * `early`: the filter of the config that judges this record (null: none, the record's events
   * are judged whole later); the active config's by default.
   */
  onRecord(raw: Buffer, out: SysmonEvent[], early: EarlyFilter | null = earlyFilter): void {
    this.counters.records++;
    this.record = raw;
    let rec: { readonly type: number; readonly tgid: number };
    try {
      rec = this.format.decode(raw);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.reject(err.message, out);
      return;
    }
    const handle = this.format.handlers[rec.type];
    if (!handle) this.reject(`no handler for record type ${rec.type}`, out);
    else {
      const from = out.length;
      handle(rec as never, this, out);
      // events the config drops whatever their late fields hold go now, before the container
      // lookup (a /proc read for a process not seen yet, e.g. the exit of one whose
      // ProcessCreate was dropped early): exact by construction (src/events/early-filter.ts)
      if (early !== null && out.length > from) dropEarly(out, from, early);
      // container context (top-level "Container", src/events/containers.ts) of the acting process
      if (this.format.containers) containers.annotate(out, from, rec.tgid, this.processes);
    }
  }

  private reject(why: string, out: SysmonEvent[]): void {
    this.counters.rejected++;
    out.push(errorReport('DecodeError', `malformed kernel record skipped (${this.counters.rejected} so far): ${why}`));
  }

  /** Reports kernel-side losses since the last call as one event 255. */
  checkDrops(total: bigint, out: SysmonEvent[]): void {
    if (total <= this.counters.kernelDrops) return;
    const lost = total - this.counters.kernelDrops;
    this.counters.kernelDrops = total;
    out.push(errorReport('RingDrops', `${lost} kernel records lost because the ring buffer was full (${total} since start)`));
  }
}
