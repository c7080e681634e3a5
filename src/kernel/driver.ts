// The driver as the agent sees it on any platform: the libbpf loader (loader.ts) on Linux,
// the Windows driver's section (windows/driver.ts) on win32.

/** What the agent uses of a driver, on any platform. */
export interface AgentDriver {
  readonly ring: { drain(onRecord: (rec: Buffer) => void, maxRecords?: number): number; pending(): number; close(): void };
  readonly attached: string[];
  readonly loadFailures: readonly { object: string; error: string }[];
  readonly attachFailures: readonly { program: string; error: string }[];
  /** Linux: where each BPF object's start-up went (open, load, attach ms), for the startup log */
  readonly timings?: readonly { object: string; openMs: number; loadMs: number; attachMs: number; programs: number }[];
  updateAttachments(wanted: (program: string) => boolean): { program: string; error: string }[];
  drops(): bigint;
  /** the in-kernel file filter's tables (Linux, file family loaded); absent: nothing is filtered in the kernel */
  kernelFilter?(): import('./kernel-filter-maps.js').KernelFilterMaps | null;
  /** stops every hook (before the last drain of the ring at stop) */
  detachAll(): Promise<void>;
  close(): void;
}
