// Which config judges which record across a reload. Each config the agent activates gets the
// next generation number; its kernel tables carry it, and every file record the kernel filter
// looked at says (RECORD_FLAG_KF_GEN_ODD) which generation's tables judged it. User space
// applies that same generation's config, so a record is never half-judged by the old kernel
// tables and the new rules (lost) or the other way round. Reloads are a person's or a
// SIGHUP's pace while the ring is drained every few ms, so one previous generation suffices.
import type { Config } from '../config.js';
import { compileKernelFilter, encodeTable, summarize } from './index.js';
import { compileProcessVerdicts } from './process-verdicts.js';
import { liveVerdicts, type VerdictSink } from './live-verdicts.js';
import { DEFINES } from '../../kernel/generated/events-h.js';

const { RECORD_FLAG_KF_JUDGED, RECORD_FLAG_KF_GEN_ODD } = DEFINES;

/** Where the tables go: src/kernel/kernel-filter-maps.ts on Linux. */
export interface KernelFilterSink extends Partial<VerdictSink> {
  install(table: Buffer): void;
}

export class ConfigGenerations {
  private gen = 0;
  private current: Config | null = null;
  /** the config of the last generation of each parity the kernel accepted */
  private readonly installed: [Config | null, Config | null] = [null, null];
  private reloaded = false;

  constructor(private readonly kernel: KernelFilterSink | null) {}

  /**
   * Makes `config` the one new records are judged by: user space first, then the kernel
   * tables (so no record judged by the new tables can meet the old rules). Returns one line
   * per filtered event for the log. Throws if the kernel refuses the tables: it then keeps
   * judging with the last tables it took, and configFor() keeps applying their config.
   */
  activate(config: Config): string[] {
    this.reloaded = this.current !== null;
    this.current = config;
    this.gen++;
    if (!this.kernel) return [];
    const kf = compileKernelFilter(config.parsed);
    const pv = compileProcessVerdicts(config.parsed);
    this.kernel.install(encodeTable(kf, this.gen, pv.ports));
    this.installed[this.gen & 1] = config;
    // verdicts carry the generation of the tables they go with (the kernel ignores others)
    const sink = this.kernel.writeVerdict && this.kernel.claimSeeded ? (this.kernel as VerdictSink) : null;
    liveVerdicts.configure(pv, this.gen, sink);
    return [...summarize(kf), ...kf.notes, ...(sink ? pv.summary : [])];
  }

  /** The config that must judge the events of a record with these header flags. */
  configFor(flags: number): Config {
    if ((flags & RECORD_FLAG_KF_JUDGED) === 0) return this.current!;
    return this.installed[(flags & RECORD_FLAG_KF_GEN_ODD) !== 0 ? 1 : 0] ?? this.current!;
  }

  /** true once a reload happened: records of the previous generation may still be in the ring */
  get hasPrevious(): boolean {
    return this.reloaded;
  }
}
