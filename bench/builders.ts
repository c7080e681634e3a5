// Cost of building events: the builders of this tree against those of another (`--before DIR`,
// a worktree of the starting commit), in one process, rounds interleaved A/B so both see the
// same machine. Per event: ns of CPU for the builder call (the event object, its EventData and
// UtcTime text), and whether the EventData of one event ID keeps one hidden class whichever
// way it was built (known or unknown process), and the young-generation collections per
// million events (with a fixed semi-space: bytes allocated per event ~ scavenges x semi-space / N).
// Usage: node --allow-natives-syntax --min-semi-space-size=16 --max-semi-space-size=16 --import tsx \
//          bench/builders.ts --before /tmp/schema-base [--n 200000] [--rounds 5]
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import type { SysmonEvent } from '../src/events/event.js';
import type { ProcessInfo, ProcessTable } from '../src/events/processes.js';
import type { FileRecord } from '../src/families/file/records.js';
import type { NetConnectRecord } from '../src/families/network/records.js';
import type { AccessRecord, TargetIds } from '../src/families/security/records.js';
import type { ProcessIds } from '../src/families/decode.js';

const { values: opt } = parseArgs({
  options: {
    before: { type: 'string' },
    tree: { type: 'string', default: '.' },
    n: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
  },
});
const N = Number(opt.n);
const ROUNDS = Number(opt.rounds);

interface Tree {
  name: string;
  fileCreate(r: FileRecord, p: ProcessInfo | undefined, t: bigint): SysmonEvent;
  fileDelete(id: 23 | 26, r: FileRecord, p: ProcessInfo | undefined, t: bigint, h: string): SysmonEvent;
  networkConnect(r: NetConnectRecord, p: ProcessInfo | undefined, t: bigint, ports: null): SysmonEvent;
  processCreate(table: ProcessTable, p: ProcessInfo, parent: ProcessInfo | undefined, parentGuid: string, t: bigint, s: bigint): SysmonEvent;
  processAccess(r: AccessRecord, src: unknown, tgt: unknown, t: bigint): SysmonEvent;
}

async function load(root: string, name: string): Promise<Tree> {
  const m = async (p: string) => import(pathToFileURL(join(root, p)).href);
  const [file, net, proc, sec] = await Promise.all([
    m('src/families/file/events.ts'),
    m('src/families/network/events.ts'),
    m('src/families/process/events.ts'),
    m('src/families/security/events.ts'),
  ]);
  return {
    name,
    fileCreate: file.fileCreate,
    fileDelete: file.fileDelete,
    networkConnect: net.networkConnect,
    processCreate: proc.processCreate,
    processAccess: sec.processAccess,
  };
}

const proc: ProcessInfo = {
  pid: 4242,
  ppid: 1,
  guid: '{3fc4a2b1-1c2d-692c-0000-001234567890}',
  key: 0x12345678,
  ticks: 12345,
  image: '/usr/bin/curl',
  commandLine: 'curl -s https://example.com/',
  cwd: '/root',
  uid: 0,
  user: 'root',
  loginUid: 0,
  session: 3,
  tty: 0,
};
const ids: ProcessIds = { uid: 0, euid: 0, gid: 0, auid: 0, sessionid: 3, ppid: 1, startBootNs: 1n, endCode: 2n, parentStartBootNs: 3n, parentEndCode: 4n };
const target: TargetIds = { tgid: 77, tid: 77, uid: 0, startBootNs: 5n, endCode: 6n };
const file = {
  type: 20,
  flags: 0,
  bootNs: 1n,
  tgid: 4242,
  tid: 4242,
  op: 0,
  info: 1,
  mode: 0o100755,
  dev: 8,
  ino: 99n,
  size: 10n,
  nlink: 0,
  rdev: 0,
  mtimeNs: 0n,
  newTimeNs: 0n,
  path: '/tmp/some/where/file.txt',
} as unknown as FileRecord;
const net = {
  type: 10,
  flags: 0,
  bootNs: 1n,
  tgid: 4242,
  tid: 4242,
  ownerStartTicks: 0,
  uid: 0,
  family: 2,
  protocol: 6,
  initiated: true,
  localPort: 40000,
  remotePort: 443,
  localAddr: Buffer.from([127, 0, 0, 1]),
  localAddrAt: 0,
  remoteAddr: Buffer.from([93, 184, 216, 34]),
  remoteAddrAt: 0,
} as unknown as NetConnectRecord;
const access = { type: 40, flags: 0, bootNs: 1n, tgid: 4242, tid: 4243, ids, target, granted: 0x1fffff, how: 0, request: 0n } as unknown as AccessRecord;
const table = { logonGuid: () => '{3fc4a2b1-0000-0000-0000-000000000000}' } as unknown as ProcessTable;
const who = { guid: proc.guid, pid: 4242, image: proc.image, user: 'root' };
const tgt = { guid: '{3fc4a2b1-1c2d-692c-0000-000000000077}', pid: 77, image: '/usr/sbin/sshd', user: 'root' };

const CASES: [string, (t: Tree, i: number) => SysmonEvent][] = [
  ['11 FileCreate', (t, i) => t.fileCreate(file, i & 1 ? proc : undefined, BigInt(i) * 1_000_000n)],
  ['23 FileDelete', (t, i) => t.fileDelete(23, file, proc, BigInt(i) * 1_000_000n, '-')],
  ['3 NetworkConnect', (t, i) => t.networkConnect(net, proc, BigInt(i) * 1_000_000n, null)],
  ['1 ProcessCreate', (t, i) => t.processCreate(table, proc, proc, proc.guid, BigInt(i) * 1_000_000n, BigInt(i) * 1_000_000n)],
  ['10 ProcessAccess', (t, i) => t.processAccess(access, who, tgt, BigInt(i) * 1_000_000n)],
];

const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

let scavenges = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
}).observe({ entryTypes: ['gc'] });
// gc entries arrive on a later turn of the loop
const flushGcEntries = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

async function time(t: Tree, run: (t: Tree, i: number) => SysmonEvent): Promise<[number, number]> {
  await flushGcEntries();
  const s0 = scavenges;
  let keep = 0;
  const c0 = cpuNs();
  for (let i = 0; i < N; i++) keep += run(t, i).id;
  const ns = (cpuNs() - c0) / N;
  if (keep === 0) throw new Error('unreachable');
  await flushGcEntries();
  return [ns, ((scavenges - s0) * 1e6) / N];
}

const natives = (() => {
  try {
    return new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  } catch {
    return null;
  }
})();

function shapes(t: Tree): string {
  if (!natives) return 'n/a (run with --allow-natives-syntax)';
  const same = [
    natives(t.fileCreate(file, proc, 1n).data, t.fileCreate(file, undefined, 1n).data),
    natives(t.fileDelete(23, file, proc, 1n, '-').data, t.fileDelete(23, file, undefined, 1n, '-').data),
    natives(t.networkConnect(net, proc, 1n, null).data, t.networkConnect(net, undefined, 1n, null).data),
  ];
  return same.map((s) => (s ? 'same' : 'DIFFERENT')).join(' / ');
}

// --tree DIR alone (no --before): one tree, e.g. under --cpu-prof for a profile of each side
const after = await load(resolve(opt.tree), opt.tree === '.' ? 'after' : opt.tree);
const before = opt.before ? await load(resolve(opt.before), 'before') : null;
const trees = before ? [before, after] : [after];
const results = new Map<string, number[]>();
const gcs = new Map<string, number[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, run] of CASES) {
    for (const t of r % 2 ? [...trees].reverse() : trees) {
      const k = `${name}\t${t.name}`;
      const [ns, gc] = await time(t, run);
      if (r === 0) continue; // round 0 warms up
      results.set(k, [...(results.get(k) ?? []), ns]);
      gcs.set(k, [...(gcs.get(k) ?? []), gc]);
    }
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`node ${process.version}, ${N} events per case, median of ${ROUNDS - 1} rounds (CPU ns/event)`);
console.log(['event', ...trees.map((t) => `${t.name} ns`), before ? 'after/before' : '', ...trees.map((t) => `${t.name} scavenges/1M`)].join('\t'));
for (const [name] of CASES) {
  const v = trees.map((t) => median(results.get(`${name}\t${t.name}`)!));
  const g = trees.map((t) => median(gcs.get(`${name}\t${t.name}`)!));
  console.log([name, ...v.map((x) => x.toFixed(0)), before ? (v[1]! / v[0]!).toFixed(2) : '', ...g.map((x) => x.toFixed(1))].join('\t'));
}
for (const t of trees) console.log(`EventData hidden class, known vs unknown process (11 / 23 / 3), ${t.name}: ${shapes(t)}`);
