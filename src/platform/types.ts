// What a platform provides the agent: its driver and its capture side (records -> events).
import type { Capture } from '../capture.js';
import type { AgentDriver } from '../kernel/driver.js';
import type { DriverOptions } from '../kernel/loader.js';

/** The capture side of a platform: records -> events, and the process state behind them. */
export interface PlatformCapture {
  readonly capture: Capture;
  /** reads the processes that already run (Linux: /proc; Windows: none, see its README) */
  seedProcesses(): number;
  processCount(): number;
  /** forgets processes that exited a while ago (Windows; Linux forgets them by ring batch, ProcessTable.endBatch) */
  sweep?(nowMs: number): void;
  /** current wall clock minus the driver's boot clock (re-read as the clocks drift) */
  bootEpochNs(): bigint;
  /** whether a driver program should be attached while the config captures `captured` events */
  programWanted(program: string, captured: ReadonlySet<number>): boolean;
}

export interface KernelPlatform {
  readonly name: 'linux' | 'win32';
  /**
   * Imports the platform's driver and capture modules, so that openDriver() starts loading at
   * once (its first await is then the kernel's work, not a module's file reads)
   */
  preload(): Promise<void>;
  openDriver(opts: DriverOptions): Promise<AgentDriver>;
  startCapture(): Promise<PlatformCapture>;
}
