// Kernel side only: what the in-kernel filter costs the process doing file operations. The
// file family is attached in this process (no agent); the file storm runs with the filter's
// tables empty (records pass unjudged), then with the default config's and sysmon-modular's
// tables, interleaved. The cost is read from the kernel's own BPF run-time statistics
// (kernel.bpf_stats_enabled, switched on for the run and restored): run_time_ns of this
// object's file programs per storm operation, which other load on the machine barely moves
// (wall-clock storm time on a shared machine does). Usage (root):
//   node --import tsx bench/kernel-filter-walk.ts [reps] [n]
import { join } from 'node:path';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadConfigFile } from '../src/config/index.js';
import { compileKernelFilter, encodeTable, KF_TABLE_BYTES } from '../src/config/kernel-filter/index.js';
import { Driver } from '../src/kernel/loader.js';
import { DRIVER_OBJECTS } from '../src/driver-objects.js';
import { bpftoolJson, type ProgStat } from './bpftool.js';
import { BIG_CONFIG, DEFAULT_CONFIG, buildWorkloads, makeWorkDir, runWorkload, waitIdle } from './live.js';

const reps = Number(process.argv[2] ?? 5);
const n = Number(process.argv[3] ?? 20000);
const work = makeWorkDir();
const bins = buildWorkloads(work);
const driver = new Driver({
  objects: [DRIVER_OBJECTS[0]!, DRIVER_OBJECTS.find((o) => o.endsWith('file.bpf.o'))!],
  wanted: (p) => p.startsWith('file_create_') || p.startsWith('file_delete_'),
});
const maps = driver.kernelFilter()!;
const empty = Buffer.alloc(KF_TABLE_BYTES); // loaded = 0: every record passes without a walk
const tables: [string, Buffer][] = [
  ['tables empty', empty],
  ['default config', encodeTable(compileKernelFilter(loadConfigFile(DEFAULT_CONFIG).parsed), 1)],
  ['sysmon-modular', encodeTable(compileKernelFilter(loadConfigFile(BIG_CONFIG).parsed), 2)],
];
const json = bpftoolJson;
const kfMaps = json<{ id: number; name: string }[]>(['map', 'show'])
  .filter((m) => m.name === 'kf_tables')
  .map((m) => m.id);
if (kfMaps.length !== 1) throw new Error(`expected one kf_tables map (this process's), found ${kfMaps.length}: stop other kernel-filter runs`);
/** run time (ns) and runs of this object's file programs, summed */
function bpfTime(): { ns: number; runs: number } {
  const mine = json<ProgStat[]>(['prog', 'show']).filter((p) => p.name.startsWith('file_') && p.map_ids?.includes(kfMaps[0]!));
  return { ns: mine.reduce((a, p) => a + (p.run_time_ns ?? 0), 0), runs: mine.reduce((a, p) => a + (p.run_cnt ?? 0), 0) };
}
const STATS = '/proc/sys/kernel/bpf_stats_enabled';
const statsBefore = readFileSync(STATS, 'utf8').trim();
writeFileSync(STATS, '1');
const bpfNs = new Map<string, number[]>(tables.map(([k]) => [k, []]));
const times = new Map<string, number[]>(tables.map(([k]) => [k, []]));
const records = new Map<string, number[]>(tables.map(([k]) => [k, []]));
for (let rep = 0; rep < reps; rep++) {
  for (const [name, table] of tables) {
    maps.install(table);
    driver.ring.drain(() => {}, 1 << 22);
    await waitIdle(1500);
    const before = maps.read();
    const t0 = bpfTime();
    const r = await runWorkload(bins, { kind: 'file', n, fileDir: join(work, 'files') });
    let got = 0;
    driver.ring.drain(() => {
      got++;
    }, 1 << 22);
    const after = maps.read();
    const t1 = bpfTime();
    bpfNs.get(name)!.push((t1.ns - t0.ns) / (2 * n));
    times.get(name)!.push(r.seconds);
    records.get(name)!.push(got);
    console.error(
      `${name} rep ${rep}: ${r.seconds.toFixed(3)} s, BPF ${((t1.ns - t0.ns) / (2 * n)).toFixed(0)} ns/op in ${t1.runs - t0.runs} runs, ${got} records in the ring, judged ${after.judged - before.judged}, dropped ${after.dropped - before.dropped}`,
    );
  }
}
writeFileSync(STATS, statsBefore);
driver.close();
rmSync(work, { recursive: true, force: true });
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const base = med(bpfNs.get('tables empty')!);
console.log(`| tables | BPF ns per file op (median of ${reps}; ${n} create + ${n} unlink) | vs empty | storm s (median, noisy) | records in ring (median) |`);
console.log('|---|---|---|---|---|');
for (const [name] of tables) {
  const b = med(bpfNs.get(name)!);
  console.log(
    `| ${name} | ${b.toFixed(0)} (${bpfNs
      .get(name)!
      .map((x) => x.toFixed(0))
      .join(', ')}) | ${(b / base).toFixed(2)} | ${med(times.get(name)!).toFixed(3)} | ${med(records.get(name)!)} |`,
  );
}
