// A/B of two checkouts' agents on the live storms, interleaved (none, A, B, none, A, B...).
// Usage: node --import tsx bench/ab-kernel.ts BEFORE_ROOT [reps] [workloads]  (root; default config)
// BEFORE_ROOT is another copy of the tree (e.g. `git archive <commit> | tar -x`, node_modules
// linked, driver built); "after" is this checkout.
import { join } from 'node:path';
import * as after from './live.js';

const beforeRoot = process.argv[2]!;
const reps = Number(process.argv[3] ?? 3);
const kinds = (process.argv[4] ?? 'file,exec,connect').split(',') as after.Workload[];
const before = (await import(join(beforeRoot, 'bench/live.ts'))) as typeof after;
const work = after.makeWorkDir();
const bins = after.buildWorkloads(work);
const sizes: Record<string, number> = { exec: 1000, file: 40000, connect: 10000 }; // run.ts quick sizes
const rows: after.StormRow[] = [];
for (let rep = 0; rep < reps; rep++) {
  for (const kind of kinds) {
    const w = { kind, n: sizes[kind]!, fileDir: join(work, 'files') };
    for (const [name, mon] of [
      ['none', null],
      ['before', before.sysmonMonitor('before', before.DEFAULT_CONFIG)],
      ['after', after.sysmonMonitor('after', after.DEFAULT_CONFIG)],
    ] as const) {
      const r = await after.stormRun(bins, w, mon, work, rep);
      rows.push({ ...r, monitor: name });
      console.error(
        `${kind} ${name} rep ${rep}: ${r.seconds.toFixed(3)} s, monitor cpu ${r.cpu.toFixed(2)} s, captured ${r.captured ?? '-'}/${r.expected}${r.error ? ` ERROR ${r.error}` : ''}`,
      );
    }
  }
}
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
for (const kind of kinds) {
  const t = (m: string) => rows.filter((r) => r.workload === kind && r.monitor === m && !r.error).map((r) => r.seconds);
  const base = med(t('none'));
  for (const m of ['none', 'before', 'after']) {
    const xs = t(m);
    const cpu = rows.filter((r) => r.workload === kind && r.monitor === m && !r.error).map((r) => r.cpu);
    console.log(
      `| ${kind} | ${m} | ${med(xs).toFixed(3)} (${xs.map((x) => x.toFixed(2)).join(', ')}) | ${m === 'none' ? '-' : `${(100 * (med(xs) / base - 1)).toFixed(1)}%`} | ${m === 'none' ? '-' : med(cpu).toFixed(2)} |`,
    );
  }
}
