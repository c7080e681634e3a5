// Kernel side only: what the per-process verdicts (driver/linux/verdict.bpf.h) cost the
// processes being watched. The process and network objects of two checkouts (BASE, e.g. the
// branch point, and this one) are loaded in turn in this process (no agent) and see the same
// storms: an exec storm (fork + exec + exit per op: the exec and exit programs now update and
// delete the verdict maps) and a loopback connect storm (connect + accept per op: the network
// programs now look the verdict up; here with a config loaded and no verdict for the storm,
// the case of every process the config does not drop). The cost is read from the kernel's own
// BPF run-time statistics (kernel.bpf_stats_enabled, switched on for the run and restored):
// run_time_ns of this driver's programs per storm operation. Usage (root):
//   node --import tsx bench/process-verdict-kernel.ts BASE_CHECKOUT [reps] [n]
import { join } from 'node:path';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadConfigFile } from '../src/config/index.js';
import { compileKernelFilter, encodeTable } from '../src/config/kernel-filter/index.js';
import { compileProcessVerdicts } from '../src/config/kernel-filter/process-verdicts.js';
import { Driver } from '../src/kernel/loader.js';
import { DRIVER_OBJECTS } from '../src/driver-objects.js';
import { bpftoolJson, type ProgStat } from './bpftool.js';
import { BIG_CONFIG, buildWorkloads, makeWorkDir, runWorkload, waitIdle, type Workload } from './live.js';

const baseRoot = process.argv[2];
if (!baseRoot) throw new Error('usage: process-verdict-kernel.ts BASE_CHECKOUT [reps] [n]');
const reps = Number(process.argv[3] ?? 5);
const n = Number(process.argv[4] ?? 3000);
const work = makeWorkDir();
const bins = buildWorkloads(work);
const objectsOf = (dir: string) => [join(dir, 'process.bpf.o'), join(dir, 'network.bpf.o')];
const sides: [string, string[]][] = [
  ['before', objectsOf(join(baseRoot, 'driver/linux/.output'))],
  ['after', objectsOf(DRIVER_OBJECTS[0]!.slice(0, DRIVER_OBJECTS[0]!.lastIndexOf('/')))],
];
const parsed = loadConfigFile(BIG_CONFIG).parsed;
const table = encodeTable(compileKernelFilter(parsed), 1, compileProcessVerdicts(parsed).ports);

const json = bpftoolJson;
/** the kernel's id of the map behind one of our fds */
const mapId = (fd: number) => Number(/map_id:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]);
function bpfNs(ring: number, prefix: string): number {
  return json<ProgStat[]>(['prog', 'show'])
    .filter((p) => p.name.startsWith(prefix) && p.map_ids?.includes(ring))
    .reduce((a, p) => a + (p.run_time_ns ?? 0), 0);
}

const STATS = '/proc/sys/kernel/bpf_stats_enabled';
const statsBefore = readFileSync(STATS, 'utf8').trim();
writeFileSync(STATS, '1');
const kinds: [Workload, string, number][] = [
  ['exec', 'process_', n],
  ['connect', 'net_', n * 5],
];
const results = new Map<string, number[]>();
try {
  for (let rep = 0; rep < reps; rep++) {
    for (const [side, objects] of rep % 2 ? [...sides].reverse() : sides) {
      const driver = new Driver({ objects, wanted: (p) => p.startsWith('process_') || p === 'net_tcp_state' || p.startsWith('net_x_accept') });
      try {
        // the after side's verdict code runs only with a loaded table (the agent always has one)
        driver.kernelFilter()?.install(table);
        const ring = mapId(driver.mapFd('events')!);
        for (const [kind, prefix, ops] of kinds) {
          driver.ring.drain(() => {}, 1 << 22);
          await waitIdle(1000);
          const t0 = bpfNs(ring, prefix);
          await runWorkload(bins, { kind, n: ops, fileDir: join(work, 'files') });
          const ns = (bpfNs(ring, prefix) - t0) / ops;
          const key = `${kind} ${side}`;
          results.set(key, [...(results.get(key) ?? []), ns]);
          console.error(`${key} rep ${rep}: BPF ${ns.toFixed(0)} ns/op`);
          driver.ring.drain(() => {}, 1 << 22);
        }
      } finally {
        driver.close();
      }
    }
  }
} finally {
  writeFileSync(STATS, statsBefore);
  rmSync(work, { recursive: true, force: true });
}
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log(`| storm | BPF ns per op, before (median of ${reps}) | after | after / before |`);
console.log('|---|---|---|---|');
for (const [kind, , ops] of kinds) {
  const b = results.get(`${kind} before`)!,
    a = results.get(`${kind} after`)!;
  const fmt = (xs: number[]) => `${med(xs).toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(', ')})`;
  console.log(`| ${kind} (${ops} ops) | ${fmt(b)} | ${fmt(a)} | ${(med(a) / med(b)).toFixed(2)} |`);
}
