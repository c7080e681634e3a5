// Verdicts by image and quiet paths, end to end with the running agent: short-lived processes
// (each execs, loads its libraries and exits within a few ms, long before any per-process
// verdict could be written) get their image's verdict from the kernel's exec program, and their
// image loads that no rule can keep are dropped in the kernel; every image load a rule keeps is
// still logged, for every process: a library an ImageLoaded filter watches, an image an Image
// filter watches, and, after a reload that watches libc, libc itself (no verdict or quiet path
// of the previous config applies).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

const missing = missingKernelPrereq();
const N = 30;
const LIBC = /\/libc\.so\.6$/;

describe('agent with verdicts by image', () => {
  let agent: AgentProcess;
  let dir: string;
  let cfg: string;
  let lib: string;
  const prog = { quiet: '', marker: '', watched: '' };

  /** ImageLoad kept when a library is the marker library, or the loading image is the watched one (or libc, `watchLibc`). */
  function config(watchLibc: boolean): string {
    return `<Sysmon schemaversion="4.90"><EventFiltering>
  <RuleGroup groupRelation="or"><ImageLoad onmatch="include">
    <ImageLoaded condition="end with">${lib.slice(lib.lastIndexOf('/'))}</ImageLoaded>
    <Image condition="end with">${prog.watched.slice(prog.watched.lastIndexOf('/'))}</Image>
    ${watchLibc ? '<ImageLoaded condition="end with">/libc.so.6</ImageLoaded>' : ''}
  </ImageLoad></RuleGroup>
</EventFiltering></Sysmon>
`;
  }

  /** The last stats line's counters. */
  function stats(): { byProcess: bigint; images: number; quietPaths: number } {
    let last = { byProcess: -1n, images: -1, quietPaths: -1 };
    for (const line of agent.stderr.split('\n')) {
      if (!line.includes('"kernelFilteredByProcess"')) continue;
      const a = (JSON.parse(line) as { agent: { kernelFilteredByProcess: string; verdicts: { images: number; quietPaths: number } } }).agent;
      last = { byProcess: BigInt(a.kernelFilteredByProcess), images: a.verdicts.images, quietPaths: a.verdicts.quietPaths };
    }
    return last;
  }
  async function nextStats(): Promise<ReturnType<typeof stats>> {
    const seen = agent.stderr.split('"kernelFilteredByProcess"').length;
    while (agent.stderr.split('"kernelFilteredByProcess"').length <= seen) await new Promise((r) => setTimeout(r, 50));
    return stats();
  }

  /** Runs `path` n times, one after the other; returns the pids. */
  function runMany(path: string, n: number): number[] {
    const out = execFileSync('/usr/bin/bash', ['-c', `for i in $(seq ${n}); do "${path}" & echo $!; wait; done`], { encoding: 'utf8' });
    return out.trim().split('\n').map(Number);
  }
  const loads = (pids: number[], lib: RegExp) => {
    const mine = new Set(pids);
    return (e: JsonEvent) => e.EventID === 7 && mine.has(e.EventData.ProcessId as number) && lib.test(String(e.EventData.ImageLoaded));
  };
  /** Waits until `want` events match, then a little more for any extra. */
  async function logged(pred: (e: JsonEvent) => boolean, want: number, what: string): Promise<number> {
    if (want > 0) await agent.waitFor(pred, 15_000, what, want);
    await new Promise((r) => setTimeout(r, 300));
    return agent.events().filter(pred).length;
  }

  before(async () => {
    if (missing) return;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-ivm-')));
    const tag = `${process.pid}${Date.now() % 100000}`;
    lib = join(dir, `libsysmontsmark${tag}.so`);
    writeFileSync(join(dir, 'mark.c'), 'int sysmon_ts_mark(void) { return 42; }\n');
    writeFileSync(join(dir, 'prog.c'), 'extern int sysmon_ts_mark(void);\nint main(void) { return sysmon_ts_mark() == 42 ? 0 : 1; }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', lib, join(dir, 'mark.c')]);
    prog.marker = join(dir, `marker-${tag}`);
    execFileSync('cc', ['-o', prog.marker, join(dir, 'prog.c'), lib, `-Wl,-rpath,${dir}`]);
    prog.quiet = join(dir, `quiet-${tag}`);
    copyFileSync('/usr/bin/true', prog.quiet);
    prog.watched = join(dir, `watched-${tag}`);
    copyFileSync('/usr/bin/true', prog.watched);
    execFileSync('chmod', ['+x', prog.quiet, prog.watched]);
    cfg = join(dir, 'config.xml');
    writeFileSync(cfg, config(false));
    agent = new AgentProcess(['-c', cfg], dir);
    agent.statsEverySeconds = 0.2;
    await agent.start();
  });

  after(async () => {
    if (agent) assert.equal(await agent.stop(), 0, agent.stderr);
  });

  it('drops the unwatched loads of short-lived processes in the kernel and logs every watched one', async (t) => {
    if (!requirePrereq(t, missing)) return;
    // one run of each image: user space sees its exec and loads, and writes the image's verdict
    // and the quiet paths (libc); the watched image gets no verdict
    for (const p of [prog.quiet, prog.marker, prog.watched]) runMany(p, 1);
    await agent.waitFor((e) => e.EventID === 7 && String(e.EventData.ImageLoaded) === lib, 15_000, 'the marker library');
    await new Promise((r) => setTimeout(r, 500));
    const s0 = await nextStats();
    assert.ok(s0.images >= 2, `verdicts by image written: ${s0.images}`);
    assert.ok(s0.quietPaths >= 1, `quiet paths written: ${s0.quietPaths}`);

    const quiet = runMany(prog.quiet, N);
    const marker = runMany(prog.marker, N);
    const watched = runMany(prog.watched, N);
    // every load a rule keeps is logged, for every one of these short-lived processes
    assert.equal(await logged(loads(marker, /\/libsysmontsmark\d+\.so$/), N, 'marker library loads'), N, 'the watched library, once per process');
    assert.equal(await logged(loads(watched, LIBC), N, 'libc loads of the watched image'), N, 'the watched image: libc once per process');
    assert.equal(agent.events().filter(loads([...quiet, ...marker], LIBC)).length, 0, 'no unwatched load is logged');
    // ... and the unwatched ones never reached user space: libc of 2N processes (the counter is
    // machine-wide, so at least that many)
    const s1 = await nextStats();
    assert.ok(s1.byProcess - s0.byProcess >= BigInt(2 * N), `dropped in the kernel: ${s1.byProcess - s0.byProcess} of ${2 * N}`);
  });

  it('after a reload that watches libc, every libc load is logged (no verdict of the old config applies)', async (t) => {
    if (!requirePrereq(t, missing)) return;
    writeFileSync(cfg, config(true));
    agent.child.kill('SIGHUP');
    await agent.waitFor((e) => e.EventID === 16 && e.EventData.Configuration === cfg, 15_000, 'event 16 (reload)', 2);
    await new Promise((r) => setTimeout(r, 300));
    const quiet = runMany(prog.quiet, N);
    assert.equal(await logged(loads(quiet, LIBC), N, 'libc loads after the reload'), N, 'libc once per process');
  });
});
