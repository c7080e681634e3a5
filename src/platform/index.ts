// The kernel source of the running platform, chosen at start: the libbpf driver on Linux, the
// Windows driver's section on win32. Each is imported only when chosen (dynamic import), since
// loading either binds native libraries (libbpf.so, kernel32.dll) that the other platform lacks.
// With the driver come the host facts the capture needs (boot clock, machine id, user names,
// the process table and how it is seeded) and the record format (decoder + handlers).
import type { KernelPlatform } from './types.js';

export type { AgentDriver } from '../kernel/driver.js';
export type { KernelPlatform, PlatformCapture } from './types.js';

/** the libbpf loader, once preload() imported it: openDriver() then submits the first load at once */
let linuxLoader: typeof import('../kernel/loader.js') | null = null;

const LINUX: KernelPlatform = {
  name: 'linux',
  async preload() {
    [linuxLoader] = await Promise.all([import('../kernel/loader.js'), import('./linux.js')]);
  },
  openDriver(opts) {
    if (linuxLoader) return linuxLoader.Driver.open(opts);
    return import('../kernel/loader.js').then(({ Driver }) => Driver.open(opts));
  },
  async startCapture() {
    const { startLinuxCapture } = await import('./linux.js');
    return startLinuxCapture();
  },
};

const WINDOWS: KernelPlatform = {
  name: 'win32',
  async preload() {
    await Promise.all([import('../kernel/windows/driver.js'), import('./windows.js')]);
  },
  async openDriver(opts) {
    // the driver registers every callback at load: there are no objects to pick
    const { WindowsDriver } = await import('../kernel/windows/driver.js');
    return new WindowsDriver(undefined, opts.ringSection);
  },
  async startCapture() {
    const { startWindowsCapture } = await import('./windows.js');
    return startWindowsCapture();
  },
};

/** The implementation for `platform` (default: this one). Other platforms get Linux's, which says what it lacks. */
export function kernelPlatform(platform: NodeJS.Platform = process.platform): KernelPlatform {
  return platform === 'win32' ? WINDOWS : LINUX;
}
