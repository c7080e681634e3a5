// What `sysmon-ts run` needs before it starts, by platform, and what to say when it is missing.
//
// linux: root (it loads eBPF programs), a BTF kernel (/sys/kernel/btf/vmlinux, for CO-RE), and
//        the compiled driver objects (driver/linux/.output/*.bpf.o).
// win32: an x64 Node (the driver is built for x86_64 only), and at start, the driver's device:
//        \\.\SysmonTs exists only while the SysmonTs minifilter is loaded (`fltmc load SysmonTs`)
//        and admits only a caller holding SeTcbPrivilege, i.e. LocalSystem (the service, or
//        `psexec -s` for a test), not an Administrator's shell. Those two cannot be checked
//        beforehand without native calls, so the device open is what checks them and
//        explainDriverOpenError turns its Win32 error into what to do.
// Facts are gathered separately from the rules so both platforms' rules are testable anywhere.
import { existsSync } from 'node:fs';
import { cliPlatform } from '../platform-paths.js';

export class PreflightError extends Error {}

export interface PreflightFacts {
  isRoot: boolean;
  hasBtf: boolean;
  missingObjects: string[];
  arch: string;
}

export function gatherPreflightFacts(objects: readonly string[], platform: NodeJS.Platform | string = process.platform): PreflightFacts {
  const win = cliPlatform(platform) === 'win32';
  return {
    isRoot: process.getuid?.() === 0,
    hasBtf: !win && existsSync('/sys/kernel/btf/vmlinux'),
    missingObjects: win ? [] : objects.filter((o) => !existsSync(o)),
    arch: process.arch,
  };
}

/** What the Windows service needs, said once where it matters (preflight and device errors). */
export const WINDOWS_REQUIREMENTS =
  'sysmon-ts run on Windows needs the SysmonTs driver loaded (install: sysmon-ts -i; load: fltmc load SysmonTs; check: fltmc filters) ' +
  "and must run as LocalSystem (as the installed service, or for a test: psexec -s), since the driver's device admits only SeTcbPrivilege holders";

/** The first unmet requirement as a message saying how to meet it, or null when there is none. */
export function preflightProblem(platform: NodeJS.Platform | string, f: PreflightFacts): string | null {
  if (cliPlatform(platform) === 'win32') {
    if (f.arch !== 'x64') return `the SysmonTs driver is built for x64 only and this Node is ${f.arch}: use an x64 Node. ${WINDOWS_REQUIREMENTS}`;
    return null;
  }
  if (!f.isRoot) return 'sysmon-ts run needs root: it loads eBPF programs into the kernel (try: sudo npm start)';
  if (!f.hasBtf) return 'this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing): the CO-RE driver cannot load';
  const obj = f.missingObjects[0];
  if (obj) return `driver object ${obj} is missing: build it with "make -C driver/linux" (npm start does it for you)`;
  return null;
}

export function preflight(objects: readonly string[], platform: NodeJS.Platform | string = process.platform): void {
  const problem = preflightProblem(platform, gatherPreflightFacts(objects, platform));
  if (problem) throw new PreflightError(problem);
}

/** Win32 errors from opening \\.\SysmonTs, by what they mean here. */
const DEVICE_OPEN_ERRORS: Record<number, string> = {
  2: 'the device does not exist: the SysmonTs driver is not loaded. Load it with: fltmc load SysmonTs (installed by sysmon-ts -i; fltmc filters lists it at altitude 385210)',
  3: 'the device does not exist: the SysmonTs driver is not loaded. Load it with: fltmc load SysmonTs (installed by sysmon-ts -i; fltmc filters lists it at altitude 385210)',
  5: 'access denied: the driver admits only LocalSystem (SeTcbPrivilege), not an Administrator. Start the installed service (sc.exe start sysmon-ts), or for a test run it with psexec -s',
  1314: 'a required privilege is not held: run as LocalSystem (sc.exe start sysmon-ts, or psexec -s for a test)',
};

/**
 * The agent's start error, made actionable on Windows: the driver's ring reports the raw Win32
 * error of CreateFileW / DeviceIoControl (src/kernel/windows/section.ts, whose messages
 * test/windows/cli-platform.test.ts pins), this adds what it means and what to do. Other
 * errors, and every error on Linux, are returned unchanged.
 */
export function explainDriverOpenError(err: unknown, platform: NodeJS.Platform | string = process.platform): unknown {
  if (cliPlatform(platform) !== 'win32' || !(err instanceof Error)) return err;
  const open = /CreateFileW\((.*?)\) failed \(error (\d+)\)/.exec(err.message);
  if (open) {
    const code = Number(open[2]);
    const meaning = DEVICE_OPEN_ERRORS[code] ?? `Win32 error ${code} (net helpmsg ${code} says what it is). ${WINDOWS_REQUIREMENTS}`;
    return new PreflightError(`cannot open the SysmonTs driver's device ${open[1]}: ${meaning}`);
  }
  if (/IOCTL_SYSMON_TS_GET_RING failed|ring magic|ring ABI version|ring header of/.test(err.message)) {
    return new PreflightError(
      `the loaded SysmonTs driver does not hand out the ring this version reads (${err.message}): ` +
        'reinstall the driver built from this checkout (fltmc unload SysmonTs, sysmon-ts -i, fltmc load SysmonTs)',
    );
  }
  return err;
}
