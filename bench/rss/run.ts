// Where the agent's RSS goes: runs the real agent (root, eBPF) under the mixed load of
// `npm run bench -- --rss-minutes` (200 exec/s + 20k files/s + 2k connects/s) and prints RSS
// over time plus a breakdown from inside the agent (V8 heap spaces, external/array buffers,
// anonymous vs file-backed memory), logged by bench/rss/memlog.mjs.
//
//   node --import tsx bench/rss/run.ts [--seconds 60] [--config big|default|all|FILE]
//        [--trees DIR1,DIR2] [--node-flags "--max-semi-space-size=4"]
// --trees runs one agent per checkout at the same time under the same load (A/B on a noisy
// machine); `DIR@--flag --flag` gives one agent its own node flags; `DIR#dist` runs that
// checkout's compiled agent (dist/) instead of the sources through tsx. Default: this checkout.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BIG_CONFIG, DEFAULT_CONFIG, ALL_CONFIG, ROOT, buildWorkloads, makeWorkDir, rssMB, runWorkload, sleep, type Bins } from '../live.js';

const argv = process.argv.slice(2);
const opt = (f: string, d: string) => {
  const i = argv.indexOf(`--${f}`);
  return i >= 0 ? argv[i + 1]! : d;
};
const seconds = Number(opt('seconds', '60'));
const configArg = opt('config', 'big');
const config = configArg === 'big' ? BIG_CONFIG : configArg === 'default' ? DEFAULT_CONFIG : configArg === 'all' ? ALL_CONFIG : configArg;
const trees = opt('trees', ROOT).split(',');
const nodeFlags = opt('node-flags', '').split(' ').filter(Boolean);
const MEMLOG = join(import.meta.dirname, 'memlog.mjs');

interface MemLine {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  anon?: number;
  fileBacked?: number;
  spaces: Record<string, number>;
}
interface Run {
  label: string;
  proc: ChildProcess;
  dir: string;
  memlog: string;
  rss: number[];
}

async function startAgent(label: string, work: string): Promise<Run> {
  const [treeSpec, own] = label.split('@') as [string, string | undefined];
  // TREE#dist runs that checkout's compiled agent (dist/, as npm start and the service do)
  const [tree, variant] = treeSpec.split('#') as [string, string | undefined];
  const entry = variant === 'dist' ? [join(tree, 'dist/src/cli.js')] : ['--import', 'tsx', join(tree, 'src/cli.ts')];
  const flags = [...nodeFlags, ...(own ?? '').split(' ').filter(Boolean)];
  const dir = mkdtempSync(join(work, 'agent-'));
  const memlog = join(dir, 'mem.jsonl');
  const proc = spawn(
    process.execPath,
    [
      ...flags,
      '--import',
      MEMLOG,
      ...entry,
      'run',
      '--jsonl',
      join(dir, 'events.jsonl'),
      '--journal',
      join(dir, 'journal'),
      '-c',
      config,
      '--no-console',
      '--stats-every',
      '0',
    ],
    {
      cwd: tree,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, SYSMON_TS_RUN_DIR: join(dir, 'run'), SYSMON_TS_LOG_LEVEL: 'warn', SYSMON_TS_MEMLOG: memlog },
    },
  );
  let err = '';
  proc.stderr!.on('data', (d) => {
    err += d;
  });
  for (let i = 0; i < 600 && !err.includes('monitoring;') && proc.exitCode === null; i++) await sleep(100);
  if (!err.includes('monitoring;')) throw new Error(`agent in ${tree} did not start: ${err.slice(-1500)}`);
  return { label, proc, dir, memlog, rss: [] };
}

async function load(bins: Bins, fileDir: string, secs: number): Promise<void> {
  const end = Date.now() + secs * 1000;
  while (Date.now() < end) {
    await Promise.all([
      runWorkload(bins, { kind: 'exec', n: 200, rate: 200, fileDir }),
      runWorkload(bins, { kind: 'file', n: 20000, rate: 20000, fileDir }),
      runWorkload(bins, { kind: 'connect', n: 2000, rate: 2000, fileDir }),
    ]);
  }
}

async function stop(r: Run): Promise<void> {
  await new Promise<void>((res) => {
    r.proc.once('exit', () => res());
    r.proc.kill('SIGINT');
    setTimeout(() => r.proc.kill('SIGKILL'), 15000).unref();
  });
}

const mb = (x: number) => (x / 1048576).toFixed(0);

function processCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** lines of a file of any size (a 150 s run writes several GB: no readFileSync) */
function lineCount(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0;
  }
  try {
    const b = Buffer.allocUnsafe(1 << 20);
    let n = 0;
    for (let got = readSync(fd, b); got > 0; got = readSync(fd, b)) {
      for (let i = b.indexOf(10); i >= 0 && i < got; i = b.indexOf(10, i + 1)) n++;
    }
    return n;
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (eBPF)');
  const work = makeWorkDir();
  try {
    const bins = buildWorkloads(work);
    const fileDir = join(work, 'files');
    // all agents run at once (each sees every event of the load): same load, same moments
    const runs: Run[] = [];
    for (const t of trees) runs.push(await startAgent(t, work));
    const sampler = setInterval(() => {
      for (const r of runs) r.rss.push(rssMB(r.proc.pid!));
    }, 1000);
    await load(bins, fileDir, seconds);
    await sleep(1000);
    clearInterval(sampler);
    // CPU (all threads, /proc/PID/stat utime+stime) and events logged, for flags that trade CPU for memory
    const cpu = new Map(runs.map((r) => [r, processCpu(r.proc.pid!)]));
    for (const r of runs) await stop(r);
    console.log(
      `agent RSS under mixed load (200 exec/s + 20k files/s + 2k connects/s), config ${configArg}, ${seconds} s, node flags: ${nodeFlags.join(' ') || '(none)'}`,
    );
    console.log('Medians over the second half of the run (the agent logs its memory every 2 s; RSS sampled every 1 s from /proc).');
    console.log('');
    console.log(
      '| tree | RSS MB first 10 s max | RSS last half: min / median / max | V8 heap used / total | new space | old space | external (array buffers) | anon / file-backed | CPU s | events logged | CPU us / event |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of runs) {
      const lines = readFileSync(r.memlog, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as MemLine);
      const late = lines.slice(Math.floor(lines.length / 2));
      const med = (f: (m: MemLine) => number) => {
        const v = late.map(f).sort((a, b) => a - b);
        return v[Math.floor(v.length / 2)] ?? 0;
      };
      const half = r.rss.slice(Math.floor(r.rss.length / 2)).sort((a, b) => a - b);
      console.log(
        `| ${r.label} | ${Math.max(...r.rss.slice(0, 10)).toFixed(0)} | ${half[0]!.toFixed(0)} / ${half[Math.floor(half.length / 2)]!.toFixed(0)} / ${half[half.length - 1]!.toFixed(0)} | ${mb(med((m) => m.heapUsed))} / ${mb(med((m) => m.heapTotal))} | ${mb(med((m) => m.spaces.new_space ?? 0))} | ${mb(med((m) => m.spaces.old_space ?? 0))} | ${mb(med((m) => m.external))} (${mb(med((m) => m.arrayBuffers))}) | ${mb(med((m) => m.anon ?? 0))} / ${mb(med((m) => m.fileBacked ?? 0))} | ${cpu.get(r)!.toFixed(1)} | ${lineCount(join(r.dir, 'events.jsonl'))} | ${((cpu.get(r)! * 1e6) / Math.max(1, lineCount(join(r.dir, 'events.jsonl')))).toFixed(1)} |`,
      );
    }
    for (const r of runs) rmSync(r.dir, { recursive: true, force: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack}\n`);
    process.exit(1);
  },
);
