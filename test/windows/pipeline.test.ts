// The Windows service side on Linux: records as the Windows driver writes them (test producer
// = driver/windows/ring.c's RingOutput), in a ring laid out as its section, drained by the real
// RingWalker, turned into events by the real Capture with the Windows decoder and handlers
// (src/families/windows), filtered by the real config engine. Expected values are worked out by
// hand from the records (Sysmon's formats: docs/events.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingWalker } from '../../src/kernel/ring-walker.js';
import { sectionViews } from '../../src/kernel/windows/section.js';
import { windowsPlatformCapture } from '../../src/platform/windows.js';
import { DeviceMap } from '../../src/families/windows/paths.js';
import type { WindowsHostFacts } from '../../src/families/windows/host-facts.js';
import { loadConfigText } from '../../src/config/index.js';
import { configureFileEvents } from '../../src/families/file/events.js';
import type { SysmonEvent } from '../../src/events/event.js';
import { SectionProducer } from './ring-producer.js';
import * as R from './records.js';

const EPOCH = 1_764_500_000_000_000_000n; // Unix ns at the driver's boot clock 0
const VOL = '\\Device\\HarddiskVolume3';
const SYSTEM_SID = Buffer.from([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
const FACTS: WindowsHostFacts = {
  machineGuid: '94f748d5-0c1e-4b7a-9f00-6d2b1e0a7c11',
  devices: new DeviceMap([
    ['C:', VOL],
    ['D:', '\\Device\\HarddiskVolume5'],
  ]),
  accountName: (sid) => (({ 'S-1-5-21-1-2-3-1001': 'CORP\\alice', 'S-1-5-18': 'NT AUTHORITY\\SYSTEM' }) as Record<string, string>)[sid] ?? sid,
};

const ALL = `<Sysmon schemaversion="4.91"><EventFiltering>
${[
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
  'FileDelete',
  'ProcessTampering',
]
  .map((t) => `<RuleGroup groupRelation="or"><${t} onmatch="exclude"/></RuleGroup>`)
  .join('\n')}
</EventFiltering></Sysmon>`;

interface Run {
  out: SysmonEvent[];
  kept: SysmonEvent[];
  rejected: number;
}

async function run(records: Buffer[], configXml = ALL, ringBytes = 1 << 20): Promise<Run> {
  const producer = new SectionProducer(ringBytes);
  const walker = new RingWalker(sectionViews(producer.section));
  const pc = windowsPlatformCapture(FACTS, () => EPOCH);
  const config = loadConfigText(configXml, 'test.xml');
  configureFileEvents(config);
  const out: SysmonEvent[] = [];
  for (const r of records) assert.ok(producer.output(r), 'room in the ring');
  walker.drain((raw) => pc.capture.onRecord(raw, out));
  await Promise.all(pc.capture.takeDeferred());
  return { out, kept: out.filter((ev) => config.engine.apply(ev)), rejected: pc.capture.counters.rejected };
}

const byId = (evs: SysmonEvent[], id: number): SysmonEvent[] => evs.filter((e) => e.id === id);
const one = (evs: SysmonEvent[], id: number): Record<string, unknown> => {
  const found = byId(evs, id);
  assert.equal(found.length, 1, `one event ${id}, got ${found.length}`);
  return found[0]!.data;
};

// explorer (4000) starts cmd (1234); FILETIMEs A and B are their creation times
const FT_A = 134088765432110000n; // 2025-11-29 07:55:43.211
const FT_B = 134090000001234567n; // 2025-11-30 18:13:20.123
const KEY_EXPLORER = 0x0016000000000500n;
const KEY_CMD = 0x0016000000000603n;
const KEY_LSASS = 0x00160000000001a0n;
const GUID_EXPLORER = '{94f748d5-a6ff-692a-0005-000000001600}';
const GUID_CMD = '{94f748d5-8940-692c-0306-000000001600}';
const GUID_LSASS = '{94f748d5-24c0-692c-a001-000000001600}'; // unseen: start = EPOCH + 672 s
const T0 = '2025-11-30 10:53:20.000'; // EPOCH + a few ns

function explorer(): Buffer {
  return R.winProcess(4000, `${VOL}\\Windows\\explorer.exe`, 'C:\\Windows\\Explorer.EXE', {
    ppid: 900,
    startKey: KEY_EXPLORER,
    createTime: FT_A,
    rid: 0x2000,
    session: 1,
  });
}
function cmd(commandLine = 'cmd.exe /c "echo hi"'): Buffer {
  return R.winProcess(1234, `${VOL}\\Windows\\System32\\cmd.exe`, commandLine, {
    ppid: 4000,
    startKey: KEY_CMD,
    parentKey: KEY_EXPLORER,
    createTime: FT_B,
    rid: 0x3000,
    session: 1,
  });
}

describe('Windows records through the real pipeline', () => {
  it('1 and 5: process create and terminate with Windows formats', async () => {
    const { kept } = await run([
      explorer(),
      cmd(),
      R.exitRecord(1234, 0, KEY_CMD, 5_000_000_000n),
      R.winProcess(4, `${VOL}\\Windows\\System32\\smss.exe`, '\\SystemRoot\\System32\\smss.exe', {
        ppid: 0,
        sid: SYSTEM_SID,
        rid: 0x4000,
        logonId: 0x3e7n,
        session: 0,
      }),
    ]);
    const creates = byId(kept, 1);
    assert.equal(creates.length, 3);
    assert.deepEqual(creates[1]!.data, {
      RuleName: '-',
      UtcTime: '2025-11-30 18:13:20.123',
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      FileVersion: '-',
      Description: '-',
      Product: '-',
      Company: '-',
      OriginalFileName: '-',
      CommandLine: 'cmd.exe /c "echo hi"',
      CurrentDirectory: '-',
      User: 'CORP\\alice',
      LogonGuid: '{94f748d5-0000-0000-28a3-0f0000000000}',
      LogonId: '0xfa328',
      TerminalSessionId: 1,
      IntegrityLevel: 'High',
      Hashes: '-',
      ParentProcessGuid: GUID_EXPLORER,
      ParentProcessId: 4000,
      ParentImage: 'C:\\Windows\\explorer.exe',
      ParentCommandLine: 'C:\\Windows\\Explorer.EXE',
      ParentUser: 'CORP\\alice',
    });
    // explorer's parent (900) was never seen: its GUID from its ids, no image
    assert.equal(creates[0]!.data.ParentProcessGuid, '{94f748d5-25a4-692c-0000-000000000000}');
    assert.equal(creates[0]!.data.ParentImage, '-');
    assert.equal(creates[0]!.data.IntegrityLevel, 'Medium');
    assert.equal(creates[0]!.data.UtcTime, '2025-11-29 07:55:43.211');
    const smss = creates[2]!.data;
    assert.equal(smss.User, 'NT AUTHORITY\\SYSTEM');
    assert.equal(smss.IntegrityLevel, 'System');
    assert.equal(smss.LogonId, '0x3e7');
    assert.equal(smss.ParentProcessGuid, '{00000000-0000-0000-0000-000000000000}');
    assert.deepEqual(one(kept, 5), {
      RuleName: '-',
      UtcTime: '2025-11-30 10:53:25.000',
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      User: 'CORP\\alice',
    });
  });

  it('6 and 7: driver and image loads; 10 with CallTrace from the image loads; 8 with StartModule', async () => {
    const ntdll = R.winImage(1234, `${VOL}\\Windows\\System32\\ntdll.dll`, false, { base: 0x7ffa00000000n, size: 0x1f0000n, startKey: KEY_CMD });
    const k32 = R.winImage(1234, `${VOL}\\Windows\\System32\\KERNEL32.DLL`, false, { base: 0x7ffa10000000n, size: 0xc0000n, startKey: KEY_CMD, level: 0 });
    const drv = R.winImage(0, '\\SystemRoot\\System32\\drivers\\evil.sys', true, { level: 1 });
    const access = R.accessRecord(1234, 672, 0x1410, { srcKey: KEY_CMD, targetKey: KEY_LSASS });
    const stack = R.stackRecord(access, [0x7ffa0009d204n, 0x7ffa10012774n, 0x00000000deadbeefn]);
    const inject = R.injectRecord(1234, 4000, 8800, 0x7ffa00001000n, { srcKey: KEY_CMD, targetKey: KEY_EXPLORER });
    const lsassInject = R.injectRecord(1234, 672, 8801, 0x7ffa00001000n, { srcKey: KEY_CMD, targetKey: KEY_LSASS });
    const explorerNtdll = R.winImage(4000, `${VOL}\\Windows\\System32\\ntdll.dll`, false, { base: 0x7ffa00000000n, size: 0x1f0000n, startKey: KEY_EXPLORER });
    const { kept } = await run([explorer(), cmd(), ntdll, k32, drv, explorerNtdll, access, stack, inject, lsassInject]);
    const loads = byId(kept, 7);
    assert.equal(loads.length, 3);
    assert.deepEqual(loads[0]!.data, {
      RuleName: '-',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      ImageLoaded: 'C:\\Windows\\System32\\ntdll.dll',
      FileVersion: '-',
      Description: '-',
      Product: '-',
      Company: '-',
      OriginalFileName: '-',
      Hashes: '-',
      Signed: 'true',
      Signature: 'Microsoft Windows',
      SignatureStatus: 'Valid',
      User: 'CORP\\alice',
    });
    assert.equal(loads[1]!.data.Signed, '-'); // signing level 0: the kernel did not check it
    assert.deepEqual(one(kept, 6), {
      RuleName: '-',
      UtcTime: T0,
      ImageLoaded: 'C:\\Windows\\System32\\drivers\\evil.sys',
      Hashes: '-',
      Signed: 'false',
      Signature: '-',
      SignatureStatus: 'Unavailable',
    });
    assert.deepEqual(one(kept, 10), {
      RuleName: '-',
      UtcTime: T0,
      SourceProcessGUID: GUID_CMD,
      SourceProcessId: 1234,
      SourceThreadId: 1238,
      SourceImage: 'C:\\Windows\\System32\\cmd.exe',
      TargetProcessGUID: GUID_LSASS,
      TargetProcessId: 672,
      TargetImage: '-',
      GrantedAccess: '0x1410',
      CallTrace: 'C:\\Windows\\System32\\ntdll.dll+9d204|C:\\Windows\\System32\\KERNEL32.DLL+12774|UNKNOWN(00000000DEADBEEF)',
      SourceUser: 'CORP\\alice',
      TargetUser: '-',
    });
    const threads = byId(kept, 8);
    assert.equal(threads.length, 2);
    assert.deepEqual(threads[0]!.data, {
      RuleName: '-',
      UtcTime: T0,
      SourceProcessGuid: GUID_CMD,
      SourceProcessId: 1234,
      SourceImage: 'C:\\Windows\\System32\\cmd.exe',
      TargetProcessGuid: GUID_EXPLORER,
      TargetProcessId: 4000,
      TargetImage: 'C:\\Windows\\explorer.exe',
      NewThreadId: 8800,
      StartAddress: '0x00007FFA00001000',
      StartModule: 'C:\\Windows\\System32\\ntdll.dll',
      StartFunction: '-',
      SourceUser: 'CORP\\alice',
      TargetUser: 'CORP\\alice',
    });
    assert.equal(threads[1]!.data.StartModule, '-'); // no image load seen for lsass
  });

  it('10 waits for a stack record that comes in a later batch, and gives up after a while', async () => {
    const producer = new SectionProducer(1 << 16);
    const walker = new RingWalker(sectionViews(producer.section));
    const pc = windowsPlatformCapture(FACTS, () => EPOCH);
    const access = R.accessRecord(1234, 672, 0x1fffff);
    producer.output(access);
    const out: SysmonEvent[] = [];
    walker.drain((raw) => pc.capture.onRecord(raw, out));
    const waits = pc.capture.takeDeferred();
    assert.equal(waits.length, 1);
    producer.output(R.stackRecord(access, [0x1000n]));
    walker.drain((raw) => pc.capture.onRecord(raw, out));
    await Promise.all(waits);
    assert.equal(out[0]!.data.CallTrace, 'UNKNOWN(0000000000001000)');
    // no stack at all: the event goes out with '-' after the wait
    producer.output(R.accessRecord(1234, 672, 0x10, { bootNs: 99n }));
    const lone: SysmonEvent[] = [];
    walker.drain((raw) => pc.capture.onRecord(raw, lone));
    await Promise.all(pc.capture.takeDeferred());
    assert.equal(lone[0]!.data.CallTrace, '-');
  });

  it('2, 9, 11, 15, 23/26, 25: files and tampering', async () => {
    const k = { pid: 1234, startKey: KEY_CMD };
    const { kept } = await run([
      explorer(),
      cmd(),
      R.winFile(210, `${VOL}\\Users\\alice\\a.txt`, '', { ...k, creationTime: FT_B }),
      R.winFile(215, `${VOL}\\Users\\alice\\Downloads\\x.zip:Zone.Identifier:$DATA`, ':Zone.Identifier:$DATA', { ...k, creationTime: FT_A }),
      R.winFile(214, `${VOL}\\Users\\alice\\a.tmp`, `${VOL}\\Users\\alice\\a.exe`, { ...k, op: 4, creationTime: 0n }),
      R.winFile(213, '\\Device\\HarddiskVolume5\\x.dll', '', { ...k, op: 5, creationTime: 126000000000000000n, prevCreationTime: FT_A }),
      R.winFile(212, VOL, '', k),
      R.winFile(211, `${VOL}\\Users\\alice\\a.exe`, '', { ...k, op: 2 }),
      R.tamperRecord(1234, KEY_CMD),
      // pid 1234 again, but another process (its start key differs): not named after cmd
      R.winFile(210, `${VOL}\\reused.txt`, '', { pid: 1234, startKey: 0x777n }),
    ]);
    const creates = byId(kept, 11);
    assert.equal(creates.length, 3);
    assert.deepEqual(
      [creates[2]!.data.TargetFilename, creates[2]!.data.Image, creates[2]!.data.ProcessGuid, creates[2]!.data.User],
      ['C:\\reused.txt', '-', '{00000000-0000-0000-0000-000000000000}', '-'],
    );
    assert.deepEqual(creates[0]!.data, {
      RuleName: '-',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      TargetFilename: 'C:\\Users\\alice\\a.txt',
      CreationUtcTime: '2025-11-30 18:13:20.123',
      User: 'CORP\\alice',
    });
    assert.equal(creates[1]!.data.TargetFilename, 'C:\\Users\\alice\\a.exe'); // the rename's new name
    assert.equal(creates[1]!.data.CreationUtcTime, T0); // no creation time: the event's
    assert.deepEqual(one(kept, 15), {
      RuleName: '-',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      TargetFilename: 'C:\\Users\\alice\\Downloads\\x.zip:Zone.Identifier',
      CreationUtcTime: '2025-11-29 07:55:43.211',
      Hash: '-',
      Contents: '-',
      User: 'CORP\\alice',
    });
    assert.deepEqual(one(kept, 2), {
      RuleName: '-',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      TargetFilename: 'D:\\x.dll',
      CreationUtcTime: '2000-04-12 08:00:00.000',
      PreviousCreationUtcTime: '2025-11-29 07:55:43.211',
      User: 'CORP\\alice',
    });
    assert.deepEqual(one(kept, 9), {
      RuleName: '-',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      Device: VOL,
      User: 'CORP\\alice',
    });
    assert.deepEqual(one(kept, 23), {
      RuleName: '-',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      User: 'CORP\\alice',
      Image: 'C:\\Windows\\System32\\cmd.exe',
      TargetFilename: 'C:\\Users\\alice\\a.exe',
      Hashes: '-',
      IsExecutable: true,
      Archived: 'false',
    });
    assert.deepEqual(one(kept, 25), {
      RuleName: '-',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      Type: 'Image is replaced',
      User: 'CORP\\alice',
    });
  });

  it('23 becomes 26 when the config has no FileDelete rules but FileDeleteDetected ones', async () => {
    const cfg = '<Sysmon schemaversion="4.91"><EventFiltering><FileDeleteDetected onmatch="exclude"/></EventFiltering></Sysmon>';
    const { kept } = await run([R.winFile(211, `${VOL}\\t\\b.txt`, '', { op: 3 })], cfg);
    assert.deepEqual(one(kept, 26), {
      RuleName: '-',
      UtcTime: T0,
      ProcessGuid: '{00000000-0000-0000-0000-000000000000}',
      ProcessId: 5000,
      User: '-',
      Image: '-',
      TargetFilename: 'C:\\t\\b.txt',
      Hashes: '-',
      IsExecutable: false,
    });
  });

  it('12, 13, 14: registry names, event types and Details formats', async () => {
    const k = { pid: 1234, startKey: KEY_CMD };
    const run1 = '\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run';
    const sz = (s: string): Buffer => Buffer.from(s + '\0', 'utf16le');
    const qword = Buffer.alloc(8);
    qword.writeBigUInt64LE(0x00000001000556c2n);
    const { kept } = await run([
      explorer(),
      cmd(),
      R.winReg(220, '\\REGISTRY\\USER\\S-1-5-21-1-2-3-1001\\Software\\t', '', Buffer.alloc(0), { ...k, op: 27 }),
      R.winReg(220, '\\REGISTRY\\MACHINE\\SOFTWARE\\Classes\\evil\\shell', '', Buffer.alloc(0), { ...k, op: 0 }),
      R.winReg(221, run1, 'evil', sz('C:\\evil.exe "%1"'), { ...k, valueType: 1 }),
      R.winReg(221, '\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\x', 'Start', Buffer.from([4, 0, 0, 0]), { ...k, valueType: 4 }),
      R.winReg(221, '\\REGISTRY\\MACHINE\\SOFTWARE\\q', 'Q', qword, { ...k, valueType: 11 }),
      R.winReg(221, '\\REGISTRY\\MACHINE\\SOFTWARE\\q', 'B', Buffer.from([1, 2, 3]), { ...k, valueType: 3 }),
      R.winReg(221, '\\REGISTRY\\MACHINE\\SOFTWARE\\q', 'E', sz(''), { ...k, valueType: 2 }),
      R.winReg(221, run1, '', Buffer.alloc(0), { ...k, op: 2 }),
      R.winReg(222, '\\REGISTRY\\USER\\S-1-5-21-1-2-3-1001\\Software\\old', '', Buffer.alloc(0), { ...k, op: 4, newName: 'new' }),
    ]);
    const twelve = byId(kept, 12).map((e) => e.data);
    assert.deepEqual(twelve[0], {
      RuleName: '-',
      EventType: 'CreateKey',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      TargetObject: 'HKU\\S-1-5-21-1-2-3-1001\\Software\\t',
      User: 'CORP\\alice',
    });
    assert.deepEqual(
      twelve.map((d) => [d.EventType, d.TargetObject]),
      [
        ['CreateKey', 'HKU\\S-1-5-21-1-2-3-1001\\Software\\t'],
        ['DeleteKey', 'HKCR\\evil\\shell'],
        ['DeleteValue', 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\(Default)'],
      ],
    );
    const thirteen = byId(kept, 13).map((e) => e.data);
    assert.deepEqual(thirteen[0], {
      RuleName: '-',
      EventType: 'SetValue',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      TargetObject: 'HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\evil',
      Details: 'C:\\evil.exe "%1"',
      User: 'CORP\\alice',
    });
    assert.deepEqual(
      thirteen.slice(1).map((d) => [d.TargetObject, d.Details]),
      [
        ['HKLM\\SYSTEM\\CurrentControlSet\\Services\\x\\Start', 'DWORD (0x00000004)'],
        ['HKLM\\SOFTWARE\\q\\Q', 'QWORD (0x00000001-0x000556c2)'],
        ['HKLM\\SOFTWARE\\q\\B', 'Binary Data'],
        ['HKLM\\SOFTWARE\\q\\E', '(Empty)'],
      ],
    );
    assert.deepEqual(one(kept, 14), {
      RuleName: '-',
      EventType: 'RenameKey',
      UtcTime: T0,
      ProcessGuid: GUID_CMD,
      ProcessId: 1234,
      Image: 'C:\\Windows\\System32\\cmd.exe',
      TargetObject: 'HKU\\S-1-5-21-1-2-3-1001\\Software\\old',
      NewName: 'HKU\\S-1-5-21-1-2-3-1001\\Software\\new',
      User: 'CORP\\alice',
    });
  });

  it("a real config's rules apply to the Windows names: exclusions and near misses", async () => {
    const cfg = `<Sysmon schemaversion="4.91"><EventFiltering>
      <RuleGroup groupRelation="or"><ProcessCreate onmatch="exclude"><Image condition="end with">\\cmd.exe</Image></ProcessCreate></RuleGroup>
      <RuleGroup groupRelation="or"><RegistryEvent onmatch="include">
        <TargetObject name="RunKey" condition="begin with">HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run</TargetObject>
        <TargetObject name="Services" condition="begin with">HKLM\\SYSTEM\\CurrentControlSet\\Services\\</TargetObject>
      </RegistryEvent></RuleGroup>
      <RuleGroup groupRelation="or"><ProcessAccess onmatch="include"><GrantedAccess condition="is">0x1410</GrantedAccess></ProcessAccess></RuleGroup>
      <RuleGroup groupRelation="or"><FileCreate onmatch="include"><TargetFilename condition="begin with">C:\\Users\\</TargetFilename></FileCreate></RuleGroup>
    </EventFiltering></Sysmon>`;
    const k = { pid: 1234, startKey: KEY_CMD };
    const { out, kept } = await run(
      [
        explorer(),
        cmd(),
        R.winReg(221, '\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', 'x', Buffer.from([1, 0, 0, 0]), k),
        R.winReg(221, '\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersionX', 'x', Buffer.from([1, 0, 0, 0]), k), // near miss: not under ...\\Run
        R.winReg(221, '\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\svc', 'Start', Buffer.from([2, 0, 0, 0]), k),
        R.winReg(221, '\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet002\\Services\\svc', 'Start', Buffer.from([2, 0, 0, 0]), k), // not the current set
        R.accessRecord(1234, 672, 0x1410),
        R.accessRecord(1234, 672, 0x1411),
        R.winFile(210, `${VOL}\\Users\\a.txt`, '', k),
        R.winFile(210, `${VOL}\\Windows\\Temp\\a.txt`, '', k),
      ],
      cfg,
    );
    assert.equal(out.length, 10);
    assert.deepEqual(
      byId(kept, 1).map((e) => e.data.Image),
      ['C:\\Windows\\explorer.exe'],
    );
    assert.deepEqual(
      byId(kept, 13).map((e) => [e.data.TargetObject, e.data.RuleName]),
      [
        ['HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\x', 'RunKey'],
        ['HKLM\\SYSTEM\\CurrentControlSet\\Services\\svc\\Start', 'Services'],
      ],
    );
    assert.deepEqual(
      byId(kept, 10).map((e) => e.data.GrantedAccess),
      ['0x1410'],
    );
    assert.deepEqual(
      byId(kept, 11).map((e) => e.data.TargetFilename),
      ['C:\\Users\\a.txt'],
    );
  });

  it('hostile strings: quotes, <, newlines, unpaired surrogates and a 32 KB command line survive whole', async () => {
    const long = 'powershell -enc ' + 'A'.repeat(32 * 1024);
    const hostile = 'cmd /c "echo <x>" & echo \'a\'\r\nline2 \ud800 end \udfff';
    const { kept } = await run([
      explorer(),
      cmd(long),
      R.winProcess(1300, `${VOL}\\t\\a\nb<c>".exe`, hostile, { ppid: 4000, parentKey: KEY_EXPLORER, startKey: 0x99n }),
    ]);
    const creates = byId(kept, 1);
    assert.equal(creates[1]!.data.CommandLine, long);
    assert.equal(creates[2]!.data.CommandLine, hostile);
    assert.equal(creates[2]!.data.Image, 'C:\\t\\a\nb<c>".exe');
    // one JSON line each, lone surrogates escaped rather than replaced
    const line = JSON.stringify(creates[2]!.data);
    assert.ok(!line.includes('\n'));
    assert.ok(line.includes('\\ud800') && line.includes('\\udfff'));
    assert.equal(JSON.parse(line).CommandLine, hostile);
  });

  it('malformed and unknown records are counted and reported as event 255, the others still go through', async () => {
    const truncated = R.winProcess(1, 'x', 'y').subarray(0, 100);
    truncated.writeUInt32LE(100, 4);
    const badString = R.winFile(210, 'abc');
    badString.writeUInt32LE(3, 64 + 4); // path of 3 bytes: not UTF-16
    const outside = R.winReg(221, 'k', 'v', Buffer.from([1, 0, 0, 0]));
    outside.writeUInt32LE(1 << 20, 48); // key offset past the record
    const badOp = R.winReg(221, 'k', 'v', Buffer.from([1, 0, 0, 0]), { op: 27 }); // a key op in a value record
    const badStack = R.stackRecord(R.exitRecord(1, 0), [1n]); // a stack for a record that has none
    const unknown = R.winFile(210, 'x');
    unknown.writeUInt16LE(239, 0);
    const badSid = R.winProcess(7, 'i', 'c', { sid: Buffer.from([1, 5, 0, 0]) });
    const { out, kept, rejected } = await run([truncated, badString, outside, badOp, badStack, unknown, badSid, explorer()]);
    assert.equal(rejected, 7);
    const errors = byId(out, 255);
    assert.equal(errors.length, 7);
    for (const e of errors) assert.equal(e.data.ID, 'DecodeError');
    assert.match(String(errors[3]!.data.Description), /record type 221 with op 27/);
    assert.match(String(errors[5]!.data.Description), /unknown record type 239/);
    assert.deepEqual(
      byId(kept, 1).map((e) => e.data.ProcessId),
      [4000],
    );
  });
});
