// A/B of the replay pipeline between checkouts, interleaved (A B A B ...) in one run, each
// scenario in its own process under `taskset -c 1`. Prints a markdown table with wall-clock
// and CPU-time rates per tree and the B/A ratios of the medians.
//
//   node --import tsx bench/ab-pipeline.ts --records FILE --trees A_DIR,B_DIR[,C_DIR...] [--reps 3]
//        [--min-records 270000] [--scenarios "e2e big jsonl;journal none;..."] [--extra "--batch 64 --gap-ms 2"]
// Each tree runs its own bench/pipeline.ts (copy this one into an old tree first if it lacks
// --max-batch or the CPU columns). A scenario is "STAGE CONFIG [SINK]".
import { spawnSync } from 'node:child_process';

const argv = process.argv.slice(2);
const opt = (f: string, d?: string) => {
  const i = argv.indexOf(`--${f}`);
  if (i >= 0) return argv[i + 1]!;
  if (d === undefined) throw new Error(`--${f} is required`);
  return d;
};
const records = opt('records');
const trees = opt('trees').split(',');
const reps = Number(opt('reps', '3'));
const minRecords = opt('min-records', '270000');
/** more bench/pipeline.ts arguments for every run, e.g. "--batch 64 --gap-ms 2" */
const extra = opt('extra', '').split(/\s+/).filter(Boolean);
const scenarios = opt('scenarios', 'capture big;rules big;journal none;e2e big jsonl;e2e default jsonl;e2e none jsonl')
  .split(';')
  .map((s) => s.trim().split(/\s+/));

interface Run {
  eventsPerSec: number;
  eventsPerCpuSec: number;
  peakRssMB: number;
}

function once(tree: string, [stage, config, sink]: string[]): Run {
  const args = [
    '-c',
    '1',
    process.execPath,
    '--import',
    'tsx',
    'bench/pipeline.ts',
    '--records',
    records,
    '--min-records',
    minRecords,
    '--stage',
    stage!,
    '--config',
    config!,
  ];
  if (sink) args.push('--sink', sink);
  args.push(...extra);
  const r = spawnSync('taskset', args, { cwd: tree, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${tree} ${stage} ${config}: ${r.stderr.slice(-800)}`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  return { eventsPerSec: o.eventsPerSec ?? o.recordsPerSec!, eventsPerCpuSec: o.eventsPerCpuSec ?? NaN, peakRssMB: o.peakRssMB! };
}

const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};
const k = (x: number) => `${Math.round(x / 1000)}k`;

const results = new Map<string, Run[]>();
for (let rep = 0; rep < reps; rep++) {
  for (const sc of scenarios) {
    for (const t of trees) {
      const key = `${sc.join(' ')}|${t}`;
      const r = once(t, sc);
      process.stderr.write(`rep ${rep + 1} ${sc.join(' ')} ${t}: ${Math.round(r.eventsPerSec)} events/s, ${Math.round(r.eventsPerCpuSec)} per CPU-s\n`);
      results.set(key, [...(results.get(key) ?? []), r]);
    }
  }
}
// columns per tree; ratios of every later tree to the first (and, with 3+ trees, to the one before it)
const name = (i: number) => 'ABCDEFGH'[i] ?? String(i);
const ratioHeads: string[] = [];
for (let i = 1; i < trees.length; i++) ratioHeads.push(`${name(i)}/A wall (median)`, `${name(i)}/A CPU (median)`);
for (let i = 2; i < trees.length; i++) ratioHeads.push(`${name(i)}/${name(i - 1)} CPU (median)`);
console.log(
  `| scenario | ${trees.map((_, i) => `${name(i)} events/s (reps) | ${name(i)} per CPU-s (median) | ${name(i)} peak RSS MB`).join(' | ')} | ${ratioHeads.join(' | ')} |`,
);
console.log(`|---|${trees.map(() => '---|---|---|').join('')}${ratioHeads.map(() => '---|').join('')}`);
for (const sc of scenarios) {
  const rs = trees.map((t) => results.get(`${sc.join(' ')}|${t}`)!);
  const wall = rs.map((r) => med(r.map((x) => x.eventsPerSec)));
  const cpu = rs.map((r) => med(r.map((x) => x.eventsPerCpuSec)));
  const cells = rs.map((r, i) => `${r.map((x) => k(x.eventsPerSec)).join(' / ')} | ${k(cpu[i]!)} | ${Math.max(...r.map((x) => x.peakRssMB))}`);
  const ratios: string[] = [];
  for (let i = 1; i < trees.length; i++) ratios.push((wall[i]! / wall[0]!).toFixed(2), (cpu[i]! / cpu[0]!).toFixed(2));
  for (let i = 2; i < trees.length; i++) ratios.push((cpu[i]! / cpu[i - 1]!).toFixed(2));
  console.log(`| ${sc.join(' ')} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
}
