// The Windows driver is built and checked here (it cannot run here): `make -C
// driver/windows` with mingw-w64 and -Werror; the .sys is a native-subsystem PE that
// imports from FLTMGR.SYS and ntoskrnl.exe only, with FORCE_INTEGRITY (without it
// PsSetCreateProcessNotifyRoutineEx and ObRegisterCallbacks refuse to register) and a valid
// checksum; the TypeScript layout tables compile into static asserts against events.h with
// the Windows compiler. Under CI=true a missing mingw-w64 fails; elsewhere a loud skip.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { COMMON_LAYOUT, COMMON_SIZES } from '../../src/kernel/records/common.js';
import { PROCESS_LAYOUT, PROCESS_SIZES } from '../../src/families/process/records.js';
import { SECURITY_LAYOUT, SECURITY_SIZES } from '../../src/families/security/records.js';
import { WINDOWS_LAYOUT, WINDOWS_SIZES } from '../../src/families/windows/records.js';
import { WIN_RING } from '../../src/kernel/windows/section.js';
import { missingTool, requirePrereq } from '../helpers/prereq.js';

const DIR = resolve('driver/windows');
const SYS = join(DIR, 'build/sysmon-ts.sys');
const CC = 'x86_64-w64-mingw32-gcc';
const OBJDUMP = 'x86_64-w64-mingw32-objdump';
const missing = () => missingTool(CC, 'x86_64-w64-mingw32-dlltool', OBJDUMP, 'make');

function build(): void {
  const r = spawnSync('make', ['-C', DIR], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make -C driver/windows failed:\n${r.stdout}\n${r.stderr}`);
}

function peHeaders(): string {
  return execFileSync(OBJDUMP, ['-p', SYS], { encoding: 'utf8' });
}

/** The PE CheckSum as the Windows loader computes it (ImageHlp CheckSumMappedFile). */
function peChecksum(image: Buffer): { stored: number; computed: number } {
  const pe = image.readUInt32LE(0x3c);
  const at = pe + 4 + 20 + 64;
  const stored = image.readUInt32LE(at);
  let sum = 0;
  for (let i = 0; i + 1 < image.length + 1; i += 2) {
    const w = i >= at && i < at + 4 ? 0 : (image[i] ?? 0) | ((image[i + 1] ?? 0) << 8);
    sum += w;
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  sum = (sum & 0xffff) + (sum >>> 16);
  return { stored, computed: (sum + image.length) >>> 0 };
}

describe('driver/windows, built with mingw-w64', () => {
  it('builds with warnings as errors', (t) => {
    if (!requirePrereq(t, missing())) return;
    build();
    // and once more with nothing to do: the Makefile's dependencies are right
    const again = spawnSync('make', ['-q', '-C', DIR]);
    assert.equal(again.status, 0, 'make -q: up to date after a build');
  });

  it('is a native-subsystem PE importing from FLTMGR.SYS and ntoskrnl.exe only', (t) => {
    if (!requirePrereq(t, missing())) return;
    build();
    const p = peHeaders();
    assert.match(p, /^Subsystem\s+00000001\s+\(NT native\)/m);
    assert.match(p, /^Magic\s+020b\s+\(PE32\+\)/m);
    const dlls = [...p.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]!.toLowerCase()).sort();
    assert.deepEqual(dlls, ['fltmgr.sys', 'ntoskrnl.exe']);
    const chars = Number.parseInt(/^DllCharacteristics\s+([0-9a-f]+)/m.exec(p)![1]!, 16);
    assert.ok(chars & 0x80, 'FORCE_INTEGRITY (needed by PsSetCreateProcessNotifyRoutineEx, ObRegisterCallbacks)');
    assert.ok(chars & 0x100, 'NX_COMPAT');
    assert.ok(chars & 0x40, 'DYNAMIC_BASE');
    // the entry point is DriverEntry and every callback family is imported
    for (const f of [
      'FltRegisterFilter',
      'FltStartFiltering',
      'FltGetFileNameInformation',
      'PsSetCreateProcessNotifyRoutineEx',
      'PsSetCreateThreadNotifyRoutine',
      'PsSetLoadImageNotifyRoutine',
      'ObRegisterCallbacks',
      'CmRegisterCallbackEx',
      'ZwCreateSection',
      'MmMapViewInSystemSpace',
    ]) {
      assert.match(p, new RegExp(`\\s${f}$`, 'm'), `imports ${f}`);
    }
    const { stored, computed } = peChecksum(readFileSync(SYS));
    assert.equal(stored, computed, 'PE checksum');
    // nothing from a C runtime: no CRT DLL, no TLS callbacks
    assert.doesNotMatch(p, /msvcrt|ucrtbase|api-ms-win/i);
  });

  it('the TypeScript layouts compile into static asserts on events.h with the Windows compiler', (t) => {
    if (!requirePrereq(t, missing())) return;
    const tables: Record<string, Record<string, readonly [number, number]>>[] = [COMMON_LAYOUT, PROCESS_LAYOUT, SECURITY_LAYOUT, WINDOWS_LAYOUT];
    const sizes: Record<string, number> = { ...COMMON_SIZES, ...PROCESS_SIZES, ...SECURITY_SIZES, ...WINDOWS_SIZES };
    const lines = ['#include <stddef.h>', '#include "events.h"'];
    let n = 0;
    for (const table of tables) {
      for (const [struct, fields] of Object.entries(table)) {
        lines.push(`_Static_assert(sizeof(struct ${struct}) == ${sizes[struct]}, "sizeof(struct ${struct})");`);
        for (const [field, [off, size]] of Object.entries(fields)) {
          lines.push(`_Static_assert(offsetof(struct ${struct}, ${field}) == ${off}, "offsetof(${struct}, ${field})");`);
          lines.push(`_Static_assert(sizeof(((struct ${struct} *)0)->${field}) == ${size}, "sizeof(${struct}.${field})");`);
          n++;
        }
      }
    }
    lines.push(`_Static_assert(WIN_RING_MAGIC == ${WIN_RING.magic}u, "magic");`);
    lines.push(`_Static_assert(WIN_RING_HEADER_BYTES == ${WIN_RING.headerBytes}u, "header bytes");`);
    lines.push(`_Static_assert(WIN_RING_PRODUCER_OFF == ${WIN_RING.producerOff}u, "producer page");`);
    lines.push(`_Static_assert(WIN_RING_CONSUMER_OFF == ${WIN_RING.consumerOff}u, "consumer");`);
    lines.push(`_Static_assert(IOCTL_SYSMON_TS_GET_RING == ${WIN_RING.ioctlGetRing}u, "ioctl");`);
    lines.push(`_Static_assert(EVENTS_ABI_VERSION == ${WIN_RING.abiVersion}, "abi");`);
    const dir = mkdtempSync(join(tmpdir(), 'win-layout-'));
    try {
      const src = join(dir, 'layout.c');
      writeFileSync(src, lines.join('\n') + '\n');
      const r = spawnSync(CC, ['-std=gnu11', '-fsyntax-only', '-Werror', '-I', resolve('driver/include'), src], { encoding: 'utf8' });
      assert.equal(r.status, 0, `the layouts disagree with events.h under ${CC}:\n${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(n > 80, `${n} fields checked`);
  });

  it('the INF: FSFilter Activity Monitor, an altitude in its range and the one the callbacks use', () => {
    const inf = readFileSync(join(DIR, 'sysmon-ts.inf'), 'utf8');
    const value = (key: string): string => {
      const m = new RegExp(`^${key.replace(/\./g, '\\.')}\\s*=\\s*"?([^";\\r\\n]*?)"?\\s*(;.*)?$`, 'm').exec(inf);
      assert.ok(m, `${key} in the INF`);
      return m[1]!.trim();
    };
    assert.equal(value('LoadOrderGroup'), 'FSFilter Activity Monitor');
    assert.equal(value('Class'), 'ActivityMonitor');
    assert.equal(value('ServiceType'), '2');
    assert.match(value('StartType'), /^[0-3]$/);
    assert.equal(value('Dependencies'), 'FltMgr');
    const altitude = Number(value('Instance1.Altitude'));
    assert.ok(altitude >= 360000 && altitude <= 389999, `altitude ${altitude} in the FSFilter Activity Monitor range`);
    assert.notEqual(altitude, 385201, "not Sysmon's altitude: both run side by side in the test plan");
    const header = readFileSync(join(DIR, 'sysmon_ts.h'), 'utf8');
    assert.equal(Number(/SYSMON_TS_ALTITUDE L"(\d+)"/.exec(header)![1]), altitude, 'Ob/Cm callbacks use the INF altitude');
    assert.match(inf, /HKR,"Parameters\\Instances\\"%Instance1\.Name%,"Altitude"/);
  });
});
