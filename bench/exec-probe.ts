// Probe of the live agent's CPU per exec (issue 17): one compiled agent (as `npm start` runs it,
// or with other node flags), a warm-up exec storm, then a measured one; prints the agent's CPU
// per exec, the per-thread split, and where the measured storm lies in the agent's lifetime
// (for `bench/profile-summary.ts --skip-ms/--until-ms` of a --cpu-prof profile). With --strace,
// `strace -c -f` is attached to the agent for the measured storm (its summary goes to stderr;
// strace slows every syscall, so that run's CPU figure is not comparable).
//
//   node --import tsx bench/exec-probe.ts [--config default|big|FILE] [--n 5000] [--warm 5000]
//        [--flags "--max-semi-space-size=4"] [--root CHECKOUT[|OTHER]] [--cpu-prof DIR]
//        [--strace] [--reps 1] [--kind exec|file|connect]
// --kind runs another of bench/cost.ts's storms instead of fork+exec (the figure is then per
// operation of that storm: a file create+write+close+unlink, a loopback connect).
// --flags replaces the checkouts' `npm start` flags; several sets separated by "|" (and several
// checkouts in --root) run interleaved per rep: an A/B of V8 flags or of two checkouts in one
// run, e.g. --flags "--max-semi-space-size=4|" or --root "/tmp/base|.". Besides CPU per exec it
// prints CPU per record the agent read (its stats.json): the agent reads every process's records,
// so on a box running other jobs that is the figure to compare.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processCpu, threadCpu } from './cost.js';
import { BIG_CONFIG, buildWorkloads, DEFAULT_CONFIG, makeWorkDir, runWorkload, sleep, startFlags, sysmonMonitor, waitIdle, type Workload } from './live.js';

const argv = process.argv.slice(2);
const opt = (f: string) => {
  const i = argv.indexOf(`--${f}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const roots = (opt('root') ?? join(import.meta.dirname, '..')).split('|');
const cfgName = opt('config') ?? 'big';
const config = cfgName === 'big' ? BIG_CONFIG : cfgName === 'default' ? DEFAULT_CONFIG : cfgName;
const n = Number(opt('n') ?? 5000);
const warm = Number(opt('warm') ?? 5000);
const reps = Number(opt('reps') ?? 1);
const kind = (opt('kind') ?? 'exec') as Workload;
// every checkout with every flag set (each checkout's `npm start` flags by default)
const sides = roots.flatMap((root) => (opt('flags') ?? startFlags(root).join(' ')).split('|').map((f) => ({ root, flags: f.split(/\s+/).filter(Boolean) })));
const work = makeWorkDir();
const bins = buildWorkloads(work);
const fileDir = join(work, 'files');
mkdirSync(fileDir, { recursive: true });

// the agent writes its counters (records read from the ring...) to stats.json this often: CPU
// per record read, whatever else the box runs (the agent reads every process's records)
process.env.SYSMON_TS_STATS_FILE_MS = '500';
function recordsRead(pid: number): number {
  const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  const runDir = env.find((e) => e.startsWith('SYSMON_TS_RUN_DIR='))!.slice('SYSMON_TS_RUN_DIR='.length);
  return (JSON.parse(readFileSync(join(runDir, 'stats.json'), 'utf8')) as { records: number }).records;
}

const results = new Map<string, number[]>();
const perRecord = new Map<string, number[]>();
for (let rep = 0; rep < reps; rep++) {
  for (let k = 0; k < sides.length; k++) {
    const { root, flags } = sides[(k + rep) % sides.length]!;
    const label = `${roots.length > 1 ? `${root} ` : ''}${flags.join(' ') || '(no flags)'}`;
    const nodeArgs = [...flags];
    const prof = opt('cpu-prof');
    if (prof) nodeArgs.push('--cpu-prof', '--cpu-prof-dir', join(prof, `${(k + rep) % sides.length}-${rep}`));
    const mon = sysmonMonitor(label, config, [], { compiled: true, root, flags, nodeArgs: nodeArgs.slice(flags.length) });
    await waitIdle(3000);
    const t0 = performance.now();
    await mon.start(work);
    const pid = mon.pids()[0]!;
    await runWorkload(bins, { kind, n: warm, fileDir });
    await mon.settle();
    await sleep(600);
    const rec0 = recordsRead(pid);
    const cpu0 = processCpu(pid);
    const th0 = threadCpu(pid);
    const from = performance.now() - t0;
    let strace: ReturnType<typeof spawn> | null = null;
    if (argv.includes('--strace')) {
      strace = spawn('strace', ['-c', '-f', '-p', String(pid)], { stdio: ['ignore', 'inherit', openSync('/dev/stderr', 'w')] });
      await sleep(300);
    }
    await runWorkload(bins, { kind, n, fileDir });
    await mon.settle();
    const cpu = processCpu(pid) - cpu0;
    await sleep(600);
    const records = recordsRead(pid) - rec0;
    const until = performance.now() - t0;
    const threads: Record<string, number> = {};
    for (const [key, v] of threadCpu(pid)) {
      const name = key.slice(key.indexOf(' ') + 1);
      threads[name] = (threads[name] ?? 0) + v - (th0.get(key) ?? 0);
    }
    if (strace) {
      strace.kill('SIGINT');
      await new Promise((r) => strace!.once('exit', r));
    }
    const s = await mon.stop({ kind, n, fileDir });
    const usPerExec = (cpu / n) * 1e6;
    results.set(label, [...(results.get(label) ?? []), usPerExec]);
    perRecord.set(label, [...(perRecord.get(label) ?? []), (cpu / records) * 1e9]);
    console.log(
      JSON.stringify({
        flags: label,
        rep,
        config: cfgName,
        kind,
        n,
        usPerExec: Math.round(usPerExec * 10) / 10,
        threads: Object.fromEntries(Object.entries(threads).map(([k2, v]) => [k2, Math.round(v * 100) / 100])),
        lines: s.lines,
        recordsPerExec: Math.round((records / n) * 10) / 10,
        nsPerRecord: Math.round((cpu / records) * 1e9),
        stormMs: [Math.round(from), Math.round(until)],
      }),
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [label, xs] of results) {
  const pr = perRecord.get(label)!;
  console.log(
    `${label}: median ${median(xs).toFixed(1)} us/exec (${xs.map((x) => x.toFixed(1)).join(', ')}); CPU per record read ${median(pr).toFixed(0)} ns (${pr.map((x) => x.toFixed(0)).join(', ')})`,
  );
}
const { rmSync } = await import('node:fs');
rmSync(work, { recursive: true, force: true });
