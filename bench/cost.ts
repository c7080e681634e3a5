// "Cost per operation" (issue 17): agent CPU per exec, per file (create+write+close+unlink) and
// per loopback connect, sysmon-ts (the compiled agent, as `npm start` runs it; default config
// and sysmon-modular) against bpftrace printing one line per operation, interleaved in one run.
// Used by bench/run.ts (section 0) and runnable alone:
//   node --import tsx bench/cost.ts [--reps N] [--kinds exec,file,connect] [--tsx] [--cpu-prof DIR] [--warm-x F] [--warm-storms N] [--cold] [--ops-x F]
// CPU = user+system of every thread of the monitor's process (/proc/PID/stat: utime+stime, no
// children), from "ready" until its output stopped growing; per-thread split from /proc/PID/task.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BIG_CONFIG,
  BPFTRACE_SCRIPTS,
  DEFAULT_CONFIG,
  buildWorkloads,
  expectedEvents,
  lineMonitor,
  makeWorkDir,
  rssMB,
  runWorkload,
  sleep,
  sysmonMonitor,
  waitIdle,
  type Bins,
  type Monitor,
  type Workload,
  type WorkloadSpec,
} from './live.js';

const CLK_TCK = 100;

function countLines(path: string): number {
  try {
    const b = readFileSync(path);
    let n = 0;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
    return n;
  } catch {
    return 0;
  }
}
export const COST_SIZES: Record<Workload, number> = { exec: 1000, file: 20000, connect: 5000 };

/** CPU seconds per thread of a live process, keyed "tid comm" ("main" for the main thread) */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'));
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(`${tid} ${Number(tid) === pid ? 'main' : comm}`, (Number(rest[11]) + Number(rest[12])) / CLK_TCK);
    } catch {
      /* thread gone */
    }
  }
  return out;
}

/** the process's own CPU (all threads, live and exited), not its children */
export function processCpu(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

export interface CostRow {
  kind: Workload;
  monitor: string;
  rep: number;
  ops: number;
  expected: number;
  captured: number;
  cpu: number;
  threads: Record<string, number>;
  startupMs: number;
  rssMB: number;
  wall: number;
  /** events the agent logged in the run (the storm's and everything else on the box) */
  lines?: number;
  error?: string;
}

const bpftraceMatch = (w: WorkloadSpec) => (l: string) =>
  w.kind === 'exec' ? l.includes('exec_child') : w.kind === 'file' ? l.includes('benchfile-') : l.includes('comm=connect_sto');

type CostMonitor = Monitor & { startupMs?: number };

function monitors(kind: Workload, compiled: boolean, nodeArgs: (label: string) => string[], before?: string): CostMonitor[] {
  const ab = before
    ? [
        sysmonMonitor('sysmon-ts default config (before)', DEFAULT_CONFIG, [], { compiled, root: before, nodeArgs: nodeArgs(`${kind}-default-before`) }),
        sysmonMonitor('sysmon-ts sysmon-modular (before)', BIG_CONFIG, [], { compiled, root: before, nodeArgs: nodeArgs(`${kind}-modular-before`) }),
      ]
    : [];
  return [
    ...ab,
    sysmonMonitor('sysmon-ts default config', DEFAULT_CONFIG, [], { compiled, nodeArgs: nodeArgs(`${kind}-default`) }),
    sysmonMonitor('sysmon-ts sysmon-modular', BIG_CONFIG, [], { compiled, nodeArgs: nodeArgs(`${kind}-modular`) }),
    // plain printf lines (no JSON), buffered per line as a user tailing it would run it
    lineMonitor('bpftrace (printf per op)', ['bpftrace', '-e', BPFTRACE_SCRIPTS[kind]], (o) => o.includes('Attaching'), bpftraceMatch),
  ];
}

/**
 * One run. `warm`: `warmStorms` storms (WARM_STORMS by default) of that many operations first (not measured) so the
 * agent's JIT has compiled its hot paths: what a long-running agent pays per event, not its
 * first seconds. captured/expected then count the warm-up's events too.
 */
async function costRun(b: Bins, w: WorkloadSpec, mon: CostMonitor, work: string, rep: number, warm: number, warmStorms: number): Promise<CostRow> {
  const expected = expectedEvents(w) + (warm > 0 ? warmStorms * expectedEvents({ ...w, n: warm }) : 0);
  const base: CostRow = { kind: w.kind, monitor: mon.name, rep, ops: w.n, expected, captured: 0, cpu: NaN, threads: {}, startupMs: NaN, rssMB: NaN, wall: NaN };
  await waitIdle(2000);
  try {
    await mon.start(work);
    const pid = mon.pids()[0]!;
    for (let i = 0; warm > 0 && i < warmStorms; i++) {
      await runWorkload(b, { ...w, n: warm });
      await mon.settle();
    }
    const jsonl = (mon as { jsonl?: string }).jsonl;
    const linesBefore = jsonl ? countLines(jsonl) : 0;
    const cpu0 = processCpu(pid);
    const th0 = threadCpu(pid);
    const r = await runWorkload(b, w);
    await mon.settle();
    const cpu = processCpu(pid) - cpu0;
    const threads: Record<string, number> = {};
    for (const [k, v] of threadCpu(pid)) {
      const name = k.slice(k.indexOf(' ') + 1);
      threads[name] = (threads[name] ?? 0) + v - (th0.get(k) ?? 0);
    }
    const rss = rssMB(pid);
    // counted with the CPU reading: a lagging agent writes more while it stops
    const lines = jsonl ? countLines(jsonl) - linesBefore : undefined;
    const s = await mon.stop(w);
    return { ...base, captured: s.captured, lines, cpu, threads, startupMs: mon.startupMs ?? NaN, rssMB: rss, wall: r.seconds };
  } catch (e) {
    try {
      await mon.stop(w);
    } catch {
      /* already gone */
    }
    return { ...base, error: (e as Error).message.split('\n')[0] };
  }
}

const med = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const us = (x: number) => (Number.isFinite(x) ? `${(x * 1e6).toFixed(1)}` : '-');

/**
 * Runs the storms (each kind: default, modular, bpftrace; the order rotates per rep so none
 * always follows another) and returns the markdown lines of the table.
 */
/**
 * The warm-up storm, as a multiple of the measured one. 1/5 was too short: V8 was still
 * compiling the hot paths during the measured storm (its compiler threads took ~half of the
 * agent's CPU there) and a live agent's CPU per exec kept falling for 2-3 more storms of 1,000
 * (120-190 -> 40-50 us with sysmon-modular, bench/RESULTS.md 2026-12-04 21:20 UTC); a warm-up
 * as large as the storm measures the running agent, which is what issue 17 asks about.
 */
export const WARM_FACTOR = 1;
/**
 * How many warm-up storms. One was not enough either: with --trace-opt, V8 still compiled
 * (and first deoptimized) functions in the storm after it: 78 compilations and 14 deopts in
 * the first storm of 50,000 connects, 16 and 5 in the second (~10% of the agent's samples in
 * perf, on V8's compiler thread and in the slower code until then), 3 and 0 in the third, 0-1
 * after (bench/RESULTS.md 2026-12-05 12:00 UTC). The second storm meets paths the first did
 * not: the ring wrapping, a journal segment or fill starting over, other processes' events
 * between storms. Measuring the third storm measures the running agent.
 */
export const WARM_STORMS = 2;

export async function costTable(opts: {
  work: string;
  bins: Bins;
  reps?: number;
  kinds?: Workload[];
  compiled?: boolean;
  cpuProfDir?: string;
  before?: string;
  warm?: boolean;
  warmFactor?: number;
  /** warm-up storms before the measured one (default WARM_STORMS) */
  warmStorms?: number;
  opsFactor?: number;
  say?: (s: string) => void;
}): Promise<{ lines: string[]; rows: CostRow[] }> {
  const reps = opts.reps ?? 3;
  const kinds = opts.kinds ?? ['exec', 'file', 'connect'];
  const compiled = opts.compiled ?? true;
  const say = opts.say ?? ((s: string) => process.stderr.write(`${s}\n`));
  const rows: CostRow[] = [];
  const fileDir = join(opts.work, 'files');
  for (let rep = 0; rep < reps; rep++) {
    for (const kind of kinds) {
      // /proc CPU times tick at 10 ms: 1,000 execs resolve 10 us/op; --ops-x 4 resolves 2.5
      const w: WorkloadSpec = { kind, n: Math.round(COST_SIZES[kind] * (opts.opsFactor ?? 1)), fileDir };
      const nodeArgs = (label: string) => (opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(opts.cpuProfDir, `${label}-${rep}`)] : []);
      const ms = monitors(kind, compiled, nodeArgs, opts.before);
      const order = ms.map((_, i) => ms[(i + rep) % ms.length]!);
      for (const m of order) {
        const r = await costRun(
          opts.bins,
          w,
          m,
          opts.work,
          rep,
          opts.warm === false ? 0 : Math.round(w.n * (opts.warmFactor ?? WARM_FACTOR)),
          opts.warmStorms ?? WARM_STORMS,
        );
        rows.push(r);
        say(
          `cost ${kind} x${w.n} ${m.name} rep ${rep + 1}/${reps}: cpu ${r.cpu.toFixed(2)} s (${us(r.cpu / w.n)} us/op), captured ${r.captured}/${r.expected}${r.lines !== undefined ? `, logged ${r.lines}` : ''}${r.error ? ` ERROR ${r.error}` : ''}`,
        );
      }
    }
    await sleep(100);
  }
  const lines: string[] = [];
  lines.push(
    `| storm (ops) | monitor | CPU us / op, median (reps) | ratio to bpftrace | captured (min of reps) | events logged in the measured storm / its expected (median) | CPU us / event logged (median) | agent threads, CPU share (median run) | startup ms | RSS MB |`,
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  const label: Record<Workload, string> = { exec: 'fork+exec', file: 'create+write+close+unlink', connect: 'loopback TCP connect' };
  for (const kind of kinds) {
    const sel = (name: string) => rows.filter((r) => r.kind === kind && r.monitor === name && !r.error);
    const bt = med(sel('bpftrace (printf per op)').map((r) => r.cpu / r.ops));
    for (const name of [...new Set(rows.filter((r) => r.kind === kind).map((r) => r.monitor))]) {
      const rs = sel(name);
      if (!rs.length) {
        lines.push(
          `| ${label[kind]} (${Math.round(COST_SIZES[kind] * (opts.opsFactor ?? 1))}) | ${name} | failed: ${rows.find((r) => r.kind === kind && r.monitor === name)?.error?.slice(0, 100)} | | | | | | | |`,
        );
        continue;
      }
      const per = rs.map((r) => r.cpu / r.ops);
      const m = med(per);
      const mid = [...rs].sort((a, b) => a.cpu - b.cpu)[Math.floor((rs.length - 1) / 2)]!;
      const tot = Object.values(mid.threads).reduce((a, b) => a + b, 0);
      const th = Object.entries(mid.threads)
        .filter(([, v]) => v > 0)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${tot > 0 ? Math.round((100 * v) / tot) : 0}%`)
        .join(', ');
      const cap = Math.min(...rs.map((r) => r.captured / r.expected));
      const isBt = name.startsWith('bpftrace');
      lines.push(
        `| ${label[kind]} (${rs[0]!.ops}) | ${name} | ${us(m)} (${per.map(us).join(', ')}) | ${isBt ? '1' : (m / bt).toFixed(2)} | ${(100 * cap).toFixed(1)}% | ${isBt ? '-' : (med(rs.map((r) => r.lines ?? NaN)) / expectedEvents({ kind, n: rs[0]!.ops, fileDir: '' })).toFixed(2)} | ${isBt || med(rs.map((r) => r.lines ?? 0)) < 0.05 * expectedEvents({ kind, n: rs[0]!.ops, fileDir: '' }) ? '-' : us(med(rs.map((r) => r.cpu / (r.lines ?? NaN))))} | ${th} | ${isBt ? '-' : med(rs.map((r) => r.startupMs)).toFixed(0)} | ${med(rs.map((r) => r.rssMB)).toFixed(0)} |`,
      );
    }
  }
  return { lines, rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const opt = (f: string) => {
    const i = argv.indexOf(`--${f}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const work = makeWorkDir();
  const bins = buildWorkloads(work);
  const t0 = Date.now();
  const { lines } = await costTable({
    work,
    bins,
    reps: Number(opt('reps') ?? 3),
    kinds: opt('kinds')?.split(',') as Workload[] | undefined,
    compiled: !argv.includes('--tsx'),
    cpuProfDir: opt('cpu-prof'),
    before: opt('before'),
    warm: !argv.includes('--cold'),
    warmFactor: opt('warm-x') ? Number(opt('warm-x')) : undefined,
    warmStorms: opt('warm-storms') ? Number(opt('warm-storms')) : undefined,
    opsFactor: opt('ops-x') ? Number(opt('ops-x')) : undefined,
  });
  console.log(lines.join('\n'));
  console.log(`\n(${((Date.now() - t0) / 60000).toFixed(1)} min)`);
  const { rmSync } = await import('node:fs');
  rmSync(work, { recursive: true, force: true });
}
