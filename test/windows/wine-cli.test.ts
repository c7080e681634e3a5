// The compiled agent's command line under Wine, as on Windows: `run` over a ring a harness
// hands it in a named section (the agent's full path: Windows platform choice, host facts,
// section reader, Windows decoder and normalizers, config engine, journal, JSONL sink, stop),
// then `convert` and `view` of what it wrote, `-s`, `-m --windows` and `-i --dry-run`. The
// expected values come from elsewhere: the records the test wrote, Wine's reg.exe, the same
// commands run by Linux's node on the same files, the committed manifest, the plan functions
// given Wine's paths, and evtxexport (libevtx) reading the EVTX file the Windows run wrote.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderWindowsPlan, windowsInstallPlan } from '../../src/commands/install-windows.js';
import { SectionProducer } from './ring-producer.js';
import * as R from './records.js';
import { missingTool, requirePrereq } from '../helpers/prereq.js';
import { HELPERS, NODE_EXE, REPO, keepWineserver, requireWine, startWine, waitForFile, wine, wineNode, winPath } from './wine-env.js';

const BIN = join(REPO, 'src', 'bin.js');
let dir = '';
before(() => {
  keepWineserver();
  dir = mkdtempSync(join(tmpdir(), 'wine-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ALL = `<Sysmon schemaversion="4.91"><EventFiltering>
${['ProcessCreate', 'ProcessTerminate', 'FileCreate', 'RegistryEvent']
  .map((t) => `<RuleGroup groupRelation="or"><${t} onmatch="exclude"/></RuleGroup>`)
  .join('\n')}
</EventFiltering></Sysmon>`;

const VOL1 = '\\Device\\HarddiskVolume1'; // Wine's C:
const SYSTEM_SID = Buffer.from([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]);
const KEY_EXPLORER = 0x0016000000000500n,
  KEY_CMD = 0x0016000000000603n;

function ringImage(): Uint8Array {
  const p = new SectionProducer(1 << 16);
  for (const r of [
    R.winProcess(4000, `${VOL1}\\windows\\explorer.exe`, 'C:\\windows\\Explorer.EXE', {
      ppid: 900,
      startKey: KEY_EXPLORER,
      createTime: 134088765432110000n,
      sid: SYSTEM_SID,
      rid: 0x4000,
      session: 1,
    }),
    R.winProcess(1234, `${VOL1}\\windows\\system32\\cmd.exe`, 'cmd.exe /c "echo hi"', {
      ppid: 4000,
      startKey: KEY_CMD,
      parentKey: KEY_EXPLORER,
      createTime: 134090000001234567n,
      rid: 0x3000,
      session: 1,
    }),
    R.winFile(210, `${VOL1}\\users\\Public\\a.txt`, '', { pid: 1234, startKey: KEY_CMD, creationTime: 134090000001234567n }),
    R.exitRecord(1234, 0, KEY_CMD, 5_000_000_000n),
  ])
    assert.ok(p.output(r));
  p.reserve(0);
  p.reserve(0); // two records the driver could not place: event 255
  return new Uint8Array(p.section);
}

interface Ev {
  EventID: number;
  EventData: Record<string, unknown>;
}
let events: Ev[] = [];
const jsonl = (): string => join(dir, 'events.jsonl');

describe('the agent under Wine', () => {
  it('run: drains the ring of a named section into events with Windows values, reports drops (255) and stops with event 4', async (t) => {
    if (!requireWine(t)) return;
    writeFileSync(join(dir, 'config.xml'), ALL);
    writeFileSync(join(dir, 'ring.img'), ringImage());
    const section = `Local\\sysmon-ts-cli-${process.pid}`;
    const ready = join(dir, 'ready'),
      stop = join(dir, 'stop'),
      log = join(dir, 'harness.log');
    const harness = startWine([NODE_EXE, join(HELPERS, 'ring-harness.mjs'), winPath(ready), winPath(stop), section, winPath(join(dir, 'ring.img'))], log);
    let r;
    try {
      await waitForFile(ready, 30_000, log);
      // stdin is /dev/null: --stop-on-stdin-close stops it at once, after the first drain
      // with the ETW sink too: +relay logs advapi32's calls into ntdll's ETW (RelayInclude below)
      const relay = wine([
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
      assert.equal(relay.status, 0, relay.stderr);
      r = wineNode(
        [
          BIN,
          'run',
          '--windows',
          '-c',
          winPath(join(dir, 'config.xml')),
          '--journal',
          winPath(join(dir, 'journal')),
          '--jsonl',
          winPath(jsonl()),
          '--sink',
          'etw',
          '--no-console',
          '--stop-on-stdin-close',
          '--ring-section',
          section,
        ],
        { env: { WINEDEBUG: '-all,+relay' } },
      );
    } finally {
      writeFileSync(stop, '');
      await harness.stop();
    }
    assert.equal(r.status, 0, r.stderr);
    events = readFileSync(jsonl(), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
    // the configuration (16) first, then 4 Started, as the agent orders them at start
    assert.deepEqual(
      events.map((e) => e.EventID),
      [16, 4, 1, 1, 11, 5, 255, 4],
    );
    assert.deepEqual([events[1]!.EventData.State, events.at(-1)!.EventData.State], ['Started', 'Stopped']);
    const guid = /MachineGuid\s+REG_SZ\s+(\S+)/.exec(wine(['reg', 'query', 'HKLM\\SOFTWARE\\Microsoft\\Cryptography', '/v', 'MachineGuid']).stdout)![1]!;
    const word = guid.slice(0, 8); // ProcessGuid's first group: the machine GUID's (README.md)
    const [explorer, cmd, file, exit, drops] = [events[2]!, events[3]!, events[4]!, events[5]!, events[6]!].map((e) => e.EventData);
    assert.deepEqual(explorer, {
      RuleName: '-',
      UtcTime: '2025-11-29 07:55:43.211',
      ProcessGuid: `{${word}-a6ff-692a-0005-000000001600}`,
      ProcessId: 4000,
      Image: 'C:\\windows\\explorer.exe',
      FileVersion: '-',
      Description: '-',
      Product: '-',
      Company: '-',
      OriginalFileName: '-',
      CommandLine: 'C:\\windows\\Explorer.EXE',
      CurrentDirectory: '-',
      User: 'NT AUTHORITY\\SYSTEM',
      LogonGuid: `{${word}-0000-0000-28a3-0f0000000000}`,
      LogonId: '0xfa328',
      TerminalSessionId: 1,
      IntegrityLevel: 'System',
      Hashes: '-',
      ParentProcessGuid: explorer!.ParentProcessGuid,
      ParentProcessId: 900,
      ParentImage: '-',
      ParentCommandLine: '-',
      ParentUser: '-',
    });
    // S-1-5-21-1-2-3-1001 has no account on Wine: the SID stays
    assert.deepEqual(
      [cmd!.Image, cmd!.User, cmd!.ParentImage, cmd!.ParentUser, cmd!.IntegrityLevel, cmd!.ProcessGuid],
      [
        'C:\\windows\\system32\\cmd.exe',
        'S-1-5-21-1-2-3-1001',
        'C:\\windows\\explorer.exe',
        'NT AUTHORITY\\SYSTEM',
        'High',
        `{${word}-8940-692c-0306-000000001600}`,
      ],
    );
    assert.deepEqual(
      [file!.TargetFilename, file!.Image, file!.CreationUtcTime],
      ['C:\\users\\Public\\a.txt', 'C:\\windows\\system32\\cmd.exe', '2025-11-30 18:13:20.123'],
    );
    assert.deepEqual([exit!.ProcessGuid, exit!.Image], [cmd!.ProcessGuid, 'C:\\windows\\system32\\cmd.exe']);
    assert.deepEqual([drops!.ID, drops!.Description], ['RingDrops', '2 kernel records lost because the ring buffer was full (2 since start)']);
    // the ETW sink got every event: one EventWriteTransfer each, with the event's field count, accepted (Wine's stub)
    const writes = [...r.stderr.matchAll(/:Call +ntdll\.EtwEventWriteTransfer\(([^)]*)\)/g)].map((m) => parseInt(m[1]!.split(',')[4]!, 16));
    assert.deepEqual(
      writes,
      events.map((e) => Object.keys(e.EventData).length),
    );
    assert.equal((r.stderr.match(/:Ret +ntdll\.EtwEventWriteTransfer\(\) retval=00000000/g) ?? []).length, events.length);
    assert.equal((r.stderr.match(/:Call +ntdll\.EtwEventRegister\(/g) ?? []).length, 1);
    assert.equal((r.stderr.match(/:Call +ntdll\.EtwEventUnregister\(deadbeef\)/g) ?? []).length, 1);
  });

  it('convert and view: the same output as on Linux, and an EVTX file libevtx reads', (t) => {
    if (!requireWine(t) || !requirePrereq(t, missingTool('evtxexport'))) return;
    assert.ok(events.length > 0, 'the run test wrote events');
    const evtx = join(dir, 'w.evtx'),
      back = join(dir, 'back.jsonl'),
      linuxEvtx = join(dir, 'l.evtx');
    for (const [input, output] of [
      [jsonl(), evtx],
      [evtx, back],
    ] as const) {
      const r = wineNode([BIN, 'convert', winPath(input), winPath(output)]);
      assert.equal(r.status, 0, `convert ${input} ${output}: ${r.stderr}`);
    }
    const lin = spawnSync(process.execPath, [BIN, 'convert', jsonl(), linuxEvtx], { encoding: 'utf8' });
    assert.equal(lin.status, 0, lin.stderr);
    // libevtx reads what Wine's run wrote exactly as what Linux's writer makes from the same
    // events, but for the converting process's id (Execution ProcessID/ThreadID)
    const exportXml = (f: string): string => {
      const x = spawnSync('evtxexport', ['-f', 'xml', f], { encoding: 'utf8' });
      assert.equal(x.status, 0, x.stderr);
      return x.stdout.replace(/^evtxexport [^\n]*\n/, '');
    };
    const execution = /<Execution ProcessID="(\d+)" ThreadID="(\d+)"\/>/g;
    const fromWine = exportXml(evtx);
    assert.equal(fromWine.replace(execution, ''), exportXml(linuxEvtx).replace(execution, ''));
    assert.equal((fromWine.match(/<Event /g) ?? []).length, events.length);
    assert.ok(fromWine.includes('<Data Name="TargetFilename">C:\\users\\Public\\a.txt</Data>'), fromWine.slice(0, 3000));
    assert.ok(fromWine.includes('<Provider Name="Microsoft-Windows-Sysmon" Guid="{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"/>'), fromWine.slice(0, 600));
    // EVTX -> JSONL under Wine gives back the events' data
    const again = readFileSync(back, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Ev);
    assert.deepEqual(
      again.map((e) => [e.EventID, e.EventData]),
      events.map((e) => [e.EventID, e.EventData]),
    );
    for (const args of [
      ['view', evtx],
      ['view', jsonl(), '-e', '1,11', '-f', 'Image~cmd'],
    ]) {
      const w = wineNode([BIN, ...args.map((a) => (a.startsWith('/') ? winPath(a) : a))]);
      const l = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
      assert.equal(w.status, 0, w.stderr);
      assert.equal(w.stdout.replace(/\r\n/g, '\n'), l.stdout, `sysmon-ts ${args.join(' ')}`);
      assert.ok(w.stdout.length > 100);
    }
  });

  it('-s and -m --windows print what Linux prints and the committed Windows manifest', (t) => {
    if (!requireWine(t)) return;
    const schema = wineNode([BIN, '-s']);
    assert.equal(schema.status, 0, schema.stderr);
    assert.equal(schema.stdout, spawnSync(process.execPath, [BIN, '-s'], { encoding: 'utf8' }).stdout);
    const manifest = wineNode([BIN, '-m', '--windows']);
    assert.equal(manifest.status, 0, manifest.stderr);
    assert.equal(manifest.stdout, readFileSync(join(REPO, 'manifest', 'sysmon-ts-windows.man'), 'utf8'));
  });

  it("-i --dry-run: the install plan with Wine's %ProgramData%, node.exe and this checkout", (t) => {
    if (!requireWine(t)) return;
    const r = wineNode([BIN, '-i', '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    const plan = windowsInstallPlan({
      config: winPath(join(REPO, 'src', 'config', 'default.xml')),
      env: { ProgramData: 'C:\\ProgramData' },
      nodeExe: winPath(NODE_EXE),
      checkout: winPath(REPO),
    });
    assert.equal(r.stdout, `REM sysmon-ts -i (Windows service): nothing was changed (--dry-run)\n${renderWindowsPlan(plan)}`);
    assert.ok(
      r.stdout.includes(
        `copy /y ${winPath(join(REPO, 'driver', 'windows', 'service', 'build', 'sysmon-ts-service.exe'))} C:\\ProgramData\\sysmon-ts\\bin\\sysmon-ts-service.exe\n`,
      ),
    );
  });
});
