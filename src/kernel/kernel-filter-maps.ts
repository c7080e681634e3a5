// Writes compiled kernel-filter tables (src/config/kernel-filter) into the driver's maps
// (driver/linux/filter.bpf.h, verdict.bpf.h) and reads its counters. Two tables: a new config
// goes into the one not in use, then one write of kf_active switches every CPU to it at once;
// the records carry the generation of the table that judged them (RECORD_FLAG_KF_GEN_ODD).
// Per-process verdicts go into pv_verdicts, one entry per process (tgid); verdicts by image into
// pv_image_verdicts, and the loaded paths no include filter on ImageLoaded matches into pv_quiet_paths.
import { bpf, bpfExtra } from './ffi.js';

const BPF_NOEXIST = 1;

export interface KernelFilterCounters {
  /** records the automaton walked */
  judged: bigint;
  /** ... of which dropped in the kernel */
  dropped: bigint;
  /** records of a filtered event passed up without a verdict (non-ASCII, too long, truncated, unusual name) */
  unjudged: bigint;
  /** records dropped by a per-process verdict (network, image loads) */
  processDropped: bigint;
}

export class KernelFilterMaps {
  /** table 0 starts empty (not loaded) and in use: the first config goes into table 1 */
  private active = 0;
  private readonly key = new Uint32Array(1);

  private constructor(
    private readonly tables: number,
    private readonly index: number,
    private readonly counters: number,
    private readonly verdicts: number | null,
    private readonly execs: number | null,
    private readonly cpus: number,
    private readonly imageVerdicts: number | null,
    private readonly quietPaths: number | null,
  ) {}

  static open(maps: { mapFd(name: string): number | null }, cpus: number): KernelFilterMaps | null {
    const t = maps.mapFd('kf_tables'),
      a = maps.mapFd('kf_active'),
      s = maps.mapFd('kf_stats');
    return t === null || a === null || s === null
      ? null
      : new KernelFilterMaps(t, a, s, maps.mapFd('pv_verdicts'), maps.mapFd('pv_exec'), cpus, maps.mapFd('pv_image_verdicts'), maps.mapFd('pv_quiet_paths'));
  }

  /**
   * Puts `table` (struct kf_table bytes) in the idle slot, then makes it the active one. The
   * table in use is never written: a half-copied table would judge records with zeroed cells.
   */
  install(table: Buffer): void {
    const next = this.active ^ 1;
    if (bpfExtra.updateElem(this.tables, new Uint32Array([next]), table, 0) !== 0) throw new Error(`kernel filter: writing table ${next} failed`);
    if (bpfExtra.updateElem(this.index, new Uint32Array([0]), new Uint32Array([next]), 0) !== 0) throw new Error('kernel filter: switching tables failed');
    this.active = next;
  }

  /** Writes process tgid's verdict (struct pv_verdict bytes); false when the kernel refused it. */
  writeVerdict(tgid: number, verdict: Uint8Array): boolean {
    if (this.verdicts === null) return false;
    this.key[0] = tgid;
    return bpfExtra.updateElem(this.verdicts, this.key, verdict, 0) === 0;
  }

  /** pv_image_verdicts[key] = value (struct pv_path_key, struct pv_by_image); false when refused. */
  writeImageVerdict(key: Uint8Array, value: Uint8Array): boolean {
    return this.imageVerdicts !== null && bpfExtra.updateElem(this.imageVerdicts, key, value, 0) === 0;
  }

  /** pv_quiet_paths[key] = gen; false when refused. */
  writeQuietPath(key: Uint8Array, gen: number): boolean {
    this.key[0] = gen;
    return this.quietPaths !== null && bpfExtra.updateElem(this.quietPaths, key, this.key, 0) === 0;
  }

  /**
   * For a process seeded from /proc (no exec record seen): makes sure pv_exec[tgid] is 0, the
   * exec its verdict names. False when the kernel has an exec of its own for it (it exec'd
   * since: that exec record brings the verdict) or refused the entry.
   */
  claimSeeded(tgid: number): boolean {
    if (this.execs === null) return false;
    this.key[0] = tgid;
    const v = new BigUint64Array(1);
    if (bpf.lookupElem(this.execs, this.key, v) === 0) return v[0] === 0n;
    // BPF_NOEXIST: an exec the kernel records meanwhile is never overwritten
    return bpfExtra.updateElem(this.execs, this.key, v, BPF_NOEXIST) === 0;
  }

  /** Sums of the per-CPU counters since load. */
  read(): KernelFilterCounters {
    const sum = (key: number): bigint => {
      const v = new BigUint64Array(this.cpus);
      return bpf.lookupElem(this.counters, new Uint32Array([key]), v) === 0 ? v.reduce((a, b) => a + b, 0n) : 0n;
    };
    return { judged: sum(0), dropped: sum(1), unjudged: sum(2), processDropped: sum(3) };
  }
}
