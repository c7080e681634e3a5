// Every event every builder emits carries exactly its schema fields, in schema order
// (src/events/schema.ts, the one field list; src/events/build.ts compiles the builders from it):
//  - a table over every event ID of the schema: its builder, given the fields in reverse order,
//    writes them in schema order, each value under its own name, the acting process's fields
//    from the right process; and the schema's order is Sysmon's (SysmonCommon's manifest, an
//    independent copy), so a field swapped in the schema fails here too;
//  - Windows: records as the driver writes them, through the real ring, capture and handlers;
//  - Linux: the real eBPF programs and the real agent, activity of every kind the families
//    report, every event of its JSONL output checked (the machine's own activity included).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { builder, builderSource } from '../../src/events/build.js';
import type { Actor } from '../../src/events/actor.js';
import type { SysmonEvent } from '../../src/events/event.js';
import { EVENTS, eventDef, type EventId } from '../../src/events/schema.js';
import { errorReport, configChanged, serviceState } from '../../src/events/service-events.js';
import { sysmonManifests } from '../../src/commands/schema.js';
import { decodeRecord } from '../../src/families/decode.js';
import { SECURITY_LAYOUT, SECURITY_SIZES, type ModuleRecord } from '../../src/families/security/records.js';
import { SECURITY_HANDLERS } from '../../src/families/security/events.js';
import type { CaptureContext } from '../../src/families/descriptor.js';
import { RingWalker } from '../../src/kernel/ring-walker.js';
import { sectionViews } from '../../src/kernel/windows/section.js';
import { windowsPlatformCapture } from '../../src/platform/windows.js';
import { DeviceMap } from '../../src/families/windows/paths.js';
import type { WindowsHostFacts } from '../../src/families/windows/host-facts.js';
import { loadConfigText } from '../../src/config/index.js';
import { configureFileEvents } from '../../src/families/file/events.js';
import { AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';
import { SectionProducer } from '../windows/ring-producer.js';
import * as R from '../windows/records.js';

const names = (id: number): string[] => eventDef(id).fields.map((f) => f.name);

/** Fails unless `data` has exactly event `id`'s schema fields, in schema order. */
function assertSchemaOrder(id: number, data: Record<string, unknown>, where: string): void {
  assert.deepEqual(Object.keys(data), names(id), `${where}: event ${id} fields in schema order`);
}

describe('the builder of every schema event', () => {
  const src: Actor = { guid: '{s-guid}', pid: 11, image: 's-image', user: 's-user' };
  const tgt: Actor = { guid: '{t-guid}', pid: 22, image: 't-image', user: 't-user' };
  const ACTOR_PROP: Record<string, keyof Actor> = { ProcessGuid: 'guid', ProcessGUID: 'guid', ProcessId: 'pid', Image: 'image', User: 'user' };

  for (const def of EVENTS) {
    it(`event ${def.id} (${def.template}): schema fields in schema order whatever order they are given in`, () => {
      const fields = def.fields.map((f) => f.name);
      const pair = fields.includes('SourceProcessId');
      const acting = !pair && fields.includes('ProcessGuid');
      /** where each field's value must come from: an actor's property or the given field */
      const expected = (name: string): unknown => {
        if (name === 'RuleName') return '-';
        if (acting && ACTOR_PROP[name]) return src[ACTOR_PROP[name]];
        if (pair && /^(Source|Target)/.test(name) && ACTOR_PROP[name.slice(6)]) return (name.startsWith('Source') ? src : tgt)[ACTOR_PROP[name.slice(6)]!];
        return `given ${name}`;
      };
      // given in reverse schema order, plus the filled ones, which the builder must not take from here
      const given: Record<string, unknown> = {};
      for (const name of [...fields].reverse()) given[name] = expected(name) === `given ${name}` ? `given ${name}` : 'NOT THIS';
      const b = builder(def.id as EventId) as (...args: unknown[]) => SysmonEvent;
      const ev = pair ? b(7n, src, tgt, given) : acting ? b(7n, src, given) : b(7n, given);
      assert.equal(ev.id, def.id);
      assert.equal(ev.recordId, 0);
      assert.equal(ev.timeNs, 7n);
      assertSchemaOrder(def.id, ev.data, builderSource(def.id));
      for (const name of fields) assert.equal(ev.data[name], expected(name), `event ${def.id} ${name}`);
    });
  }

  it("the schema's field order is Sysmon's: SysmonCommon's manifest (events 1-26, 255) agrees field for field", () => {
    const m481 = sysmonManifests().entries.find((e) => e.version === '4.81')!.text;
    let checked = 0;
    for (const ev of m481.matchAll(/<event name="[^"]+" value="(\d+)"[^>]*>([\s\S]*?)<\/event>/g)) {
      const id = Number(ev[1]);
      const theirs = [...ev[2]!.matchAll(/<data name="([^"]+)"/g)].map((d) => d[1]);
      assert.deepEqual(names(id), theirs, `event ${id}`);
      checked++;
    }
    assert.equal(checked, 27, 'events 1-26 and 255');
  });

  it('no event is written by hand: only src/events/build.ts makes a new event object', () => {
    const root = join(import.meta.dirname, '../..');
    const files = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join('src', f));
    const hand = files.filter((f) => f !== join('src', 'events', 'build.ts') && /\brecordId:\s*0\b/.test(readFileSync(join(root, f), 'utf8')));
    assert.deepEqual(hand, [], 'event literals outside the builders (use builder(ID))');
  });

  it("the agent's own events (4, 16, 255)", () => {
    for (const ev of [serviceState('Started'), configChanged('/etc/x.xml', 'SHA256=00'), errorReport('RingDrops', 'lost 3')]) {
      assertSchemaOrder(ev.id, ev.data, 'service-events');
    }
  });
});

// The builders' types, checked by `tsc --noEmit` (npm test): each call under @ts-expect-error must be an error;
// if a builder's type stopped requiring exactly its event's fields, the directive itself would fail.
export function typeChecks(a: Actor): void {
  const build9 = builder(9);
  build9(1n, a, { Device: '/dev/sda', UtcTime: 'any order is fine' });
  // @ts-expect-error a field missing (Device)
  build9(1n, a, { UtcTime: 'x' });
  // @ts-expect-error a field the schema lacks
  build9(1n, a, { UtcTime: 'x', Device: 'd', Devices: 'd' });
  // @ts-expect-error a field of the wrong type (NewThreadId is a UInt32: a number)
  builder(8)(1n, a, a, { UtcTime: 'x', NewThreadId: '1', StartAddress: '0x0', StartModule: '-', StartFunction: '-' });
  // @ts-expect-error the acting process's fields come from the Actor, not the call site
  build9(1n, a, { UtcTime: 'x', Device: 'd', Image: '/bin/sh' });
  // @ts-expect-error RuleName is the rule engine's
  builder(4)(1n, { UtcTime: 'x', State: 's', Version: 'v', SchemaVersion: 's', RuleName: 'r' });
}

// ---- Windows: the driver's records through the real pipeline ----

const EPOCH = 1_764_500_000_000_000_000n;
const VOL = '\\Device\\HarddiskVolume3';
const FACTS: WindowsHostFacts = {
  machineGuid: '94f748d5-0c1e-4b7a-9f00-6d2b1e0a7c11',
  devices: new DeviceMap([
    ['C:', VOL],
    ['D:', '\\Device\\HarddiskVolume5'],
  ]),
  accountName: (sid) => (sid === 'S-1-5-21-1-2-3-1001' ? 'CORP\\alice' : sid),
};
const WINDOWS_TAGS = [
  'ProcessCreate',
  'FileCreateTime',
  'ProcessTerminate',
  'DriverLoad',
  'ImageLoad',
  'CreateRemoteThread',
  'RawAccessRead',
  'ProcessAccess',
  'FileCreate',
  'RegistryEvent',
  'FileCreateStreamHash',
  'ProcessTampering',
];
const windowsConfig = (deleteTag: string): string => `<Sysmon schemaversion="4.91"><EventFiltering>
${[...WINDOWS_TAGS, deleteTag].map((t) => `<RuleGroup groupRelation="or"><${t} onmatch="exclude"/></RuleGroup>`).join('\n')}
</EventFiltering></Sysmon>`;

async function windowsRun(records: Buffer[], configXml: string): Promise<SysmonEvent[]> {
  const producer = new SectionProducer(1 << 20);
  const walker = new RingWalker(sectionViews(producer.section));
  const pc = windowsPlatformCapture(FACTS, () => EPOCH);
  configureFileEvents(loadConfigText(configXml, 'test.xml'));
  const out: SysmonEvent[] = [];
  for (const r of records) assert.ok(producer.output(r), 'room in the ring');
  walker.drain((raw) => pc.capture.onRecord(raw, out));
  await Promise.all(pc.capture.takeDeferred());
  return out;
}

describe("Windows builders, driven by the driver's records", () => {
  it('every event the Windows handlers emit (1, 2, 5-15, 23, 25, 26) has its schema fields in order', async () => {
    const KEY_A = 0x0016000000000500n;
    const KEY_B = 0x0016000000000603n;
    const k = { pid: 1234, startKey: KEY_B };
    const sz = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf16le');
    const access = R.accessRecord(1234, 4000, 0x1410, { srcKey: KEY_B, targetKey: KEY_A });
    const records = [
      R.winProcess(4000, `${VOL}\\Windows\\explorer.exe`, 'explorer', { ppid: 900, startKey: KEY_A, createTime: 134088765432110000n, rid: 0x2000, session: 1 }),
      R.winProcess(1234, `${VOL}\\Windows\\System32\\cmd.exe`, 'cmd /c x', { ppid: 4000, startKey: KEY_B, parentKey: KEY_A, rid: 0x3000, session: 1 }),
      R.winImage(1234, `${VOL}\\Windows\\System32\\ntdll.dll`, false, { base: 0x7ffa00000000n, size: 0x1f0000n, startKey: KEY_B }),
      R.winImage(0, '\\SystemRoot\\System32\\drivers\\x.sys', true, { level: 1 }),
      access,
      R.stackRecord(access, [0x7ffa0009d204n]),
      R.injectRecord(1234, 4000, 8800, 0x7ffa00001000n, { srcKey: KEY_B, targetKey: KEY_A }),
      // an unknown process on either side: the placeholders, same fields
      R.injectRecord(5555, 6666, 8801, 0x1000n),
      R.winFile(210, `${VOL}\\a.txt`, '', k),
      R.winFile(210, `${VOL}\\unknown.txt`, '', { pid: 4321, startKey: 0x777n }),
      R.winFile(215, `${VOL}\\x.zip:Zone.Identifier:$DATA`, ':Zone.Identifier:$DATA', k),
      R.winFile(214, `${VOL}\\a.tmp`, `${VOL}\\a.exe`, { ...k, op: 4 }),
      R.winFile(213, `${VOL}\\x.dll`, '', { ...k, op: 5, creationTime: 126000000000000000n, prevCreationTime: 134088765432110000n }),
      R.winFile(212, VOL, '', k),
      R.winFile(211, `${VOL}\\a.exe`, '', { ...k, op: 2 }),
      R.tamperRecord(1234, KEY_B),
      R.winReg(220, '\\REGISTRY\\MACHINE\\SOFTWARE\\k', '', Buffer.alloc(0), { ...k, op: 27 }),
      R.winReg(221, '\\REGISTRY\\MACHINE\\SOFTWARE\\k', 'v', sz('x'), { ...k, valueType: 1 }),
      R.winReg(221, '\\REGISTRY\\MACHINE\\SOFTWARE\\k', 'v', Buffer.alloc(0), { ...k, op: 2 }),
      R.winReg(222, '\\REGISTRY\\MACHINE\\SOFTWARE\\old', '', Buffer.alloc(0), { ...k, op: 4, newName: 'new' }),
      R.exitRecord(1234, 0, KEY_B, 5_000_000_000n),
    ];
    const out = await windowsRun(records, windowsConfig('FileDelete'));
    const detected = await windowsRun(records.slice(0, 2).concat([R.winFile(211, `${VOL}\\b.exe`, '', { ...k, op: 2 })]), windowsConfig('FileDeleteDetected'));
    const all = [...out, ...detected];
    for (const ev of all) assertSchemaOrder(ev.id, ev.data, 'windows');
    assert.deepEqual(
      [...new Set(all.map((e) => e.id))].sort((a, b) => a - b),
      [1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 23, 25, 26],
    );
  });
});

// ---- Linux: the real kernel and agent ----

const missing = missingKernelPrereq() ?? missingTool('clang', 'bpftool', 'python3', 'mkfifo', 'getent', 'dd', 'touch');

const LINUX_TAGS = [
  'ProcessCreate',
  'ProcessTerminate',
  'FileCreate',
  'FileCreateTime',
  'RawAccessRead',
  'NetworkConnect',
  'DnsQuery',
  'ImageLoad',
  'PipeEvent',
  'ProcessAccess',
  'CreateRemoteThread',
  'eBPFEvent',
  'ProcessTampering',
  'DriverLoad',
  'FileDeleteDetected',
];
const LINUX_CONFIG = `<Sysmon schemaversion="4.90"><EventFiltering>
${LINUX_TAGS.map((t) => `<RuleGroup groupRelation="or"><${t} onmatch="exclude"/></RuleGroup>`).join('\n')}
<RuleGroup groupRelation="or"><FileDelete onmatch="include"><TargetFilename condition="end with">.del23</TargetFilename></FileDelete></RuleGroup>
</EventFiltering></Sysmon>`;

/** ptrace attach + peek + poke of a sleeping child (10, 8), then a memfd exec (25) */
const PY = `
import ctypes, os, re, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
time.sleep(0.1)
assert libc.ptrace(16, pid, None, None) == 0, ctypes.get_errno()
os.waitpid(pid, 0)
addr = int(re.search(r'^([0-9a-f]+)-[0-9a-f]+ rw-p', open('/proc/%d/maps' % pid).read(), re.M).group(1), 16)
word = libc.ptrace(2, pid, addr, None)
assert libc.ptrace(5, pid, addr, word & 0xffffffffffffffff) == 0, ctypes.get_errno()
libc.ptrace(17, pid, None, None)
os.kill(pid, 9)
os.waitpid(pid, 0)
child = os.fork()
if child == 0:
    fd = os.memfd_create('sysmon-ts-builders')
    os.write(fd, open('/bin/true', 'rb').read())
    os.execv('/proc/self/fd/%d' % fd, ['memfd-true'])
os.waitpid(child, 0)
print(os.getpid())
`;

const BPF_PROG = `__attribute__((section("socket"), used)) int sts_builders(void *ctx) { return 0; }
char _license[] __attribute__((section("license"), used)) = "GPL";
`;

/** a finit_module record as the kernel writes it (this kernel has no module support) */
function moduleRecord(path: string): Buffer {
  const M = SECURITY_LAYOUT.module_record;
  const comps = Buffer.from(
    path
      .split('/')
      .filter(Boolean)
      .reverse()
      .map((c) => `${c}\0`)
      .join(''),
  );
  const size = SECURITY_SIZES.module_record + comps.length;
  const b = Buffer.alloc(size);
  b.writeUInt16LE(43, 0);
  b.writeUInt32LE(size, 4);
  b.writeBigUInt64LE(1_000_000_000n, 8);
  b.writeUInt32LE(4242, 16);
  b.writeUInt32LE(4242, 20);
  b.writeUInt32LE(1, M.finit[0]);
  b.writeUInt32LE(SECURITY_SIZES.module_record, M.path[0]);
  b.writeUInt32LE(comps.length, M.path[0] + 4);
  comps.copy(b, SECURITY_SIZES.module_record);
  b.writeUInt32LE(size, M.params[0]);
  return b;
}

describe('Linux builders, driven by the real kernel', () => {
  let agent: AgentProcess;
  let dir: string;

  before(async () => {
    if (missing) return;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-builders-')));
    writeFileSync(join(dir, 'config.xml'), LINUX_CONFIG);
    agent = new AgentProcess(['-c', join(dir, 'config.xml')], dir);
    await agent.start();
  });
  after(async () => {
    await agent?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every event the Linux families write (1-3, 5, 7-11, 17, 18, 22, 23, 25, 26, 100) has its schema fields in order', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const seen =
      (id: number, pred: (e: JsonEvent) => boolean = () => true) =>
      (e: JsonEvent) =>
        e.EventID === id && pred(e);
    // 1, 5, 7: a process that runs and exits (its libraries mapped)
    const tru = await runCommand('/bin/true', []);
    // 11, 2, 23, 26
    const f = join(dir, 'made.txt');
    writeFileSync(f, 'x');
    utimesSync(f, new Date('2001-01-01'), new Date('2001-01-01'));
    for (const n of ['gone.del23', 'gone.del26']) {
      writeFileSync(join(dir, n), 'x');
      unlinkSync(join(dir, n));
    }
    // 17, 18
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    closeSync(openSync(fifo, 'r+'));
    // 9: a block device opened for reading
    const blk = statSync('/dev/loop0', { throwIfNoEntry: false })?.isBlockDevice() ? '/dev/loop0' : null;
    if (blk) await runCommand('dd', [`if=${blk}`, 'of=/dev/null', 'count=1', 'status=none']);
    // 3: a loopback connection
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) =>
      connect(port, '127.0.0.1')
        .on('close', () => r())
        .on('error', () => r()),
    );
    server.close();
    // 22: a libc lookup answered from /etc/hosts
    const dns = await runCommand('getent', ['ahosts', 'localhost']);
    // 10, 8, 25
    writeFileSync(join(dir, 'trace.py'), PY);
    const py = spawnSync('python3', [join(dir, 'trace.py')], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const pyPid = Number(py.stdout.trim());
    // 100: a BPF program load
    writeFileSync(join(dir, 'p.c'), BPF_PROG);
    execFileSync('clang', ['-O2', '-target', 'bpf', '-c', join(dir, 'p.c'), '-o', join(dir, 'p.o')]);
    const pin = `/sys/fs/bpf/sysmon_ts_builders_${process.pid}`;
    execFileSync('bpftool', ['prog', 'load', join(dir, 'p.o'), pin]);
    rmSync(pin);

    const waits: [number, (e: JsonEvent) => boolean][] = [
      [1, (e) => e.EventData.ProcessId === tru.pid],
      [5, (e) => e.EventData.ProcessId === tru.pid],
      [7, (e) => e.EventData.ProcessId === tru.pid],
      [11, (e) => e.EventData.TargetFilename === f],
      [2, (e) => e.EventData.TargetFilename === f],
      [23, (e) => e.EventData.TargetFilename === join(dir, 'gone.del23')],
      [26, (e) => e.EventData.TargetFilename === join(dir, 'gone.del26')],
      [17, (e) => e.EventData.PipeName === fifo],
      [18, (e) => e.EventData.PipeName === fifo],
      [3, (e) => e.EventData.DestinationPort === port],
      [22, (e) => e.EventData.ProcessId === dns.pid],
      [10, (e) => e.EventData.SourceProcessId === pyPid],
      [8, (e) => e.EventData.SourceProcessId === pyPid],
      [25, (e) => e.EventData.Type === 'Image is fileless (memfd)'],
      [100, (e) => e.EventData.BpfProgramName === 'sts_builders'],
    ];
    if (blk) waits.push([9, (e) => e.EventData.Device === blk]);
    for (const [id, pred] of waits) await agent.waitFor(seen(id, pred), 15_000, `event ${id}`);

    // 6: this kernel cannot load modules; the record it would write, through the real handler
    const out: SysmonEvent[] = [];
    const ctx = { processes: undefined as never, timeNs: (ns: bigint) => ns, defer: () => {} } as unknown as CaptureContext;
    SECURITY_HANDLERS[43]!(decodeRecord(moduleRecord('/lib/modules/x.ko')) as ModuleRecord, ctx, out);
    assertSchemaOrder(6, out[0]!.data, 'DriverLoad');

    const events = agent.events();
    for (const e of events) assertSchemaOrder(e.EventID, e.EventData, `JSONL record ${e.EventRecordID}`);
    const ids = new Set(events.map((e) => e.EventID));
    for (const [id] of waits) assert.ok(ids.has(id), `event ${id} seen`);
    t.diagnostic(`${events.length} events checked, ids ${[...ids].sort((a, b) => a - b).join(' ')}`);
  });
});
