// Fan-out of the journal to sinks, each driven by its own SinkRunner with a durable cursor.
// A runner feeds its sink from the journal's in-memory tail while it keeps up and from the
// segment files when it is behind; nothing it does can block the appender or another sink.
// Memory per sink: one batch. Delivery: at-least-once, in recordId order.
import type { SysmonEvent } from '../events/event.js';
import type { Sink } from '../../sinks/sink.js';
import { CursorFile } from './cursor.js';
import type { Journal, JournalStats } from './journal.js';
import { DiskReader } from './reader.js';

export interface RetryOptions {
  /** first delay after a failed write/open (default 100 ms) */
  initialMs?: number;
  /** cap of the exponential backoff (default 30 s) */
  maxMs?: number;
  /** growth factor (default 2) */
  factor?: number;
}

export interface LossReport {
  sink: string;
  /** first and last recordId the sink will never receive */
  fromId: number;
  toId: number;
  count: number;
  /** 'retention': deleted before the sink read them; 'gap': absent from the journal (cut after a crash, corruption) */
  reason: 'retention' | 'gap';
}

/** a sink that had not delivered everything when the fan-out closed: it resumes from its cursor at the next start */
export interface SinkLeftover {
  sink: string;
  pending: number;
}

export interface FanoutOptions {
  /**
   * events per write() (default 2048). One write per turn of the event loop: with 512 a sink
   * fell behind a reader that takes up to 16,384 records per poll, out of the in-memory tail.
   */
  maxBatch?: number;
  retry?: RetryOptions;
  /** where a sink without a cursor starts: after the last published record (default) or at the oldest retained one */
  startAt?: 'latest' | 'oldest';
  /** fdatasync cursor files before renaming them (default true) */
  cursorFsync?: boolean;
  /** a sink skipped records it can never get: the pipeline turns this into event 255 */
  onLoss?: (loss: LossReport) => void;
  /** a sink's open()/write() failed (it will be retried) */
  onSinkError?: (sink: string, err: Error, attempt: number) => void;
}

export type SinkHealth = 'starting' | 'ok' | 'failing' | 'stopped';

export interface SinkStats {
  name: string;
  health: SinkHealth;
  lastError: string | null;
  lastErrorMs: number | null;
  /** last acknowledged recordId (the cursor) */
  acked: number;
  lagRecords: number;
  lagSeconds: number;
  /** records acknowledged by the sink since start */
  delivered: number;
  /** failed write()/open() attempts that were retried */
  retried: number;
  /** records skipped because the journal no longer had them */
  lost: number;
  /** where the last batch came from */
  source: 'memory' | 'disk' | 'none';
}

export interface FanoutStats {
  timeMs: number;
  journal: JournalStats;
  sinks: SinkStats[];
}

function sleepUntil(ms: number, wake: Promise<void>): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    new Promise<void>((r) => {
      t = setTimeout(r, ms);
    }),
    wake,
  ]).finally(() => clearTimeout(t));
}

/** a sleep that stop() can cut short, without piling reactions on a long-lived promise */
class Waker {
  private wakeFn: (() => void) | null = null;
  stopped = false;
  /** resolves after ms, or at `also` (if given), or at wake() */
  sleep(ms: number, also?: Promise<void>): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((r) => {
      const t = ms >= 0 ? setTimeout(done, ms) : undefined;
      const self = this;
      function done(): void {
        if (t) clearTimeout(t);
        if (self.wakeFn === done) self.wakeFn = null;
        r();
      }
      this.wakeFn = done;
      also?.then(done, done);
    });
  }
  wake(): void {
    this.stopped = true;
    this.wakeFn?.();
  }
}

export class SinkRunner {
  readonly name: string;
  private readonly cursor: CursorFile;
  private readonly reader: DiskReader;
  private acked = 0;
  /** told after each acknowledged batch (the fanout then releases what every sink has) */
  onAcked: (() => void) | null = null;
  private health: SinkHealth = 'starting';
  private lastError: string | null = null;
  private lastErrorMs: number | null = null;
  private delivered = 0;
  private retried = 0;
  private lost = 0;
  private source: SinkStats['source'] = 'none';
  private pendingSinceNs: bigint | null = null;
  private stopped = false;
  private readonly waker = new Waker();
  private loopP: Promise<void> | null = null;
  private opened = false;
  private ackWaiters: (() => void)[] = [];

  constructor(
    private readonly journal: Journal,
    readonly sink: Sink,
    private readonly opts: FanoutOptions,
  ) {
    this.name = sink.name;
    this.cursor = new CursorFile(journal.dir, sink.name, opts.cursorFsync ?? true);
    this.reader = new DiskReader(journal);
  }

  /** loads (or creates) the cursor and starts delivering in the background */
  async start(): Promise<void> {
    const c = await this.cursor.load();
    if (c === null) {
      this.acked = (this.opts.startAt ?? 'latest') === 'oldest' ? this.journal.firstId - 1 : this.journal.visibleId;
      await this.cursor.writeNow(this.acked); // so a crash before the first ack cannot skip anything
    } else {
      this.acked = c;
    }
    this.loopP = this.loop().catch((e: Error) => {
      this.health = 'failing';
      this.lastError = `runner stopped: ${e.message}`;
      this.lastErrorMs = Date.now();
      this.opts.onSinkError?.(this.name, e, 0);
    });
  }

  get ackedId(): number {
    return this.acked;
  }

  private async withRetry(what: () => Promise<void>): Promise<boolean> {
    const r = this.opts.retry ?? {};
    let delay = r.initialMs ?? 100;
    for (let attempt = 1; ; attempt++) {
      if (this.stopped) return false;
      try {
        await what();
        this.health = 'ok';
        return true;
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        this.retried++;
        this.health = 'failing';
        this.lastError = err.message;
        this.lastErrorMs = Date.now();
        this.opts.onSinkError?.(this.name, err, attempt);
        await this.waker.sleep(delay);
        delay = Math.min(delay * (r.factor ?? 2), r.maxMs ?? 30_000);
      }
    }
  }

  private reportLoss(fromId: number, toId: number, reason: LossReport['reason']): void {
    const count = toId - fromId + 1;
    this.lost += count;
    this.opts.onLoss?.({ sink: this.name, fromId, toId, count, reason });
  }

  private async loop(): Promise<void> {
    if (!(await this.withRetry(() => this.sink.open()))) return;
    this.opened = true;
    const max = this.opts.maxBatch ?? 2048;
    while (!this.stopped) {
      const next = this.acked + 1;
      if (next > this.journal.visibleId) {
        if (this.journal.isClosed) break;
        this.pendingSinceNs = null;
        await this.waker.sleep(-1, this.journal.published());
        continue;
      }
      let batch = this.journal.tail.slice(next, max);
      const firstRetained = this.journal.firstId;
      if (batch === null) {
        batch = await this.reader.read(next, max);
        this.source = 'disk';
      } else {
        if (this.source === 'disk') await this.reader.close();
        this.source = 'memory';
      }
      if (!batch.length) {
        // visible records exist but none at or after `next` could be read: wait for more
        await this.waker.sleep(50);
        continue;
      }
      let expect = next;
      for (const ev of batch) {
        if (ev.recordId > expect) this.reportLoss(expect, ev.recordId - 1, expect < firstRetained ? 'retention' : 'gap');
        expect = ev.recordId + 1;
      }
      this.pendingSinceNs = batch[0]!.timeNs;
      const b: readonly SysmonEvent[] = batch;
      if (!(await this.withRetry(() => this.sink.write(b)))) break;
      this.acked = batch[batch.length - 1]!.recordId;
      this.onAcked?.();
      this.delivered += batch.length;
      this.cursor.save(this.acked);
      const aw = this.ackWaiters;
      this.ackWaiters = [];
      for (const r of aw) r();
    }
  }

  /** resolves when the sink acknowledged everything visible now, or at the deadline (false) */
  async waitCaughtUp(deadlineMs: number): Promise<boolean> {
    const target = this.journal.visibleId;
    while (this.acked < target) {
      const left = deadlineMs - Date.now();
      if (left <= 0 || this.stopped) return false;
      await sleepUntil(Math.min(left, 100), new Promise<void>((r) => this.ackWaiters.push(r)));
    }
    return true;
  }

  /** stops delivering (waits up to graceMs for a write in flight), saves the cursor, closes the sink */
  async stop(graceMs = 5000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.waker.wake();
    if (this.loopP) await sleepUntil(graceMs, this.loopP);
    this.cursor.save(this.acked);
    await this.cursor.close();
    await this.reader.close();
    if (this.opened) {
      try {
        await this.sink.close();
      } catch (e) {
        this.lastError = `close: ${(e as Error).message}`;
      }
    }
    this.health = 'stopped';
  }

  stats(): SinkStats {
    const lagRecords = Math.max(0, this.journal.lastId - this.acked);
    let lagSeconds = 0;
    if (lagRecords > 0) {
      const t = this.journal.tail.timeOf(this.acked + 1) ?? this.pendingSinceNs;
      if (t !== null) lagSeconds = Math.max(0, (Date.now() * 1e6 - Number(t)) / 1e9);
    }
    return {
      name: this.name,
      health: this.health,
      lastError: this.lastError,
      lastErrorMs: this.lastErrorMs,
      acked: this.acked,
      lagRecords,
      lagSeconds,
      delivered: this.delivered,
      retried: this.retried,
      lost: this.lost,
      source: this.source,
    };
  }
}

export class Fanout {
  private readonly runners = new Map<string, SinkRunner>();

  constructor(
    private readonly journal: Journal,
    private readonly opts: FanoutOptions = {},
  ) {}

  /** Attaches a sink: loads its cursor (creating it if new) and starts feeding it in the background. */
  async add(sink: Sink): Promise<SinkRunner> {
    if (this.runners.has(sink.name)) throw new Error(`a sink named ${sink.name} is already attached`);
    const r = new SinkRunner(this.journal, sink, this.opts);
    r.onAcked = this.releaseAcked;
    this.runners.set(sink.name, r);
    try {
      await r.start();
    } catch (e) {
      this.runners.delete(sink.name);
      throw e;
    }
    return r;
  }

  /** the journal's in-memory tail keeps only what some sink has not acknowledged yet */
  private readonly releaseAcked = (): void => {
    let min = Infinity;
    for (const r of this.runners.values()) min = Math.min(min, r.ackedId);
    if (min !== Infinity) this.journal.tail.releaseThrough(min);
  };

  get(name: string): SinkRunner | undefined {
    return this.runners.get(name);
  }
  list(): SinkRunner[] {
    return [...this.runners.values()];
  }

  /** records lost across all sinks */
  get lost(): number {
    return this.list().reduce((s, r) => s + r.stats().lost, 0);
  }

  stats(): FanoutStats {
    return { timeMs: Date.now(), journal: this.journal.stats(), sinks: this.list().map((r) => r.stats()) };
  }

  /**
   * Lets every sink deliver what is visible (as long as it makes progress, up to capMs), then
   * stops them, saves cursors and closes the sinks; returns the sinks left behind. Call after the last append and `await journal.flush()`, before journal.close().
   */
  async close(stallMs = 5000, capMs = 60_000): Promise<SinkLeftover[]> {
    const cap = Date.now() + capMs;
    // A sink that keeps delivering is given time (a busy host slows the EVTX sink, and what it
    // leaves now it can only send after the next start); one that stalls for stallMs is cut.
    const left = await Promise.all(
      this.list().map(async (r) => {
        let acked = r.stats().acked;
        for (;;) {
          if (await r.waitCaughtUp(Math.min(cap, Date.now() + stallMs))) return null;
          const now = r.stats().acked;
          if (now === acked || Date.now() >= cap) return { sink: r.stats().name, pending: this.journal.visibleId - now };
          acked = now;
        }
      }),
    );
    await Promise.all(this.list().map((r) => r.stop(Math.max(100, Math.min(stallMs, cap - Date.now())))));
    return left.filter((x): x is SinkLeftover => x !== null);
  }
}
