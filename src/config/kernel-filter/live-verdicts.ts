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
// them (10% of the agent's main thread in an exec storm with sysmon-modular). Those short-lived
// processes are judged by their image instead: one verdict per exe path and uid, which the
// kernel's exec program hands to each of them (judgeImage), and ImageLoad's quiet paths
// (onImageLoad). docs/kernel-filtering.md, "Verdicts by image".
import { readdirSync } from 'node:fs';
import { DEFINES, STRUCTS } from '../../kernel/generated/events-h.js';
import { processWatch, type ProcessWatcher } from '../../events/process-watch.js';
import { pathQuiet, usesQuietPaths, verdictBits, type ProcessFacts, type VerdictPlan } from './process-verdicts.js';

const V = STRUCTS.pv_verdict;
const K = STRUCTS.pv_path_key;
const IV = STRUCTS.pv_by_image;
/** verdicts by image and quiet paths remembered as written, per config generation (then forgotten) */
const MAX_IMAGES_KNOWN = DEFINES.PV_MAX_IMAGES;
const MAX_PATHS_KNOWN = DEFINES.PV_MAX_QUIET_PATHS;
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
  /** pv_image_verdicts[key] = value (struct pv_path_key, struct pv_by_image) */
  writeImageVerdict?(key: Uint8Array, value: Uint8Array): boolean;
  /** pv_quiet_paths[key] = gen */
  writeQuietPath?(key: Uint8Array, gen: number): boolean;
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
  /** verdicts by image and quiet paths written */
  imageVerdicts = 0;
  quietPaths = 0;
  /** user -> image -> verdict bits written to pv_image_verdicts (this generation) */
  private byImage = new Map<string, Map<string, number>>();
  private imagesKnown = 0;
  /** loaded paths judged for pv_quiet_paths (this generation) */
  private pathsJudged = new Set<string>();
  private quietOn = false;
  private readonly key = Buffer.alloc(K.size);
  private readonly imageValue = Buffer.alloc(IV.size);

  /** A config the kernel tables of generation `gen` now hold (null plan: verdicts off). */
  configure(plan: VerdictPlan | null, gen: number, sink: VerdictSink | null): void {
    this.plan = plan;
    this.gen = gen;
    this.sink = plan ? sink : null;
    this.byImage = new Map();
    this.imagesKnown = 0;
    this.pathsJudged = new Set();
    this.quietOn = plan !== null && this.sink?.writeQuietPath !== undefined && usesQuietPaths(plan);
    // the process family's exec and exit handlers tell the one with a kernel to write to
    if (this.sink) processWatch.watcher = this;
    else if (processWatch.watcher === this) processWatch.watcher = null;
    // the kernel ignores every verdict of an older generation: the live processes get new ones
    // (at once: these processes have lived long enough)
    if (this.sink) for (const pid of this.live.keys()) this.pending.set(pid, { since: -Infinity, read: -1 });
  }

  /**
   * The process `facts.pid` ran a new image (exec record of boot time execNs). `exe`: the exec
   * record's exe path bytes as the kernel wrote them (null when truncated), `uid` its real uid.
   */
  onExec(facts: ProcessFacts, execNs: bigint, startNs: bigint, exe: Buffer | null = null, uid = 0): void {
    if (this.sink === null) return;
    if (exe !== null) this.judgeImage(facts, exe, uid);
    this.live.delete(facts.pid); // a new exec: the process moves to the young end
    this.live.set(facts.pid, { facts, execNs, startNs });
    if (this.live.size > MAX_LIVE) this.live.delete(this.live.keys().next().value!);
    this.pending.delete(facts.pid);
    this.pending.set(facts.pid, { since: performance.now(), read: this.reads });
  }

  /**
   * The verdict of every process of this Image and User, written once per generation: the
   * kernel's exec program gives it to each later exec of the same path by the same uid before
   * its first mmap (verdict.bpf.h pv_exec_by_image), so a process that lives a few ms is
   * judged too. Its exact key is the exec record's exe bytes and uid, from which user space
   * builds Image and User (an image seen under two users, or two byte strings read as one
   * text, gets what the first wrote: the other key stays unwritten, i.e. no verdict).
   */
  private judgeImage(facts: ProcessFacts, exe: Buffer, uid: number): void {
    const sink = this.sink!;
    if (!sink.writeImageVerdict || exe.length === 0 || exe.length > DEFINES.PV_PATH_MAX) return;
    let images = this.byImage.get(facts.user);
    if (images === undefined) this.byImage.set(facts.user, (images = new Map()));
    else if (images.has(facts.image)) return;
    if (++this.imagesKnown > MAX_IMAGES_KNOWN) {
      // the kernel's LRU forgets too: start over rather than believe entries it may have evicted
      this.byImage.clear();
      this.imagesKnown = 1;
      this.byImage.set(facts.user, (images = new Map()));
    }
    const bits = verdictBits(this.plan!, facts, true);
    images.set(facts.image, bits);
    if (bits === 0) return;
    this.imageValue.writeUInt32LE(this.gen >>> 0, IV.fields.gen[0]);
    this.imageValue.writeUInt32LE(bits, IV.fields.bits[0]);
    if (sink.writeImageVerdict(this.pathKey(uid, exe), this.imageValue)) this.imageVerdicts++;
    else this.refused++;
  }

  get wantsImageLoads(): boolean {
    return this.quietOn;
  }

  /**
   * An ImageLoad record of `path` reached user space (its raw bytes: null when truncated). When
   * no include filter on ImageLoaded matches the path, the kernel may drop its later records
   * for every process whose verdict is ImageLoad's PV_DROP_UNLESS (image.bpf.c).
   */
  onImageLoad(path: string, raw: Buffer | null): void {
    if (!this.quietOn || raw === null || raw.length === 0 || raw.length > DEFINES.PV_PATH_MAX) return;
    if (this.pathsJudged.has(path)) return;
    if (this.pathsJudged.size >= MAX_PATHS_KNOWN) this.pathsJudged.clear();
    this.pathsJudged.add(path);
    if (!pathQuiet(this.plan!, path)) return;
    if (this.sink!.writeQuietPath!(this.pathKey(0, raw), this.gen >>> 0)) this.quietPaths++;
    else this.refused++;
  }

  /** struct pv_path_key for `path` (bytes as the kernel wrote them), zero-padded as the kernel pads it */
  private pathKey(uid: number, path: Buffer): Buffer {
    const k = this.key;
    k.fill(0);
    k.writeUInt32LE(uid >>> 0, K.fields.uid[0]);
    k.writeUInt32LE(path.length, K.fields.len[0]);
    path.copy(k, K.fields.path[0]);
    return k;
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
