// The Windows driver as the agent sees the Linux one (src/kernel/loader.ts Driver): a ring
// to drain, a drop count, the families attached, close(). The Windows driver registers all
// of its callbacks at load (fltmc load SysmonTs), so there is nothing to attach or detach
// per program: updateAttachments() reports nothing and the config's filtering happens in
// the pipeline. src/platform/index.ts picks it on win32 (a dynamic import, since loader.ts
// loads libbpf as it is imported); its records become events through src/families/windows.
import type { AgentDriver } from '../driver.js';
import { WindowsRing } from './section.js';

/** The callback families the driver registers, by the Sysmon events they feed. */
export const WINDOWS_FAMILIES: Record<string, readonly number[]> = {
  PsSetCreateProcessNotifyRoutineEx: [1, 5, 25],
  PsSetCreateThreadNotifyRoutine: [8],
  PsSetLoadImageNotifyRoutine: [6, 7],
  'ObRegisterCallbacks(process)': [10],
  CmRegisterCallbackEx: [12, 13, 14],
  'minifilter IRP_MJ_CREATE': [9, 11, 15, 23, 26],
  'minifilter IRP_MJ_SET_INFORMATION': [2, 11, 23, 26],
};

export class WindowsDriver implements AgentDriver {
  readonly ring: WindowsRing;
  /** one driver, loaded by the service manager (fltmc): nothing is loaded here */
  readonly loadFailures: { object: string; error: string }[] = [];
  readonly attachFailures: { program: string; error: string }[] = [];

  /**
   * The driver's device, or a named section holding a ring in the same layout (`run
   * --ring-section`: a test harness's or a driver shim's, how the agent runs under Wine, which
   * cannot load the driver). Both take the same mapping path.
   */
  constructor(device?: string, ringSection?: string) {
    this.ring = ringSection ? WindowsRing.openNamedSection(ringSection) : WindowsRing.open(device);
  }

  updateAttachments(_wanted: (program: string) => boolean): { program: string; error: string }[] {
    return [];
  }

  get attached(): string[] {
    return Object.keys(WINDOWS_FAMILIES);
  }

  /** Records the driver could not put in the ring (win_ring_producer.dropped), since load. */
  drops(): bigint {
    return this.ring.dropped();
  }

  /** The callbacks stay registered until the driver is unloaded (fltmc unload): nothing to detach. */
  async detachAll(): Promise<void> {}

  close(): void {
    this.ring.close();
  }
}
