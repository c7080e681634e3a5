// Hands the kernel a verdict for each process user space has seen exec (process-verdicts.ts
// decides it; driver/linux/verdict.bpf.h applies it). Told of execs and exits by the process
// family's handlers (src/events/process-watch.ts), configured by ConfigGenerations with each
// config the kernel accepted.
//
// A verdict is computed and written only for a process still alive after the ring read that
// follows the one that brought its exec record, and at least VERDICT_DELAY_MS after that
// record was handled (the agent calls afterRingRead after each read): most processes of an
// exec storm exit within a few ms, and a verdict for them would cost its computation (~20 us
// with sysmon-modular) and a map write for nothing. A timer of VERDICT_DELAY_MS did not know
// when the ring was read: with reads 50 ms apart it fired between them, before the exits of
// the children exec'd late in the last read had been read, and computed a verdict for most of
// them (10% of the agent's main thread in an exec storm with sysmon-modular).
import { readdirSync } from 'node:fs';
import { STRUCTS } from '../../kernel/generated/events-h.js';
import { processWatch, type ProcessWatcher } from '../../events/process-watch.js';
import { verdictBits, type ProcessFacts, type VerdictPlan } from './process-verdicts.js';

const V = STRUCTS.pv_verdict;
/** how long after its exec record was handled a process must still live to get a verdict */
export const VERDICT_DELAY_MS = 20;
/**
 * At most this many processes are remembered (the oldest go first): an exit record lost to a
 * full ring would otherwise leave its process here for good. A forgotten process keeps its
 * kernel verdict; it only gets no new one at the next reload (its records then pass up).
 */
export const MAX_LIVE = 65536;

/** Where verdicts go: src/kernel/kernel-filter-maps.ts on Linux. */
export interface VerdictSink {
  writeVerdict(tgid: number, verdict: Uint8Array): boolean;
  /** a process seeded from /proc: pv_exec[tgid] = 0 unless the kernel saw it exec (events.h) */
  claimSeeded(tgid: number): boolean;
}

interface Pending {
  since: number;
  read: number;
}

interface Live {
  facts: ProcessFacts;
  execNs: bigint;
  startNs: bigint;
}

export class LiveVerdicts implements ProcessWatcher {
  private plan: VerdictPlan | null = null;
  private gen = 0;
  private sink: VerdictSink | null = null;
  /** processes seen exec (or seeded from /proc) and not exit, oldest first */
  private readonly live = new Map<number, Live>();
  /** ... whose verdict is not written yet: since when (performance.now()) and in which ring read */
  private readonly pending = new Map<number, Pending>();
  /** ring reads done (afterRingRead) */
  private reads = 0;
  private readonly buf = Buffer.alloc(V.size);
  /** verdicts written that drop something, and writes the kernel refused */
  written = 0;
  refused = 0;

  /** A config the kernel tables of generation `gen` now hold (null plan: verdicts off). */
  configure(plan: VerdictPlan | null, gen: number, sink: VerdictSink | null): void {
    this.plan = plan;
    this.gen = gen;
    this.sink = plan ? sink : null;
    // the process family's exec and exit handlers tell the one with a kernel to write to
    if (this.sink) processWatch.watcher = this;
    else if (processWatch.watcher === this) processWatch.watcher = null;
    // the kernel ignores every verdict of an older generation: the live processes get new ones
    // (at once: these processes have lived long enough)
    if (this.sink) for (const pid of this.live.keys()) this.pending.set(pid, { since: -Infinity, read: -1 });
  }

  /** The process `facts.pid` ran a new image (exec record of boot time execNs). */
  onExec(facts: ProcessFacts, execNs: bigint, startNs: bigint): void {
    if (this.sink === null) return;
    this.live.delete(facts.pid); // a new exec: the process moves to the young end
    this.live.set(facts.pid, { facts, execNs, startNs });
    if (this.live.size > MAX_LIVE) this.live.delete(this.live.keys().next().value!);
    this.pending.delete(facts.pid);
    this.pending.set(facts.pid, { since: performance.now(), read: this.reads });
  }

  /**
   * Processes running before the agent started (the table seeded from /proc): they get verdicts
   * too, naming exec 0 and their start in ticks (all /proc tells). `table` is the process table.
   */
  seed(table: { get(pid: number): (ProcessFacts & { ticks: number }) | undefined }): void {
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0 || this.live.has(pid)) continue;
      const p = table.get(pid);
      if (p && p.image !== '-' && this.live.size < MAX_LIVE) this.live.set(pid, { facts: p, execNs: 0n, startNs: BigInt(p.ticks) });
    }
  }

  onExit(pid: number): void {
    if (this.live.delete(pid)) this.pending.delete(pid);
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * The agent read the ring (whether or not it brought records): processes whose exec came in
   * an earlier read and that are still alive VERDICT_DELAY_MS after it get their verdicts.
   */
  afterRingRead(): void {
    if (this.pending.size > 0) this.flush(VERDICT_DELAY_MS, this.reads);
    this.reads++;
  }

  /**
   * Writes the verdicts of pending processes at least minAgeMs old whose exec came in a ring
   * read before `beforeRead` (all of them by default: tests call it instead of reading).
   */
  flush(minAgeMs = 0, beforeRead = Infinity): void {
    const plan = this.plan,
      sink = this.sink;
    if (!plan || !sink) {
      this.pending.clear();
      return;
    }
    const now = performance.now();
    for (const [pid, { since, read }] of this.pending) {
      if (read >= beforeRead || now - since < minAgeMs) continue;
      this.pending.delete(pid);
      const p = this.live.get(pid);
      if (!p) continue;
      const bits = verdictBits(plan, p.facts);
      // nothing dropped: the absence of a verdict says the same, and costs no write
      if (bits === 0) continue;
      if (p.execNs === 0n && !sink.claimSeeded(pid)) continue;
      const b = this.buf;
      b.writeBigUInt64LE(p.execNs, V.fields.exec_ns[0]);
      b.writeBigUInt64LE(p.startNs, V.fields.start_ns[0]);
      b.writeUInt32LE(this.gen >>> 0, V.fields.gen[0]);
      b.writeUInt32LE(bits, V.fields.bits[0]);
      if (sink.writeVerdict(pid, b)) this.written++;
      else this.refused++;
    }
  }
}

/** The agent's one instance (the process family's handlers call it). */
export const liveVerdicts = new LiveVerdicts();
