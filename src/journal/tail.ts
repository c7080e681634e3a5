// The in-memory tail: the most recent published events, bounded by count and encoded bytes,
// so that sinks that keep up never touch the disk. Events every attached sink has acknowledged
// leave it at once (releaseThrough): a sink that falls behind or starts later reads them from
// disk. Holding the newest 32,768 events for nobody kept each of them alive for seconds, so V8
// promoted them all and collected them in old space: under an exec storm the agent spent as much
// CPU in GC threads as on its main thread (bench/RESULTS.md, 2026-12-05).
import type { SysmonEvent } from '../events/event.js';
import { EncodedEvent } from '../events/encoded.js';

/**
 * How many of the newest events keep their data objects: a sink that keeps up reads them within
 * one poll (20 ms) of the write; older ones keep only their encoded bytes.
 */
export const TAIL_OBJECTS = 4096;

export class TailBuffer {
  private evs: SysmonEvent[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  /** evs[i] for i < released have had releaseData() */
  private released = 0;

  constructor(
    private readonly maxEvents: number,
    private readonly maxBytes: number,
    private readonly keepObjects = TAIL_OBJECTS,
  ) {}

  get length(): number {
    return this.evs.length - this.head;
  }
  get byteSize(): number {
    return this.bytes;
  }
  get firstId(): number {
    return this.length ? this.evs[this.head]!.recordId : 0;
  }
  get lastId(): number {
    return this.length ? this.evs[this.evs.length - 1]!.recordId : 0;
  }

  push(evs: readonly SysmonEvent[], sizes: readonly number[]): void {
    for (let i = 0; i < evs.length; i++) {
      this.evs.push(evs[i]!);
      this.sizes.push(sizes[i]!);
      this.bytes += sizes[i]!;
    }
    while (this.length > 0 && (this.length > this.maxEvents || this.bytes > this.maxBytes)) {
      this.bytes -= this.sizes[this.head]!;
      this.evs[this.head] = undefined!;
      this.head++;
    }
    this.releaseOld();
  }

  /** Drops the events up to recordId `id` (every sink has them): no reader needs them in memory. */
  releaseThrough(id: number): void {
    if (this.length === 0 || this.evs[this.head]!.recordId > id) return;
    while (this.length > 0 && this.evs[this.head]!.recordId <= id) {
      this.bytes -= this.sizes[this.head]!;
      this.evs[this.head] = undefined!;
      this.head++;
    }
    this.compact();
  }

  private releaseOld(): void {
    const cold = this.evs.length - this.keepObjects;
    for (let i = Math.max(this.released, this.head); i < cold; i++) {
      const ev = this.evs[i]!;
      if (ev instanceof EncodedEvent) ev.releaseData();
    }
    this.released = Math.max(this.released, cold);
    this.compact();
  }

  private compact(): void {
    if (this.length === 0) {
      this.evs = [];
      this.sizes = [];
      this.released = 0;
      this.head = 0;
      return;
    }
    if (this.head > 4096 && this.head * 2 > this.evs.length) {
      this.evs = this.evs.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.released = Math.max(0, this.released - this.head);
      this.head = 0;
    }
  }

  /**
   * Up to `max` events with recordId >= fromId, or null when fromId is older than the tail
   * (the caller must read the disk). An empty array: nothing that new yet.
   */
  slice(fromId: number, max: number): SysmonEvent[] | null {
    if (this.length === 0 || fromId < this.firstId) return null;
    let lo = this.head;
    let hi = this.evs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.evs[mid]!.recordId < fromId) lo = mid + 1;
      else hi = mid;
    }
    return this.evs.slice(lo, Math.min(lo + max, this.evs.length));
  }

  /** timeNs of the first event with recordId >= fromId, if still in memory */
  timeOf(fromId: number): bigint | null {
    const s = this.slice(fromId, 1);
    return s?.length ? s[0]!.timeNs : null;
  }
}
