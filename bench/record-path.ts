// The live agent's per-record path without the kernel and without the journal: raw ring
// records saved by `sysmon-ts record` (e.g. during an exec storm) -> Capture.onRecord (decode,
// handler, process table, early filter) with the active config's early filter configured as
// src/agent.ts does. What an exec costs the main thread when sysmon-modular drops its events
// (issue 17), with enough samples for a CPU profile (--cpu-prof) and an A/B in one process
// pair (--root: another checkout's src/, e.g. the branch point).
//
//   node --import tsx bench/record-path.ts --records FILE [--config default|big|none]
//        [--seconds 3] [--root CHECKOUT]
// Prints one JSON line: records per pass, ns per record (median of timed passes), the process's
// CPU per record (all threads), events out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const root = arg('root', join(import.meta.dirname, '..'));
const configName = arg('config', 'big');
const seconds = Number(arg('seconds', '3'));
const src = (p: string) => import(join(root, 'src', p));

const { Capture } = await src('capture.ts');
const { ProcessTable } = await src('events/processes.ts');
const { GuidMaker } = await src('events/guid.ts');
const { bootEpochNs, bootTimeSeconds, machineId, UserNames } = await src('events/host.ts');
const { earlyFilter } = await src('events/early-filter.ts');
const { hashes } = await src('events/hashes.ts');
const { loadConfigFile } = await src('config/index.ts');
const { configureFileEvents } = await src('families/file/events.ts');
const { readRecordFile } = await src('commands/record.ts');

const records: Buffer[] = readRecordFile(readFileSync(arg('records', '/tmp/exec.rec')));
const config =
  configName === 'none'
    ? null
    : configName === 'default'
      ? loadConfigFile(join(root, 'src/config/default.xml'))
      : configName === 'big'
        ? loadConfigFile(join(root, 'test/fixtures/configs/sysmon-modular-sysmonconfig.xml'))
        : loadConfigFile(configName);
if (config) {
  configureFileEvents(config);
  earlyFilter.configure(config);
}
// hashes are computed off the main thread in the agent; here they would only add waiting
hashes.configure(null);

const users = new UserNames();
const guids = new GuidMaker(machineId(), bootTimeSeconds());
// one Capture for every pass, as the live agent has one: after the first pass the table
// knows the recording's processes (the agent seeds its table from /proc), so parents and
// image loaders are found there, not read from /proc again for pids long gone
const cap = new Capture(new ProcessTable(guids, users), bootEpochNs());
function pass(): number {
  let events = 0;
  const out: unknown[] = [];
  for (const r of records) {
    cap.onRecord(r, out);
    events += out.length;
    out.length = 0;
  }
  cap.takeDeferred();
  return events;
}

let events = 0;
const t0 = performance.now();
while (performance.now() - t0 < 1000) events = pass(); // warm-up: the JIT's hot paths
const times: number[] = [];
const tEnd = performance.now() + seconds * 1000;
// the process's CPU (every thread: V8's GC and compiler helpers too, as the live agent's figure
// counts them), over all timed passes
const cpu0 = process.cpuUsage();
while (performance.now() < tEnd) {
  const a = performance.now();
  events = pass();
  times.push(performance.now() - a);
}
const cpu = process.cpuUsage(cpu0);
const cpuNsPerRecord = Math.round(((cpu.user + cpu.system) * 1000) / (times.length * records.length));
times.sort((a, b) => a - b);
// heap bytes allocated per record (run with --expose-gc and a young generation larger than a
// pass, e.g. --min-semi-space-size=256 --max-semi-space-size=256): heap used after a full GC,
// then after one more pass with no GC in between
let bytesPerRecord: number | undefined;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  gc();
  const before = process.memoryUsage().heapUsed;
  pass();
  bytesPerRecord = Math.round((process.memoryUsage().heapUsed - before) / records.length);
}
const med = times[Math.floor(times.length / 2)]!;
process.stdout.write(
  `${JSON.stringify({ root, config: configName, records: records.length, passes: times.length, nsPerRecord: Math.round((med * 1e6) / records.length), cpuNsPerRecord, eventsPerPass: events, bytesPerRecord })}\n`,
);
