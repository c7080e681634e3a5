// The compiled agent's Windows calls, made for real under Wine (node.exe 22 for Windows, koffi's
// win32 build, Wine 8's kernel32/advapi32): host facts (RegGetValueW, QueryDosDeviceW,
// LookupAccountSidW, the KUSER_SHARED_DATA interrupt time), the section reader on sections a
// harness creates (the mapping path the driver's section takes after the IOCTL), and the ETW
// sink's EventRegister/EventWriteTransfer/EventUnregister with the manifest's provider. Each
// expected value comes from an independent source (Wine's reg.exe, the prefix's drive links,
// Linux's boot time, the records the test wrote), and what Wine lacks or only stubs is asserted
// as Wine's exact result, so this notices when Wine changes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventDef } from '../../src/events/schema.js';
import { WIN_RING } from '../../src/kernel/windows/section.js';
import { WINDOWS_LAYOUT } from '../../src/families/windows/records.js';
import { SectionProducer } from './ring-producer.js';
import * as R from './records.js';
import { DIST, HELPERS, PREFIX, keepWineserver, requireWine, startWine, waitForFile, wine, wineEnv, wineNode, winPath, NODE_EXE } from './wine-env.js';

let dir = '';
before(() => {
  keepWineserver();
  dir = mkdtempSync(join(tmpdir(), 'wine-host-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const readJson = (file: string): Record<string, any> => JSON.parse(readFileSync(file, 'utf8'));

describe('host facts under Wine', () => {
  it('reads the machine GUID, drive letters, account names and the interrupt time through the Windows APIs', (t) => {
    if (!requireWine(t)) return;
    const sids = ['S-1-5-18', 'S-1-5-32-544', 'S-1-5-19', 'S-1-1-0', 'S-1-5-21-1-2-3-500', 'S-1-x'];
    const out = join(dir, 'host.json');
    const r = wineNode([join(HELPERS, 'host-probe.mjs'), winPath(DIST), winPath(out), ...sids]);
    assert.equal(r.status, 0, r.stderr);
    const host = readJson(out);

    // RegGetValueW: the value Wine's own reg.exe reads
    const reg = wine(['reg', 'query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid']);
    const fromReg = /MachineGuid\s+REG_SZ\s+(\S+)/.exec(reg.stdout)?.[1];
    assert.match(fromReg ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(host.machineGuid, { value: fromReg });

    // QueryDosDeviceW: one drive per drive link of the prefix (c: and z:), mapped both ways
    const links = readdirSync(join(PREFIX, 'dosdevices')).filter((n) => /^[a-z]:$/.test(n));
    assert.equal(host.deviceCount, links.length);
    assert.deepEqual(host.dosPaths, {
      '\\Device\\HarddiskVolume1\\windows\\system32\\cmd.exe': 'C:\\windows\\system32\\cmd.exe',
      '\\Device\\HarddiskVolume2\\tmp\\x': 'Z:\\tmp\\x',
      '\\Device\\HarddiskVolume9\\y': '\\Device\\HarddiskVolume9\\y',
      '\\SystemRoot\\System32\\drivers\\x.sys': 'C:\\windows\\System32\\drivers\\x.sys',
    });

    // ConvertStringSidToSidW + LookupAccountSidW: well-known SIDs named as Windows names them;
    // a SID with no account (Wine: no domain 1-2-3) and a malformed one stay as given
    assert.deepEqual(host.accounts, {
      'S-1-5-18': { value: 'NT AUTHORITY\\SYSTEM' },
      'S-1-5-32-544': { value: 'BUILTIN\\Administrators' },
      'S-1-5-19': { value: 'NT AUTHORITY\\LOCAL SERVICE' },
      'S-1-1-0': { value: 'Everyone' },
      'S-1-5-21-1-2-3-500': { value: 'S-1-5-21-1-2-3-500' },
      'S-1-x': { value: 'S-1-x' },
    });

    // the interrupt time (KUSER_SHARED_DATA, the driver's clock) runs with the wall clock from
    // boot: Wine keeps it as the host's monotonic clock, so boot = Linux's boot time
    const t1 = BigInt(host.t1.value),
      t2 = BigInt(host.t2.value);
    assert.ok(t2 - t1 >= 2_500_000n && t2 - t1 < 20_000_000n, `interrupt time advanced ${t2 - t1} x 100 ns over 300 ms`);
    const boot1 = BigInt(host.boot1.value),
      boot2 = BigInt(host.boot2.value);
    assert.ok(boot2 - boot1 < 50_000_000n && boot1 - boot2 < 50_000_000n, `boot epoch moved ${boot2 - boot1} ns between readings`);
    const btime = BigInt(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))![1]!) * 1_000_000_000n;
    const skew = boot1 > btime ? boot1 - btime : btime - boot1;
    assert.ok(skew < 5_000_000_000n, `boot epoch ${boot1} is ${skew} ns from Linux's boot time ${btime}`);

    // what Wine 8 lacks: the Windows 10 interrupt-time exports (why the agent reads KUSER_SHARED_DATA)
    assert.deepEqual(host.missing, {
      'kernelbase.dll!QueryInterruptTimePrecise': { error: "Cannot find function 'QueryInterruptTimePrecise' in shared library" },
      'kernelbase.dll!QueryInterruptTime': { error: "Cannot find function 'QueryInterruptTime' in shared library" },
      'kernel32.dll!QueryUnbiasedInterruptTime': { value: 'exported' },
    });
  });
});

describe('what node.exe cannot do under Wine', () => {
  it('cannot open a Linux pipe as process.stdout (EBADF): the tests give it files', (t) => {
    if (!requireWine(t)) return;
    const r = spawnSync('wine', [NODE_EXE, '-e', 'console.log("x")'], { env: wineEnv(), stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Error: open EBADF\r\n\s+at new Socket \(node:net/);
  });
});

/** A ring image: records after a consumer position chosen so that one of them wraps. */
function ringImage(): { image: Uint8Array; records: Buffer[]; wrapped: number } {
  const producer = new SectionProducer(4096);
  // filler the service has already read: the next records start 200 bytes before the end
  while (true) {
    const pos = producer.reserve(8);
    assert.ok(pos !== null);
    producer.commit(pos, 8);
    if (Number(pos) + 16 >= 4096 - 200) {
      producer.setConsumer(pos + 16n);
      break;
    }
  }
  const records = [
    R.winProcess(4000, '\\Device\\HarddiskVolume1\\windows\\explorer.exe', 'C:\\windows\\Explorer.EXE', { startKey: 0x500n }),
    R.exitRecord(4000, 0, 0x500n),
    R.winFile(210, '\\Device\\HarddiskVolume1\\users\\a.txt', '', { pid: 4000, startKey: 0x500n }),
  ];
  assert.ok(producer.output(records[0]!));
  const discarded = producer.reserve(40); // a record the driver gave up (DISCARD): skipped
  assert.ok(discarded !== null);
  producer.commit(discarded, 40, true);
  assert.ok(producer.output(records[1]!));
  assert.ok(producer.output(records[2]!));
  for (let i = 0; i < 3; i++) producer.reserve(0); // three records the driver could not place
  return { image: new Uint8Array(producer.section), records, wrapped: producer.wrapped };
}

describe('the section reader under Wine', () => {
  it("drains a named section a harness filled, as the service drains the driver's, and refuses bad ones", async (t) => {
    if (!requireWine(t)) return;
    const { image, records, wrapped } = ringImage();
    assert.equal(wrapped, 1, 'the first record wraps at the end of the data area');
    const ok = join(dir, 'ok.img');
    writeFileSync(ok, image);
    // a producer page that claims a data area larger than the section (a hostile or stale section)
    const big = new Uint8Array(WIN_RING.headerBytes + 4096);
    big.set(image.subarray(0, WIN_RING.headerBytes));
    new DataView(big.buffer).setBigUint64(WIN_RING.producerOff + WINDOWS_LAYOUT.win_ring_producer.data_size[0], 1n << 20n, true);
    writeFileSync(join(dir, 'big.img'), big);
    const bad = new Uint8Array(image);
    new DataView(bad.buffer).setUint32(WIN_RING.producerOff + WINDOWS_LAYOUT.win_ring_producer.magic[0], 0x12345678, true);
    writeFileSync(join(dir, 'bad.img'), bad);

    const tag = `sysmon-ts-test-${process.pid}`;
    const [okName, bigName, badName] = [`Local\\${tag}-ok`, `Local\\${tag}-big`, `Local\\${tag}-bad`];
    const ready = join(dir, 'ready'),
      stop = join(dir, 'stop'),
      log = join(dir, 'harness.log');
    const harness = startWine(
      [
        NODE_EXE,
        join(HELPERS, 'ring-harness.mjs'),
        winPath(ready),
        winPath(stop),
        okName,
        winPath(ok),
        bigName,
        winPath(join(dir, 'big.img')),
        badName,
        winPath(join(dir, 'bad.img')),
      ],
      log,
    );
    try {
      await waitForFile(ready, 30_000, log);
      const out = join(dir, 'section.json');
      const r = wineNode([join(HELPERS, 'section-probe.mjs'), winPath(DIST), winPath(out), okName, bigName, badName, `Local\\${tag}-none`]);
      assert.equal(r.status, 0, r.stderr);
      const got = readJson(out);
      assert.deepEqual(got[okName], {
        records: records.map((b) => b.toString('hex')),
        dropped: '3',
        pendingAfter: 0,
        error: null,
        // bytes between consumer and producer: each record with its 8-byte header, 8-aligned, and the discarded 40
        pendingBefore: records.reduce((n, b) => n + ((b.length + 8 + 7) & ~7), 0) + 48,
      });
      assert.deepEqual(got[bigName], {
        records: [],
        dropped: null,
        pendingBefore: 0,
        pendingAfter: 0,
        error: `ring data size 1048576 does not fit a ${WIN_RING.headerBytes + 4096}-byte section`,
      });
      assert.equal(got[badName].error, 'ring magic 0x12345678, expected 0x53544d53 (not a sysmon-ts ring)');
      // OpenFileMappingW of a name nobody created: ERROR_FILE_NOT_FOUND
      assert.equal(got[`Local\\${tag}-none`].error, `OpenFileMappingW(Local\\${tag}-none) failed (error 2)`);
    } finally {
      writeFileSync(stop, '');
      await harness.stop();
    }
  });
});

describe('the ETW sink under Wine', () => {
  it("registers the manifest's provider and writes every event; Wine's ETW is a stub that delivers nothing", (t) => {
    if (!requireWine(t)) return;
    // log only the three ntdll ETW calls advapi32 forwards to (+relay with RelayInclude)
    const reg = wine([
      'reg',
      'add',
      'HKCU\\Software\\Wine\\Debug',
      '/v',
      'RelayInclude',
      '/t',
      'REG_SZ',
      '/d',
      'ntdll.EtwEventRegister;ntdll.EtwEventWriteTransfer;ntdll.EtwEventUnregister',
      '/f',
    ]);
    assert.equal(reg.status, 0, reg.stderr);
    const ids = [1, 4, 11, 13, 255];
    const events = join(dir, 'events.jsonl');
    writeFileSync(
      events,
      ids.map((id, i) => JSON.stringify({ EventID: id, EventRecordID: i + 1, EventData: { RuleName: 'wine', UtcTime: '2025-01-01 00:00:00.000' } })).join('\n'),
    );
    const out = join(dir, 'etw.json');
    const r = wineNode([join(HELPERS, 'etw-probe.mjs'), winPath(DIST), winPath(events), winPath(out)], { env: { WINEDEBUG: '-all,+relay' } });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readJson(out), { opened: true, written: ids.length, closed: true, error: null });
    const calls = [...r.stderr.matchAll(/:(Call|Ret) +ntdll\.(EtwEvent\w+)\(([^)]*)\)(?: retval=([0-9a-f]+))?/g)].map((m) => ({
      kind: m[1],
      fn: m[2],
      args: m[3]!.split(','),
      retval: m[4],
    }));
    const register = calls.filter((c) => c.fn === 'EtwEventRegister');
    assert.deepEqual(
      register.map((c) => c.kind),
      ['Call', 'Ret'],
    );
    assert.equal(register[1]!.retval, '00000000');
    // EventWriteTransfer(handle, descriptor, NULL, NULL, field count, data): one per event, the
    // user data count = the event's template fields, all accepted (0)
    const writes = calls.filter((c) => c.fn === 'EtwEventWriteTransfer');
    assert.deepEqual(
      writes.filter((c) => c.kind === 'Call').map((c) => parseInt(c.args[4]!, 16)),
      ids.map((id) => eventDef(id).fields.length),
    );
    assert.deepEqual(
      writes.filter((c) => c.kind === 'Ret').map((c) => c.retval),
      ids.map(() => '00000000'),
    );
    // Wine's stub: every provider gets the same fake handle 0xdeadbeef and nothing reaches a consumer
    assert.deepEqual([...new Set(writes.filter((c) => c.kind === 'Call').map((c) => c.args[0]))], ['deadbeef']);
    assert.deepEqual(
      calls.filter((c) => c.fn === 'EtwEventUnregister').map((c) => [c.kind, c.kind === 'Call' ? c.args[0] : c.retval]),
      [
        ['Call', 'deadbeef'],
        ['Ret', '00000000'],
      ],
    );
  });
});
