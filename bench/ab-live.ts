// A/B of two checkouts' agents on the live storms with each config, interleaved per rep
// (none, before, after for every workload and config), so both sides see the same box.
// Usage (root): node --import tsx bench/ab-live.ts BEFORE_ROOT [reps] [workloads] [configs]
//   workloads: file,exec,connect   configs: default,big (big = sysmon-modular)
// BEFORE_ROOT is another copy of the tree (`git archive <commit> | tar -x`, node_modules
// linked, `make -C driver/linux`); "after" is this checkout. Prints one markdown row per
// workload x config x side: median wall time (each rep), slowdown against "none" of the same
// run, the agent's CPU seconds until it caught up, and that CPU per operation.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import * as after from './live.js';

const beforeRoot = process.argv[2]!;
const reps = Number(process.argv[3] ?? 3);
const kinds = (process.argv[4] ?? 'file,exec,connect').split(',') as after.Workload[];
const configs = (process.argv[5] ?? 'default,big').split(',');
const before = (await import(join(beforeRoot, 'bench/live.ts'))) as typeof after;
const configPath = (c: string) => (c === 'big' ? after.BIG_CONFIG : c === 'default' ? after.DEFAULT_CONFIG : c);
const work = after.makeWorkDir();
const bins = after.buildWorkloads(work);
const sizes: Record<string, number> = { exec: 1000, file: 40000, connect: 10000 }; // run.ts quick sizes
type Row = after.StormRow & { config: string };
const rows: Row[] = [];
for (let rep = 0; rep < reps; rep++) {
  for (const kind of kinds) {
    for (const config of configs) {
      const w = { kind, n: sizes[kind]!, fileDir: join(work, 'files') };
      const sides = [
        ['none', null],
        ['before', before.sysmonMonitor('before', configPath(config))],
        ['after', after.sysmonMonitor('after', configPath(config))],
      ] as const;
      // alternate which agent goes first, so neither always follows the idle baseline
      const order = rep % 2 === 0 ? [sides[0], sides[1], sides[2]] : [sides[0], sides[2], sides[1]];
      for (const [name, mon] of order) {
        const r = await after.stormRun(bins, w, mon, work, rep);
        rows.push({ ...r, monitor: name, config });
        console.error(
          `${kind} ${config} ${name} rep ${rep}: ${r.seconds.toFixed(3)} s, monitor cpu ${r.cpu.toFixed(2)} s, captured ${r.captured ?? '-'}/${r.expected}${r.error ? ` ERROR ${r.error}` : ''}`,
        );
      }
    }
  }
}
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log('| workload | config | agent | wall s, median (reps) | slowdown vs none | agent CPU s (median) | agent CPU per op | captured (median) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const kind of kinds) {
  for (const config of configs) {
    const sel = (m: string) => rows.filter((r) => r.workload === kind && r.config === config && r.monitor === m && !r.error);
    const base = med(sel('none').map((r) => r.seconds));
    for (const m of ['none', 'before', 'after']) {
      const rs = sel(m);
      const xs = rs.map((r) => r.seconds);
      const cpu = med(rs.map((r) => r.cpu));
      const perOp = m === 'none' ? '-' : `${((cpu / sizes[kind]!) * 1e6).toFixed(0)} us`;
      const slow = m === 'none' ? '-' : `${(100 * (med(xs) / base - 1)).toFixed(1)}%`;
      const captured = m === 'none' ? '-' : String(med(rs.map((r) => r.captured ?? 0)));
      console.log(
        `| ${kind} | ${config} | ${m} | ${med(xs).toFixed(3)} (${xs.map((x) => x.toFixed(2)).join(', ')}) | ${slow} | ${m === 'none' ? '-' : cpu.toFixed(2)} | ${perOp} | ${captured} |`,
      );
    }
  }
}
rmSync(work, { recursive: true, force: true });
