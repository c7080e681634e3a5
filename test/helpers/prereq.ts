// Kernel tests need root, BTF and the built driver. Under CI (CI=true) a missing
// prerequisite fails the test; elsewhere the test is skipped with a loud reason.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';

/** `npm run test:unit` sets this: tests that need root and the kernel are left out, even under CI. */
const UNIT_ONLY = 'left out of `npm run test:unit` (needs root and the kernel)';

export function missingKernelPrereq(): string | null {
  if (process.env.SYSMON_TS_UNIT_ONLY === '1') return UNIT_ONLY;
  if (process.getuid?.() !== 0) return 'not root (kernel tests load eBPF programs)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no kernel BTF at /sys/kernel/btf/vmlinux';
  return missingDriverObjects();
}

/** The built BPF objects, for tests that only read them (no root, no kernel). */
export function missingDriverObjects(): string | null {
  for (const obj of DRIVER_OBJECTS) if (!existsSync(obj)) return `driver object ${obj} not built (make -C driver/linux)`;
  return null;
}

export function missingTool(...tools: string[]): string | null {
  for (const t of tools) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `${t} is not installed`;
  }
  return null;
}

/** Returns true when the test may go on. */
export function requirePrereq(t: TestContext, missing: string | null): boolean {
  if (!missing) return true;
  if (missing === UNIT_ONLY) {
    t.skip(missing);
    return false;
  }
  if (process.env.CI === 'true') throw new Error(`prerequisite missing under CI: ${missing}`);
  process.stderr.write(`\n*** SKIPPED ${t.name}: ${missing} ***\n`);
  t.skip(missing);
  return false;
}
