// Who else is told that a process ran a new image, loaded one or exited, beside the process table: the
// kernel filter's per-process verdicts (src/config/kernel-filter/live-verdicts.ts registers
// itself here once it has a kernel to write to). The process family's handlers call it; they
// may not import src/config (test/architecture.test.ts), hence this one-slot registry.
import type { ProcessInfo } from './processes.js';

export interface ProcessWatcher {
  /**
   * `p` ran a new image: its exec record's boot time, the process's start (boot ns), the exe
   * path's bytes as the record holds them (null when truncated) and the real uid they were run by
   */
  onExec(p: ProcessInfo, execNs: bigint, startNs: bigint, exe: Buffer | null, uid: number): void;
  onExit(pid: number): void;
  /** whether onImageLoad is of use (the active config lets the kernel drop image loads by path) */
  readonly wantsImageLoads: boolean;
  /** an ImageLoad record of `path` reached user space (`raw`: its bytes in the record, null when truncated) */
  onImageLoad(path: string, raw: Buffer | null): void;
}

export const processWatch: { watcher: ProcessWatcher | null } = { watcher: null };
