// When the agent reads the ring next. Every read pays a fixed cost whatever it carries (timers,
// and a cold start: the workload ran on both cores meanwhile, so the agent's code and data are
// out of the CPU caches), so a busy ring is read in batches: `pollMs` apart (the latency an
// event may wait in the ring, budget p99 < 100 ms). A read whose records all became events the
// config drops before they were even built (the early filter, the kernel's verdicts) logged
// nothing, and nothing waits for it: the next read comes after `2 * pollMs`. As soon as a read
// brings one event to judge, reads are `pollMs` apart again. bench/RESULTS.md, 2026-12-05
// 14:xx UTC: an exec storm with sysmon-modular, 50 -> 100 ms between its reads, ~25% less CPU
// per exec.

/** an empty ring is read again after 5 ms, backing off to this while nothing arrives */
export const MAX_IDLE_READ_MS = 32;
/** a full read: the ring is read again at once */
export const FULL_READ = 4096;
/** reads that logged nothing are this many read intervals apart */
export const QUIET_FACTOR = 2;
const MAX_READ_MS = 1000;

export class ReadPacing {
  private idle = 5;

  constructor(readonly pollMs: number) {}

  /**
   * The delay before the next read, after one that took `records` records from the ring and
   * handed `events` events to the rules and the journal.
   */
  next(records: number, events: number): number {
    if (records >= FULL_READ) {
      this.idle = this.pollMs;
      return 0;
    }
    if (records === 0) {
      this.idle = Math.min(this.idle * 2, MAX_IDLE_READ_MS);
      return this.idle;
    }
    this.idle = events > 0 ? this.pollMs : Math.min(MAX_READ_MS, this.pollMs * QUIET_FACTOR);
    return this.idle;
  }
}
