// Who else is told that a process ran a new image or exited, beside the process table: the
// kernel filter's per-process verdicts (src/config/kernel-filter/live-verdicts.ts registers
// itself here once it has a kernel to write to). The process family's handlers call it; they
// may not import src/config (test/architecture.test.ts), hence this one-slot registry.
import type { ProcessInfo } from './processes.js';

export interface ProcessWatcher {
  /** `p` ran a new image: its exec record's boot time and the process's start (boot ns) */
  onExec(p: ProcessInfo, execNs: bigint, startNs: bigint): void;
  onExit(pid: number): void;
}

export const processWatch: { watcher: ProcessWatcher | null } = { watcher: null };
