// Journal append throughput with ProcessCreate-sized events, per fsync policy, plus the
// fan-out cost with a no-op sink fed from memory. Run: npx tsx bench/journal.bench.ts [events]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SysmonEvent } from '../src/events/event.js';
import { Fanout, Journal } from '../src/journal/index.js';
import type { FsyncPolicy } from '../src/journal/index.js';
import { payloadText } from '../src/journal/format.js';

const N = Number(process.argv[2] ?? 300_000);
const BATCH = 256;

function processCreate(n: number): SysmonEvent {
  return {
    id: 1,
    recordId: 0,
    timeNs: 1_764_438_000_000_000_000n + BigInt(n) * 1000n,
    data: {
      RuleName: '-',
      UtcTime: '2025-11-29 18:00:00.123',
      ProcessGuid: '{6c0f3b1e-2f4a-6718-0000-00103a7c1e00}',
      ProcessId: 10000 + (n % 50000),
      Image: '/usr/bin/python3.12',
      FileVersion: '-',
      Description: '-',
      Product: '-',
      Company: '-',
      OriginalFileName: '-',
      CommandLine: `/usr/bin/python3.12 /opt/app/manage.py runworker --queue=default --concurrency=4 --pidfile=/run/app/worker-${n}.pid`,
      CurrentDirectory: '/opt/app',
      User: 'app',
      LogonGuid: '{6c0f3b1e-0000-0000-e803-000000000000}',
      LogonId: '0x3e8',
      TerminalSessionId: 4294967295,
      IntegrityLevel: 'no level',
      Hashes: 'SHA256=2F1E9C4B8A7D6E5F4C3B2A1908F7E6D5C4B3A2918F7E6D5C4B3A2918F7E6D5C4',
      ParentProcessGuid: '{6c0f3b1e-2f49-6718-0000-0010d2a31d00}',
      ParentProcessId: 9876,
      ParentImage: '/usr/lib/systemd/systemd',
      ParentCommandLine: '/sbin/init splash',
      ParentUser: 'root',
    },
  };
}

interface Row {
  what: string;
  evs: number;
  secs: number;
  cpu: number;
  bytes: number;
  fsyncs: number;
}

async function run(policy: FsyncPolicy, withSink: boolean): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'journal-bench-'));
  const pool = Array.from({ length: 4096 }, (_, i) => processCreate(i));
  const j = await Journal.open({ dir, fsync: policy, retention: { maxBytes: 0, maxAgeMs: 0 } });
  let delivered = 0;
  const f = new Fanout(j, { maxBatch: 1024, cursorFsync: false });
  if (withSink) {
    await f.add({
      name: 'null',
      open: async () => {},
      close: async () => {},
      write: async (b) => {
        delivered += b.length;
      },
    });
  }
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i += BATCH) {
    const batch: SysmonEvent[] = [];
    // a fresh data object per event: the journal stringifies each event's data once, and a
    // shared one would be stringified only the first time (its text is cached per object)
    for (let k = 0; k < BATCH && i + k < N; k++) {
      const e = pool[(i + k) % pool.length]!;
      batch.push({ ...e, recordId: 0, data: { ...e.data } });
    }
    if (!j.append(batch)) await j.drain();
    if ((i / BATCH) % 8 === 0) await new Promise((r) => setImmediate(r)); // let the writer and sinks run, as the pipeline would
  }
  await j.flush();
  while (withSink && delivered < N) await new Promise((r) => setTimeout(r, 1));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  const st = j.stats();
  await f.close();
  await j.close();
  await rm(dir, { recursive: true, force: true });
  return {
    what: `fsync=${policy}${withSink ? ' + fan-out to 1 null sink' : ''}`,
    evs: N,
    secs,
    cpu: (c.user + c.system) / 1e6,
    bytes: st.bytes,
    fsyncs: st.fsyncs,
  };
}

const sample = Buffer.byteLength(payloadText(processCreate(1))) + 16;
const rows: Row[] = [];
for (const p of ['never', 'group', 'always'] as FsyncPolicy[]) rows.push(await run(p, false));
rows.push(await run('group', true));
console.log(`\nJournal append, ${N} ProcessCreate events (${sample} B/record on disk), batches of ${BATCH}, node ${process.version}\n`);
console.log('| policy | events/s | events per CPU-second (all threads) | MB/s | fsyncs |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.what} | ${Math.round(r.evs / r.secs).toLocaleString('en-US')} | ${Math.round(r.evs / r.cpu).toLocaleString('en-US')} | ${(r.bytes / r.secs / 1e6).toFixed(1)} | ${r.fsyncs} |`,
  );
}
