// The events a recording (`sysmon-ts record`) becomes through one checkout's capture (decode,
// handlers, process table, containers; no config: every event), one JSON line each (id, time,
// data, container), twice over (the second pass with the process table the first one filled).
// Two checkouts' outputs, run close together (records of processes not in the table are looked
// up in this machine's /proc), must be byte-identical when a change is meant to keep the events:
//   node --import tsx bench/capture-diff.ts CHECKOUT FILE | md5sum
// (a fixed boot epoch, 1e18 ns, keeps the times comparable)
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
const root = process.argv[2]!;
const src = (p: string) => import(join(root, 'src', p));
const { Capture } = await src('capture.ts');
const { ProcessTable } = await src('events/processes.ts');
const { GuidMaker } = await src('events/guid.ts');
const { bootTimeSeconds, machineId, UserNames } = await src('events/host.ts');
const { hashes } = await src('events/hashes.ts');
const { readRecordFile } = await src('commands/record.ts');
hashes.configure(null);
const records: Buffer[] = readRecordFile(readFileSync(process.argv[3]!));
const cap = new Capture(new ProcessTable(new GuidMaker(machineId(), bootTimeSeconds()), new UserNames()), 1_000_000_000_000_000_000n);
for (let pass = 0; pass < 2; pass++) {
  const out: { id: number; timeNs: bigint; data: unknown; container?: unknown }[] = [];
  for (const r of records) cap.onRecord(r, out, null);
  for (const e of out) process.stdout.write(`${JSON.stringify({ id: e.id, t: String(e.timeNs), d: e.data, c: e.container ?? null })}\n`);
}
