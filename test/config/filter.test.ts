// `filter`: JSONL in, kept events out with RuleName, malformed lines reported, --explain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runFilter } from '../../src/commands/filter.js';
import { encodeJsonl } from '../../sinks/shared/jsonl-encode.js';
import { LINUX_IDENTITY, WINDOWS_IDENTITY } from '../../src/events/event.js';
import { ev } from './helpers.js';

const CONFIG = fileURLToPath(new URL('../fixtures/configs/linux-small.xml', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/configs/', import.meta.url));

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

function input(): string {
  const lin = { ...LINUX_IDENTITY, computer: 'host1' };
  const win = { ...WINDOWS_IDENTITY, computer: 'WINBOX' };
  const lines = [
    encodeJsonl(
      {
        ...ev(1, {
          Image: '/usr/bin/bash',
          CommandLine: 'bash -c "echo hi; sleep 1; echo a long command line that will be truncated by FieldSizes to one hundred chars xxxxxxxxxxxxxxxx"',
        }),
        recordId: 1,
        timeNs: 1_700_000_000_000_000_000n,
      },
      lin,
    ),
    encodeJsonl({ ...ev(1, { Image: '/usr/bin/ls', ParentImage: '/bin/bash' }), recordId: 2, timeNs: 1_700_000_000_000_000_001n }, lin),
    '{"EventID":1, this is not json\n',
    '\n',
    encodeJsonl({ ...ev(1, { Image: '/usr/bin/bash', ParentImage: '/usr/lib/systemd/systemd' }), recordId: 3, timeNs: 1_700_000_000_000_000_002n }, lin),
    encodeJsonl({ ...ev(3, { Image: '/usr/bin/curl', DestinationPort: 443 }), recordId: 4, timeNs: 1_700_000_000_000_000_003n }, win),
    '{"EventID":"x"}\n',
    encodeJsonl({ ...ev(11, { TargetFilename: '/tmp/x' }), recordId: 5, timeNs: 1_700_000_000_000_000_004n }, lin),
    encodeJsonl({ ...ev(5, { Image: '/usr/bin/ls' }), recordId: 6, timeNs: 1_700_000_000_000_000_005n }, lin),
  ];
  return lines.join('');
}

test('runFilter: keeps, drops, RuleName, FieldSizes, identity per line, malformed lines with line numbers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'filter-'));
  const inPath = join(dir, 'in.jsonl');
  writeFileSync(inPath, input());
  const out = collect();
  const err = collect();
  const rc = await runFilter({ config: CONFIG, input: inPath, out: out.stream, err: err.stream });
  assert.equal(rc, 1);
  const kept = out
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, any>) as [any, any, any];
  assert.deepEqual(
    kept.map((k) => k.EventRecordID),
    [1, 4, 6],
  );
  assert.equal(kept[0].EventData.RuleName, 'technique_id=T1059.004,technique_name=Unix Shell');
  assert.equal(kept[0].EventData.CommandLine.length, 100);
  assert.equal(kept[0].Computer, 'host1');
  assert.equal(kept[0].TimeCreated, '2023-11-14T22:13:20.000000000Z');
  assert.equal(kept[1].EventData.RuleName, 'web');
  assert.equal(kept[1].Provider, 'Microsoft-Windows-Sysmon');
  assert.equal(kept[1].Channel, 'Microsoft-Windows-Sysmon/Operational');
  assert.equal(kept[1].Computer, 'WINBOX');
  assert.equal(kept[2].EventData.RuleName, '-');
  const e = err.text();
  assert.match(e, /line 3: malformed event/);
  assert.match(e, /line 7: malformed event: missing numeric EventID/);
  assert.match(e, /6 events, 3 kept, 3 dropped, 2 malformed/);
});

test('runFilter --explain from stdin: one line per event naming block and filter', async () => {
  const out = collect();
  const err = collect();
  const rc = await runFilter({ config: CONFIG, explain: true, out: out.stream, err: err.stream, stdin: Readable.from([input()]) });
  assert.equal(rc, 1);
  const e = err.text();
  assert.match(
    e,
    /line 1: EventID 1 KEEP RuleName="technique_id=T1059.004,technique_name=Unix Shell" by block; block <ProcessCreate onmatch="include"> line 7 \(OR, RuleGroup "shells"\); filter <Image condition="image"> "\/usr\/bin\/bash" line 8/,
  );
  assert.match(e, /line 2: EventID 1 DROP RuleName="-" by multiple-blocks-no-match/);
  assert.match(e, /line 5: EventID 1 DROP RuleName="-" by block; block <ProcessCreate onmatch="exclude">/);
  assert.match(e, /line 8: EventID 11 DROP .* by block|line 8: EventID 11 DROP RuleName="-" by lone-block-default/);
  assert.match(e, /line 9: EventID 5 KEEP RuleName="-" by lone-block-default/);
});

test('runFilter: a bad config is refused with file and line, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'filter-'));
  const bad = join(dir, 'bad.xml');
  writeFileSync(bad, '<Sysmon schemaversion="4.90">\n<EventFiltering>\n<ProcessCreate onmatch="include">\n</EventFiltering></Sysmon>');
  const err = collect();
  const rc = await runFilter({ config: bad, input: join(dir, 'none.jsonl'), out: collect().stream, err: err.stream });
  assert.equal(rc, 2);
  assert.match(err.text(), new RegExp(`${bad}:4: malformed XML`));
});

test('runFilter: what Sysmon skips is skipped with a FILE:LINE warning on stderr', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'filter-'));
  const lenient = join(dir, 'lenient.xml');
  writeFileSync(
    lenient,
    '<Sysmon schemaversion="4.90">\n<EventFiltering>\n<Nope onmatch="include"/>\n<ProcessCreate onmatch="Include"><Image condition="end with">/bash</Image></ProcessCreate>\n</EventFiltering></Sysmon>',
  );
  const err = collect();
  const out = collect();
  const rc = await runFilter({ config: lenient, out: out.stream, err: err.stream, stdin: Readable.from([input()]) });
  assert.equal(rc, 1);
  assert.match(err.text(), new RegExp(`filter: ${lenient}:3: warning: unknown element <Nope>`));
  assert.match(err.text(), new RegExp(`filter: ${lenient}:4: warning: <ProcessCreate>: onmatch "Include" read as "include"`));
  assert.ok(out.text().includes('/usr/bin/bash'));
});

test('filter --explain on MSTIC Linux main: an OMIGOD-shaped ProcessCreate from our normalizer is kept by the T1203 Rule, named', async () => {
  const { processCreate } = await import('../../src/families/process/events.js');
  const { ProcessTable } = await import('../../src/events/processes.js');
  const { GuidMaker } = await import('../../src/events/guid.js');
  const { UserNames } = await import('../../src/events/host.js');
  const table = new ProcessTable(new GuidMaker(1, 1), new UserNames(() => 'root'));
  const proc = {
    pid: 77,
    ppid: 1,
    guid: '{00000001-0000-0000-0000-000000000000}',
    key: 0,
    ticks: 1,
    image: '/usr/bin/python3.11',
    commandLine: 'python3 -c import os; os.system("/bin/sh -c id")',
    cwd: '/var/opt/microsoft/scx/tmp',
    uid: 0,
    user: 'root',
    loginUid: 0xffffffff,
    session: 0xffffffff,
    tty: 0,
  };
  const ev = { ...processCreate(table, proc, undefined, '{00000000-0000-0000-0000-000000000000}', 1_700_000_000_000_000_000n), recordId: 9 };
  assert.equal(ev.data.LogonId, '0', 'Sysmon for Linux writes LogonId 0 for uid 0');
  const out = collect();
  const err = collect();
  const rc = await runFilter({
    config: join(FIXTURES, 'mstic-linux-main.xml'),
    explain: true,
    out: out.stream,
    err: err.stream,
    stdin: Readable.from([encodeJsonl(ev, { ...LINUX_IDENTITY, computer: 'h' })]),
  });
  assert.equal(rc, 0, err.text());
  assert.match(
    err.text(),
    /line 1: EventID 1 KEEP RuleName="TechniqueID=T1203,TechniqueName=Exploitation for Client Execution" by block; block <ProcessCreate onmatch="include"> line 24 \(OR\); rule <Rule name="TechniqueID=T1203,TechniqueName=Exploitation for Client Execution" groupRelation="and"> line 72; filter </,
  );
  assert.equal(JSON.parse(out.text()).EventData.RuleName, 'TechniqueID=T1203,TechniqueName=Exploitation for Client Execution');
});

test("filter --explain on SwiftOnSecurity's config: image Winword.exe does not match /usr/bin/Winword.exe, the Tor port names the event", async () => {
  const conn = { ...ev(3, { Image: '/usr/bin/Winword.exe', DestinationPort: 9001, DestinationIp: '192.0.2.1', Protocol: 'tcp' }), recordId: 1 };
  const run = async (imageBasename: boolean) => {
    const out = collect();
    const err = collect();
    const rc = await runFilter({
      config: join(FIXTURES, 'swiftonsecurity-sysmonconfig-export.xml'),
      explain: true,
      imageBasename,
      out: out.stream,
      err: err.stream,
      stdin: Readable.from([encodeJsonl(conn, { ...LINUX_IDENTITY, computer: 'h' })]),
    });
    assert.equal(rc, 0, err.text());
    return err.text();
  };
  // Sysmon: the filter compares after the last \ (the whole Linux path): no match, evaluation goes on to Tor
  assert.match(await run(false), /line 1: EventID 3 KEEP RuleName="Tor" by block; .*filter <DestinationPort condition="is"> "9001" line 361 name="Tor"/);
  // --image-basename: our extension matches Winword.exe first, and the event keeps RuleName -
  assert.match(await run(true), /line 1: EventID 3 KEEP RuleName="-" by block; .*filter <Image condition="image"> "Winword.exe" line 332/);
});

test('filter --explain on sysmon-modular: NetworkConnect image qprocess.exe does not match /usr/bin/qprocess.exe (Sysmon), does with --image-basename', async () => {
  const conn = { ...ev(3, { Image: '/usr/bin/qprocess.exe', DestinationPort: 40123, DestinationIp: '192.0.2.7', Protocol: 'tcp' }), recordId: 1 };
  const run = async (imageBasename: boolean) => {
    const err = collect();
    const rc = await runFilter({
      config: join(FIXTURES, 'sysmon-modular-sysmonconfig.xml'),
      explain: true,
      imageBasename,
      out: collect().stream,
      err: err.stream,
      stdin: Readable.from([encodeJsonl(conn, { ...LINUX_IDENTITY, computer: 'h' })]),
    });
    assert.equal(rc, 0, err.text());
    return err
      .text()
      .split('\n')
      .find((l) => l.startsWith('line 1:'))!;
  };
  assert.match(await run(false), /^line 1: EventID 3 DROP /);
  assert.match(
    await run(true),
    /^line 1: EventID 3 KEEP RuleName="technique_id=T1057,technique_name=Process Discovery" by block; block <NetworkConnect onmatch="include"> line 722 \(OR\); rule <Rule name="Discovery" groupRelation="or"> line 753; filter <Image condition="image"> "qprocess.exe" line 762/,
  );
});
