// The kernel source of the running platform, chosen at start: the libbpf driver on Linux, the
// Windows driver's section on win32. Each is imported only when chosen (dynamic import), since
// loading either binds native libraries (libbpf.so, kernel32.dll) that the other platform lacks.
// With the driver come the host facts the capture needs (boot clock, machine id, user names,
// the process table and how it is seeded) and the record format (decoder + handlers).
import type { Capture } from '../capture.js';
import type { DriverOptions } from './loader.js';

/** What the agent uses of a driver, on any platform. */
export interface AgentDriver {
  readonly ring: { drain(onRecord: (rec: Buffer) => void, maxRecords?: number): number; pending(): number; close(): void };
  readonly attached: string[];
  readonly loadFailures: readonly { object: string; error: string }[];
  readonly attachFailures: readonly { program: string; error: string }[];
  updateAttachments(wanted: (program: string) => boolean): { program: string; error: string }[];
  drops(): bigint;
  /** the in-kernel file filter's tables (Linux, file family loaded); absent: nothing is filtered in the kernel */
  kernelFilter?(): import('./kernel-filter-maps.js').KernelFilterMaps | null;
  /** stops every hook (before the last drain of the ring at stop) */
  detachAll(): Promise<void>;
  close(): void;
}

/** The capture side of a platform: records -> events, and the process state behind them. */
export interface PlatformCapture {
  readonly capture: Capture;
  /** reads the processes that already run (Linux: /proc; Windows: none, see its README) */
  seedProcesses(): number;
  processCount(): number;
  /** forgets processes that exited a while ago */
  sweep(nowMs: number): void;
  /** current wall clock minus the driver's boot clock (re-read as the clocks drift) */
  bootEpochNs(): bigint;
}

export interface KernelPlatform {
  readonly name: 'linux' | 'win32';
  openDriver(opts: DriverOptions): Promise<AgentDriver>;
  startCapture(): Promise<PlatformCapture>;
}

const LINUX: KernelPlatform = {
  name: 'linux',
  async openDriver(opts) {
    const { Driver } = await import('./loader.js');
    return new Driver(opts);
  },
  async startCapture() {
    const { startLinuxCapture } = await import('../events/host-linux.js');
    return startLinuxCapture();
  },
};

const WINDOWS: KernelPlatform = {
  name: 'win32',
  async openDriver() {
    // the driver registers every callback at load: there are no objects to pick
    const { WindowsDriver } = await import('./windows/driver.js');
    return new WindowsDriver();
  },
  async startCapture() {
    const { startWindowsCapture } = await import('../events/host-windows.js');
    return startWindowsCapture();
  },
};

/** The implementation for `platform` (default: this one). Other platforms get Linux's, which says what it lacks. */
export function kernelPlatform(platform: NodeJS.Platform = process.platform): KernelPlatform {
  return platform === 'win32' ? WINDOWS : LINUX;
}
