// The exited processes the table still keeps, oldest exit first: a fixed ring of entries.
// A Map used as a queue (delete the oldest, iterate from the front) was the agent's hottest JS
// function under exec storms: V8's ordered hash table leaves deleted entries in place until it
// rehashes, so every "oldest" lookup stepped over all the holes before it (6.6% of the agent's
// CPU samples in a 10,000-exec storm, bench/RESULTS.md 2026-12-05).

export interface Exited {
  readonly pid: number;
  exitedAtMs?: number;
}

export class ExitedQueue<T extends Exited> {
  private readonly slots: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the newest exit; when full, the oldest is evicted first and passed to `evicted`. */
  push(entry: T, evicted: (old: T) => void): void {
    if (this.count === this.capacity) evicted(this.shift()!);
    this.slots[(this.head + this.count) % this.capacity] = entry;
    this.count++;
  }

  /** Removes the entries that exited more than `keepMs` before `nowMs`, oldest first. */
  expire(nowMs: number, keepMs: number, evicted: (old: T) => void): void {
    while (this.count > 0) {
      const oldest = this.slots[this.head]!;
      if (nowMs - (oldest.exitedAtMs ?? nowMs) <= keepMs) return;
      evicted(this.shift()!);
    }
  }

  private shift(): T | undefined {
    const oldest = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return oldest;
  }
}
