// A/B of the agent's capture path (decode, normalize, enrichment, rules: everything the live
// agent does per record before the journal) between two checkouts, one child process per
// pass (two trees' koffi types cannot share a process), sides alternated, over records saved
// by `sysmon-ts record`. Both trees are configured as their
// src/agent.ts configures them (file events, hashes and, where it exists, the early filter).
// Live storm runs on this shared box carry other jobs' events; this replay does not.
//
//   taskset -c 1 node --import tsx bench/capture-ab.ts BEFORE_ROOT RECORDS [reps] [configs]
//     configs: none,default,big (none = no rules, no hashing: "decode + normalize" alone)
// Not replayed faithfully: /proc reads for processes that have exited since the recording
// fail (live, they succeed and cost more: see bench/RESULTS.md).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [beforeRoot, recordsFile] = [process.argv[2]!, process.argv[3]!];
const reps = Number(process.argv[4] ?? 3);
const configs = (process.argv[5] ?? 'none,default,big').split(',');
const AFTER_ROOT = join(import.meta.dirname, '..');
const BATCH = 16384; // what Agent.drainRing takes per poll

interface Event {
  id: number;
  data: Record<string, unknown>;
}
interface Tree {
  name: string;
  newCapture(): { onRecord(raw: Buffer, out: Event[]): void; takeDeferred(): Promise<unknown>[] };
  configure(config: string): ((ev: Event) => boolean) | null;
}

async function loadTree(name: string, root: string): Promise<Tree> {
  const m = (p: string) => import(join(root, p));
  const [{ Capture }, cfg, { ProcessTable }, { GuidMaker }, host, fileEvents] = await Promise.all([
    m('src/capture.ts'),
    m('src/config/index.ts'),
    m('src/events/processes.ts'),
    m('src/events/guid.ts'),
    m('src/events/host.ts'),
    m('src/families/file/events.ts'),
  ]);
  let early: { configure(c: unknown): void } | null = null;
  try {
    early = (await m('src/events/early-filter.ts')).earlyFilter;
  } catch {
    /* the base has none */
  }
  const hashes = (await m('src/events/hashes.ts')).hashes;
  return {
    name,
    newCapture: () => new Capture(new ProcessTable(new GuidMaker(host.machineId(), host.bootTimeSeconds()), new host.UserNames()), host.bootEpochNs()),
    configure(config) {
      if (config === 'none') {
        hashes.configure(null);
        early?.configure(null);
        return null;
      }
      const c = config === 'default' ? cfg.defaultConfig() : cfg.loadConfigFile(join(AFTER_ROOT, 'test/fixtures/configs/sysmon-modular-sysmonconfig.xml'));
      fileEvents.configureFileEvents(c);
      early?.configure(c);
      return (ev) => c.engine.apply(ev);
    },
  };
}

/** src/commands/record.ts's format (not imported: its tree's native types would clash with BEFORE_ROOT's) */
function readRecordFile(buf: Buffer): Buffer[] {
  if (buf.subarray(0, 8).toString('latin1') !== 'SYSMREC1') throw new Error('not a sysmon-ts record file');
  const out: Buffer[] = [];
  for (let at = 8; at + 4 <= buf.length; ) {
    const n = buf.readUInt32LE(at);
    if (at + 4 + n > buf.length) break;
    out.push(buf.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return out;
}

async function pass(tree: Tree, records: Buffer[], config: string): Promise<{ seconds: number; events: number; kept: number }> {
  const apply = tree.configure(config);
  const cap = tree.newCapture();
  let events = 0,
    kept = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i += BATCH) {
    const out: Event[] = [];
    const end = Math.min(records.length, i + BATCH);
    for (let j = i; j < end; j++) cap.onRecord(records[j]!, out);
    const waits = cap.takeDeferred();
    if (waits.length) await Promise.allSettled(waits);
    events += out.length;
    if (apply) {
      for (const e of out) if (apply(e)) kept++;
    } else kept += out.length;
  }
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, events, kept };
}

if (process.argv[2] === '--child') {
  // one timed pass of one tree after a warm-up pass: prints records/s, events, kept
  const [root, file, config] = [process.argv[3]!, process.argv[4]!, process.argv[5]!];
  const records = readRecordFile(readFileSync(file));
  const tree = await loadTree('child', root);
  await pass(tree, records, config);
  const r = await pass(tree, records, config);
  console.log(JSON.stringify({ recordsPerSec: records.length / r.seconds, events: r.events, kept: r.kept }));
  process.exit(0);
}

const results = new Map<string, number[]>();
const sides = [
  ['before', beforeRoot],
  ['after', AFTER_ROOT],
] as const;
for (const config of configs) {
  for (let rep = 0; rep < reps; rep++) {
    for (const [name, root] of rep % 2 === 0 ? sides : [...sides].reverse()) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', root, recordsFile, config], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const r = JSON.parse(out.trim().split('\n').pop()!) as { recordsPerSec: number; events: number; kept: number };
      const key = `${config} ${name}`;
      results.set(key, [...(results.get(key) ?? []), r.recordsPerSec]);
      console.error(`${config} ${name} rep ${rep}: ${r.recordsPerSec.toFixed(0)} records/s, ${r.events} events, ${r.kept} kept`);
    }
  }
}
const best = (xs: number[]) => Math.max(...xs);
const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log('| config | before records/s (median; reps) | after records/s (median; reps) | after / before (median) |');
console.log('|---|---|---|---|');
for (const config of configs) {
  const b = results.get(`${config} before`)!,
    a = results.get(`${config} after`)!;
  const f = (xs: number[]) => `${med(xs).toFixed(0)} (${xs.map((x) => (x / 1000).toFixed(0) + 'k').join(', ')})`;
  console.log(`| ${config} | ${f(b)} | ${f(a)} | ${(med(a) / med(b)).toFixed(2)}x (best ${(best(a) / best(b)).toFixed(2)}x) |`);
}
process.exit(0);
