// Per-process verdicts for ImageLoad (7) on the real kernel (image.bpf.c): a python that the
// config's ImageLoad rules do not watch loads shared objects (ctypes.CDLL of copies of libz
// under a temp directory: each an mmap(PROT_EXEC) of a new file). Before its verdict every load
// reaches the ring; once user space has written it (LiveVerdicts, from the exec record read off
// the ring) none does, and each is counted as dropped in the kernel.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/index.js';
import { compileKernelFilter, encodeTable } from '../../src/config/kernel-filter/index.js';
import { compileProcessVerdicts, verdictBits } from '../../src/config/kernel-filter/process-verdicts.js';
import { LiveVerdicts } from '../../src/config/kernel-filter/live-verdicts.js';
import { decodeRecord } from '../../src/families/decode.js';
import { Driver } from '../../src/kernel/loader.js';
import { DEFINES } from '../../src/kernel/generated/events-h.js';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

const PYTHON = '/usr/bin/python3';
const LIBZ = ['/usr/lib/x86_64-linux-gnu/libz.so.1', '/lib/x86_64-linux-gnu/libz.so.1', '/usr/lib/aarch64-linux-gnu/libz.so.1'].find((p) => existsSync(p));
const missing = missingKernelPrereq() ?? (existsSync(PYTHON) && LIBZ ? null : `${PYTHON} and libz.so.1 are needed`);
const N = 8;

const CONFIG = `<Sysmon schemaversion="4.90"><EventFiltering>
  <RuleGroup groupRelation="or"><ImageLoad onmatch="include">
    <Image condition="end with">/kf-keep-python</Image>
  </ImageLoad></RuleGroup>
</EventFiltering></Sysmon>`;

describe('per-process ImageLoad verdicts in the kernel', () => {
  let driver: Driver;
  let dir: string;
  let py: ChildProcessWithoutNullStreams;
  let out = '';
  const loads: { tgid: number; path: string }[] = [];
  const execs: { tgid: number; image: string; bootNs: bigint; startNs: bigint }[] = [];

  function drain(): void {
    driver.ring.drain((raw) => {
      const r = decodeRecord(raw);
      if (r.type === 1) execs.push({ tgid: r.tgid, image: r.exe, bootNs: r.bootNs, startNs: r.startBootNs });
      else if (r.type === 70) loads.push({ tgid: r.tgid, path: r.path });
    }, 1 << 20);
  }

  async function run(line: string): Promise<void> {
    const want = (out.match(/ok\n/g)?.length ?? 0) + 1;
    py.stdin.write(`${line}\n`);
    const deadline = Date.now() + 15_000;
    while ((out.match(/ok\n/g)?.length ?? 0) < want) {
      if (Date.now() > deadline) throw new Error(`python did not finish: ${line}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Loads copies first..first+N-1 of libz; returns how many of their loads reached the ring. */
  async function loadCopies(first: number): Promise<number> {
    const names = Array.from({ length: N }, (_, i) => join(dir, `libkf${first + i}.so`));
    for (const n of names) copyFileSync(LIBZ!, n);
    await run(`[ctypes.CDLL(p) for p in ${JSON.stringify(names)}]`);
    drain();
    return loads.filter((l) => l.tgid === py.pid && names.includes(l.path)).length;
  }

  before(() => {
    if (missing) return;
    const image = DRIVER_OBJECTS.find((o) => o.endsWith('/image.bpf.o'))!;
    driver = new Driver({ objects: [DRIVER_OBJECTS[0]!, image], wanted: (p) => p.startsWith('process_') || p.startsWith('image_') });
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-pvi-')));
  });

  after(() => {
    py?.kill('SIGKILL');
    if (driver) driver.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('drops the image loads of a process the config does not watch, once its verdict is written', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const maps = driver.kernelFilter()!;
    const parsed = loadConfigText(CONFIG).parsed;
    const plan = compileProcessVerdicts(parsed);
    maps.install(encodeTable(compileKernelFilter(parsed), 1, plan.ports));
    py = spawn(PYTHON, ['-u', '-c', 'import sys, ctypes\nfor line in sys.stdin:\n    exec(line)\n    print("ok", flush=True)'], { stdio: 'pipe' });
    py.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    await run('pass');
    drain();
    const e = execs.filter((x) => x.tgid === py.pid).at(-1);
    assert.ok(e, 'the exec record of python');
    assert.equal(await loadCopies(0), N, 'before its verdict every load reaches the ring');

    const facts = { guid: '{t}', pid: py.pid!, image: e.image, user: 'root' };
    assert.equal((verdictBits(plan, facts) >> (2 * DEFINES.PV_IMAGE)) & 3, DEFINES.PV_DROP_ALL);
    const verdicts = new LiveVerdicts();
    verdicts.configure(plan, 1, maps);
    verdicts.onExec(facts, e.bootNs, e.startNs);
    verdicts.flush();
    const dropped = maps.read().processDropped;
    assert.equal(await loadCopies(N), 0, 'loads the config drops reached the ring');
    assert.ok(maps.read().processDropped - dropped >= BigInt(N), 'counted as dropped in the kernel');
  });
});
