// The process family's fork + exec + exit path with fresh pids, as a live exec storm drives it (a
// replay of a recording repeats its pids, so its process table never churns): fork and exit
// records built from the generated layout, the exec record a recorded one (`sysmon-ts record`)
// with its pid and start time rewritten, each op a new pid and start time, through
// Capture.onRecord (decode, handler, process table, containers; no config) of one or two
// checkouts, interleaved per rep. Past the table's bound on exited processes every exit also
// forgets the oldest one.
//
//   node --import tsx bench/process-churn.ts --records FILE [--ops 100000] [--reps 5] [--root CHECKOUT[|OTHER]]
// Prints, per checkout: ns of CPU (process, all threads) per fork + exec + exit, median of reps.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { STRUCTS } from '../src/kernel/generated/events-h.js';
import { readRecordFile } from '../src/commands/record.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const pairs = Number(arg('ops', '100000'));
const reps = Number(arg('reps', '5'));
const roots = arg('root', join(import.meta.dirname, '..')).split('|');

const H = STRUCTS.record_header.fields;
const I = STRUCTS.process_ids.fields;
function processRecord(type: 2 | 3, pid: number, startNs: bigint): Buffer {
  const size = type === 2 ? STRUCTS.fork_record.size : STRUCTS.exit_record.size;
  const ids = (type === 2 ? STRUCTS.fork_record.fields.ids : STRUCTS.exit_record.fields.ids)[0];
  const b = Buffer.alloc(size);
  b.writeUInt16LE(type, H.type[0]);
  b.writeUInt32LE(size, H.size[0]);
  b.writeBigUInt64LE(startNs, H.boot_ns[0]);
  b.writeUInt32LE(pid, H.tgid[0]);
  b.writeUInt32LE(pid, H.tid[0]);
  b.writeUInt32LE(1, ids + I.ppid[0]);
  b.writeBigUInt64LE(startNs, ids + I.start_boot_ns[0]);
  b.writeBigUInt64LE(0x5600_0000_1000n + BigInt(pid), ids + I.end_code[0]);
  b.writeBigUInt64LE(10_000_000n, ids + I.parent_start_boot_ns[0]);
  b.writeBigUInt64LE(0x5600_0000_0001n, ids + I.parent_end_code[0]);
  return b;
}

const execTemplate = readRecordFile(readFileSync(arg('records', '/tmp/exec.rec'))).find((r) => r.readUInt16LE(H.type[0]) === 1);
if (!execTemplate) throw new Error('no exec record in --records');
const EX = STRUCTS.exec_record.fields.ids[0];
function execRecord(pid: number, startNs: bigint): Buffer {
  const b = Buffer.from(execTemplate!);
  b.writeBigUInt64LE(startNs + 500_000n, H.boot_ns[0]);
  b.writeUInt32LE(pid, H.tgid[0]);
  b.writeUInt32LE(pid, H.tid[0]);
  b.writeUInt32LE(1, EX + I.ppid[0]);
  b.writeBigUInt64LE(startNs, EX + I.start_boot_ns[0]);
  b.writeBigUInt64LE(0x5600_0000_2000n + BigInt(pid), EX + I.end_code[0]);
  b.writeBigUInt64LE(10_000_000n, EX + I.parent_start_boot_ns[0]);
  b.writeBigUInt64LE(0x5600_0000_0001n, EX + I.parent_end_code[0]);
  return b;
}

interface Side {
  root: string;
  run(from: number, n: number): void;
}
async function side(root: string): Promise<Side> {
  const src = (p: string) => import(join(root, 'src', p));
  const { Capture } = await src('capture.ts');
  const { ProcessTable } = await src('events/processes.ts');
  const { GuidMaker } = await src('events/guid.ts');
  const { UserNames } = await src('events/host.ts');
  const { hashes } = await src('events/hashes.ts');
  hashes.configure(null);
  const cap = new Capture(new ProcessTable(new GuidMaker(1, 1_700_000_000), new UserNames(() => 'root')), 0n);
  const out: unknown[] = [];
  // the parent every record names (pid 1, started at 10 ms), known to the table as in an agent
  cap.onRecord(processRecord(2, 1, 10_000_000n), out, null);
  return {
    root,
    run(from, n) {
      for (let i = from; i < from + n; i++) {
        // pids cycle below 4M (pid_max), start times only grow: every pair is a new process
        const pid = 1000 + (i % 4_000_000);
        const start = 20_000_000n + BigInt(i) * 1_000_000n;
        cap.onRecord(processRecord(2, pid, start), out, null);
        cap.onRecord(execRecord(pid, start), out, null);
        cap.onRecord(processRecord(3, pid, start), out, null);
        out.length = 0;
      }
    },
  };
}

const sides = await Promise.all(roots.map(side));
const results = new Map<string, number[]>();
let next = 0;
for (const s of sides) {
  s.run(next, 20_000); // warm-up, and past the bound on exited processes
}
next += 20_000;
for (let rep = 0; rep < reps; rep++) {
  for (let k = 0; k < sides.length; k++) {
    const s = sides[(k + rep) % sides.length]!;
    const c0 = process.cpuUsage();
    s.run(next, pairs);
    const c = process.cpuUsage(c0);
    results.set(s.root, [...(results.get(s.root) ?? []), ((c.user + c.system) * 1000) / pairs]);
  }
  next += pairs;
}
for (const [root, xs] of results) {
  const m = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`${root}: ${m.toFixed(0)} ns CPU per fork + exec + exit, median of ${xs.length} (${xs.map((x) => x.toFixed(0)).join(', ')})`);
}
