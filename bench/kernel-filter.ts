// The in-kernel file filter, on and off, in one interleaved run: agent CPU per operation and
// storm time for the exec, file and connect storms, with sysmon-modular and the default config.
// Usage (root): node --import tsx bench/kernel-filter.ts [reps] [workloads] [monitor filter, e.g. modular]
// Only file records are filtered in the kernel (docs/kernel-filtering.md); exec and connect are
// the control: their numbers should not move.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { BIG_CONFIG, DEFAULT_CONFIG, buildWorkloads, makeWorkDir, stormRun, sysmonMonitor, type StormRow, type Workload } from './live.js';

const reps = Number(process.argv[2] ?? 3);
const kinds = (process.argv[3] ?? 'file,exec,connect').split(',') as Workload[];
const work = makeWorkDir();
const bins = buildWorkloads(work);
const sizes: Record<Workload, number> = { exec: 1000, file: 40000, connect: 10000 };
const only = process.argv[4] ?? '';
const monitors = () =>
  (
    [
      ['none', null],
      ['modular, kernel filter off', sysmonMonitor('modular-off', BIG_CONFIG, ['--no-kernel-filter'])],
      ['modular, kernel filter on', sysmonMonitor('modular-on', BIG_CONFIG)],
      ['default, kernel filter off', sysmonMonitor('default-off', DEFAULT_CONFIG, ['--no-kernel-filter'])],
      ['default, kernel filter on', sysmonMonitor('default-on', DEFAULT_CONFIG)],
    ] as const
  ).filter(([label]) => label === 'none' || label.includes(only));
const rows: (StormRow & { label: string })[] = [];
for (let rep = 0; rep < reps; rep++) {
  for (const kind of kinds) {
    const w = { kind, n: sizes[kind], fileDir: join(work, 'files') };
    for (const [label, mon] of monitors()) {
      const r = await stormRun(bins, w, mon, work, rep);
      rows.push({ ...r, label });
      console.error(
        `${kind} ${label} rep ${rep}: ${r.seconds.toFixed(3)} s, agent cpu ${r.cpu.toFixed(2)} s, captured ${r.captured ?? '-'}/${r.expected}${r.error ? ` ERROR ${r.error}` : ''}`,
      );
    }
  }
}
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log('| storm | monitor | storm s (median) | agent CPU / op (us) | on/off CPU ratio | captured |');
console.log('|---|---|---|---|---|---|');
for (const kind of kinds) {
  const of = (label: string) => rows.filter((r) => r.workload === kind && r.label === label && !r.error);
  const cpuPerOp = (label: string) => med(of(label).map((r) => (1e6 * r.cpu) / r.ops));
  for (const [label] of monitors()) {
    const rs = of(label);
    if (rs.length === 0) {
      console.log(`| ${kind} | ${label} | error | | | |`);
      continue;
    }
    const off = label.replace(' on', ' off');
    const ratio = label.endsWith(' on') ? (cpuPerOp(label) / cpuPerOp(off)).toFixed(2) : '-';
    const cap = label === 'none' ? '-' : rs.map((r) => r.captured).join(', ') + ` of ${rs[0]!.expected}`;
    console.log(
      `| ${kind} | ${label} | ${med(rs.map((r) => r.seconds)).toFixed(3)} | ${label === 'none' ? '-' : cpuPerOp(label).toFixed(1)} | ${ratio} | ${cap} |`,
    );
  }
}
rmSync(work, { recursive: true, force: true });
