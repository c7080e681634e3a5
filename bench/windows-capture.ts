// Windows records through the service side, without a Windows machine: a mix of records as
// the Windows driver writes them (test/windows/records.ts) replayed through the Windows decoder
// and handlers (Capture) and then the rule engine with sysmon-modular's config (a Windows
// config, so its registry, file and image rules really apply). Prints one JSON line.
//
//   node --import tsx bench/windows-capture.ts [--records N]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigText } from '../src/config/index.js';
import { configureFileEvents } from '../src/families/file/events.js';
import type { SysmonEvent } from '../src/events/event.js';
import { hashes } from '../src/events/hashes.js';
import { windowsPlatformCapture } from '../src/platform/windows.js';
import { DeviceMap } from '../src/families/windows/paths.js';
import * as R from '../test/windows/records.js';

const at = process.argv.indexOf('--records');
const total = at >= 0 ? Number(process.argv[at + 1]) : 400_000;
const VOL = '\\Device\\HarddiskVolume3';
const facts = {
  machineGuid: '94f748d5-0c1e-4b7a-9f00-6d2b1e0a7c11',
  devices: new DeviceMap([['C:', VOL]]),
  accountName: (sid: string) => (sid === 'S-1-5-21-1-2-3-1001' ? 'CORP\\alice' : sid),
};

// one "process life": create, 6 image loads, 8 files, 10 registry writes, an access with its stack, exit
function life(pid: number): Buffer[] {
  const key = BigInt(pid) << 8n;
  const k = { pid, startKey: key };
  const recs: Buffer[] = [
    R.winProcess(pid, `${VOL}\\Windows\\System32\\svchost.exe`, `C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule ${pid}`, {
      startKey: key,
      ppid: 4,
    }),
  ];
  for (const [i, d] of ['ntdll.dll', 'KERNEL32.DLL', 'KERNELBASE.dll', 'RPCRT4.dll', 'combase.dll', 'ucrtbase.dll'].entries()) {
    recs.push(R.winImage(pid, `${VOL}\\Windows\\System32\\${d}`, false, { base: 0x7ffa00000000n + BigInt(i) * 0x1000000n, size: 0x200000n, startKey: key }));
  }
  for (let i = 0; i < 8; i++) recs.push(R.winFile(210, `${VOL}\\Users\\alice\\AppData\\Local\\Temp\\f${pid}-${i}.tmp`, '', k));
  for (let i = 0; i < 10; i++) {
    recs.push(
      R.winReg(221, `\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\k${i}`, `v${pid}`, Buffer.from([i, 0, 0, 0]), {
        ...k,
        valueType: 4,
      }),
    );
  }
  const access = R.accessRecord(pid, 672, 0x1410, { srcKey: key, bootNs: BigInt(pid) });
  recs.push(access, R.stackRecord(access, [0x7ffa00001234n, 0x7ffa01005678n, 0x7ffa03009abcn]));
  recs.push(R.exitRecord(pid, 0, key));
  return recs;
}

// 1,000 process lives (~28k records), replayed until `total`, in the agent's batch size; events
// are dropped after the rules, as the journal would take them (nothing piles up in memory)
const base: Buffer[] = [];
for (let pid = 1000; pid < 5000; pid += 4) base.push(...life(pid));
const BATCH = 16384;

const config = loadConfigText(readFileSync(join(import.meta.dirname, '..', 'test/fixtures/configs/sysmon-modular-sysmonconfig.xml'), 'utf8'), 'sysmon-modular');
configureFileEvents(config);
// the images are not on this machine: hashing them would time failed opens, not the pipeline
hashes.configure(null);
const pc = windowsPlatformCapture(facts, () => 1_764_500_000_000_000_000n);

let records = 0,
  events = 0,
  kept = 0,
  captureNs = 0n,
  rulesNs = 0n;
while (records < total) {
  for (let i = 0; i < base.length; i += BATCH) {
    const out: SysmonEvent[] = [];
    const t0 = process.hrtime.bigint();
    const batch = base.slice(i, i + BATCH);
    for (const r of batch) pc.capture.onRecord(r, out);
    await Promise.all(pc.capture.takeDeferred());
    const t1 = process.hrtime.bigint();
    for (const ev of out) if (config.engine.apply(ev)) kept++;
    rulesNs += process.hrtime.bigint() - t1;
    captureNs += t1 - t0;
    records += batch.length;
    events += out.length;
  }
}
const rate = (n: number, ns: bigint): number => Math.round(n / (Number(ns) / 1e9));
console.log(
  JSON.stringify({
    records,
    events,
    kept,
    rejected: pc.capture.counters.rejected,
    captureRecordsPerSec: rate(records, captureNs),
    rulesEventsPerSec: rate(events, rulesNs),
    bothEventsPerSec: rate(events, captureNs + rulesNs),
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
  }),
);
