// Reading other tools' EVTX files (issue 19 a, c, d): records without templates (Windows Event
// Collector / merged logs, in both element layouts), BinXml (0x21) values holding plain
// elements (CAPI2's UserData), non-Sysmon providers with Sysmon-like IDs, and Sysmon files
// whose System/EventRecordID is not the record header's id. The inputs are built here
// (test/evtx/builder.ts) and checked by libevtx (evtxinfo/evtxexport) and python-evtx where
// those parse the layout, so the expected values come from an independent parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyRecord, readEvtxRecords, recordToEvent, renderNode, type ReadIssue } from '../../sinks/evtx/reader.js';
import { runConvert } from '../../src/commands/convert.js';
import { runView } from '../../src/commands/view.js';
import { ROOT } from '../../src/paths.js';
import { ChunkBuilder, evtxFile, plainRecord, templatedRecord, userDataRecord, type Content, type SimpleEvent } from './builder.js';
import { needTool, parseExportXml, run } from './tools.js';

const dir = mkdtempSync(join(tmpdir(), 'evtx-foreign-'));
const SYSMON_WIN = {
  provider: 'Microsoft-Windows-Sysmon',
  providerGuid: '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}',
  channel: 'Microsoft-Windows-Sysmon/Operational',
};
const SYSMON_LINUX = { provider: 'Linux-Sysmon', providerGuid: '{FF032593-A8D3-4F13-B0D6-01FC615A0F97}', channel: 'Linux-Sysmon/Operational' };
const T0 = 1_790_000_000_000_000_000n;

/** A Sysmon event 1 (Process Create) with a few typed fields, numbered `rid` in its System part. */
function sysmonEvent(i: number, rid: bigint, who = SYSMON_WIN): SimpleEvent {
  return {
    ...who,
    computer: `host-${i % 3}.example`,
    eventId: 1,
    version: 5,
    recordId: rid,
    timeNs: T0 + BigInt(i) * 1_000_000_000n,
    data: [
      ['RuleName', `rule ${i}`],
      ['UtcTime', '2026-09-21 14:13:20.000'],
      ['ProcessGuid', `{5770385f-c22a-43e0-bf4c-${(0x100000000000 + i).toString(16)}}`],
      ['ProcessId', String(4000 + i)],
      ['Image', `C:\\Windows\\p${i}.exe`],
      ['CommandLine', `p${i}.exe /flag ${i}`],
    ],
  };
}

/** Builds a file of one or more chunks from records (new chunk when one is nearly full). */
function buildFile(name: string, records: [bigint, SimpleEvent, Content][]): string {
  const chunks = [new ChunkBuilder()];
  for (const [id, ev, body] of records) {
    if (chunks.at(-1)!.free < 4096) chunks.push(new ChunkBuilder());
    chunks.at(-1)!.record(id, ev.timeNs, body);
  }
  const path = join(dir, name);
  writeFileSync(path, evtxFile(chunks, records.at(-1)![0] + 1n));
  return path;
}

function readAll(path: string): { recs: ReturnType<typeof readEvtxRecords> extends Generator<infer R> ? R[] : never; issues: ReadIssue[] } {
  const issues: ReadIssue[] = [];
  const recs = [...readEvtxRecords(path, { onIssue: (i) => issues.push(i) })];
  return { recs, issues };
}

/** evtxinfo's verdict: the structure (chunks, record headers, CRCs) is valid with `n` records. */
function assertStructure(t: import('node:test').TestContext, path: string, n: number): void {
  if (!needTool(t, 'evtxinfo')) return;
  const r = run('evtxinfo', [path]);
  assert.doesNotMatch(r.stdout, /corrupted/i, path);
  assert.match(r.stdout, new RegExp(`Number of records\\s*:\\s*${n}\\n`), path);
  assert.match(r.stdout, /Number of recovered records\s*:\s*0\n/, path);
}

/** evtxexport's events, one XML string each, whitespace between tags removed. */
function libevtxEvents(path: string): string[] {
  const r = run('evtxexport', ['-f', 'xml', path]);
  assert.equal(r.status, 0, r.stderr);
  return [...r.stdout.matchAll(/<Event xmlns=[\s\S]*?<\/Event>/g)].map((m) => m[0].replace(/>\s+</g, '><').trim());
}

// ---- a. records without templates --------------------------------------------------------------
const N_PLAIN = 120; // more than one chunk
const plainEvents = Array.from({ length: N_PLAIN }, (_, i) => sysmonEvent(i, 20_000n + BigInt(i)));

test('a: records without templates, elements without dependency ids (Windows Event Collector layout) are read', (t) => {
  const noDep = buildFile(
    'wec-nodep.evtx',
    plainEvents.map((e, i) => [BigInt(i + 1), e, plainRecord(e, false)]),
  );
  const withDep = buildFile(
    'wec-dep.evtx',
    plainEvents.map((e, i) => [BigInt(i + 1), e, plainRecord(e, true)]),
  );
  assertStructure(t, noDep, N_PLAIN);
  assertStructure(t, withDep, N_PLAIN);
  const a = readAll(noDep);
  const b = readAll(withDep);
  assert.deepEqual(a.issues, []);
  assert.deepEqual(b.issues, []);
  assert.equal(a.recs.length, N_PLAIN);
  // both layouts give the same tree; libevtx reads the dependency-id layout: the same XML
  assert.deepEqual(
    a.recs.map((r) => renderNode(r.root[0]!)),
    b.recs.map((r) => renderNode(r.root[0]!)),
  );
  if (needTool(t, 'evtxexport'))
    assert.deepEqual(
      a.recs.map((r) => renderNode(r.root[0]!)),
      libevtxEvents(withDep),
    );
  // and as Sysmon events: the System/EventRecordID, typed values from text, the record's own Computer
  a.recs.forEach((r, i) => {
    const p = recordToEvent(r)!;
    assert.equal(p.event.recordId, 20_000 + i);
    assert.equal(p.event.timeNs, plainEvents[i]!.timeNs);
    assert.equal(p.identity.computer, `host-${i % 3}.example`);
    assert.equal(p.version, 5);
    assert.deepEqual(p.event.data, {
      RuleName: `rule ${i}`,
      UtcTime: '2026-09-21 14:13:20.000',
      ProcessGuid: plainEvents[i]!.data[2]![1],
      ProcessId: 4000 + i,
      Image: `C:\\Windows\\p${i}.exe`,
      CommandLine: `p${i}.exe /flag ${i}`,
    });
  });
});

test('a: BinXml values holding plain elements (CAPI2 UserData), with and without a fragment header, are read', (t) => {
  const capi = (i: number): SimpleEvent => ({
    provider: 'Microsoft-Windows-CAPI2',
    providerGuid: '{5BBCA4A8-B209-48DC-A8C7-B23D3E5216FB}',
    channel: 'Microsoft-Windows-CAPI2/Operational',
    computer: 'pki.example',
    eventId: 11,
    version: 0,
    recordId: BigInt(i + 1),
    timeNs: T0 + BigInt(i),
    data: [
      ['subjectName', `CN=site${i}.example`],
      ['chainRef', `{${(0x10000000 + i).toString(16)}-0000-0000-0000-000000000000}`],
    ],
  });
  const events = Array.from({ length: 40 }, (_, i) => capi(i));
  // both forms in one file: a value starting with an element (no dependency ids) and one with a fragment header
  const path = buildFile(
    'capi2.evtx',
    events.map((e, i) => [BigInt(i + 1), e, userDataRecord(e, i % 2 === 1)]),
  );
  assertStructure(t, path, events.length);
  const { recs, issues } = readAll(path);
  assert.deepEqual(issues, []);
  assert.equal(recs.length, events.length);
  const userData = (xml: string) => /<UserData>[\s\S]*<\/UserData>/.exec(xml)?.[0];
  recs.forEach((r, i) => {
    assert.equal(
      userData(renderNode(r.root[0]!)),
      `<UserData><CertGetCertificateChain source="builder"><Data Name="subjectName">CN=site${i}.example</Data><Data Name="chainRef">${events[i]!.data[1]![1]}</Data></CertGetCertificateChain></UserData>`,
    );
    assert.deepEqual(classifyRecord(r), { skip: 'foreign-provider', provider: 'Microsoft-Windows-CAPI2', id: 11 });
  });
  if (needTool(t, 'evtxexport'))
    assert.deepEqual(
      recs.map((r) => userData(renderNode(r.root[0]!))),
      libevtxEvents(path).map(userData),
    );
});

// ---- c. providers; d. EventRecordID -----------------------------------------------------------
const FOREIGN = [
  { provider: 'Microsoft-Windows-Kernel-General', providerGuid: '{A68CA8B7-004F-D7B6-A698-07E2DE0F1F5D}', channel: 'System', ids: [1, 12, 13, 16] },
  { provider: 'Microsoft-Windows-Security-Auditing', providerGuid: '{54849625-5478-4994-A5BA-3E3B0328C30D}', channel: 'Security', ids: [4, 5, 22, 255] },
  { provider: 'Service Control Manager', providerGuid: '{555908D1-A6D7-4695-8E1E-26931D2012F4}', channel: 'System', ids: [3, 7, 11, 29, 100] },
];

function mixedFile(): { path: string; sysmon: SimpleEvent[]; foreign: Map<string, number> } {
  const records: [bigint, SimpleEvent, Content][] = [];
  const sysmon: SimpleEvent[] = [];
  const foreign = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < 60; i++) {
    const f = FOREIGN[i % FOREIGN.length]!;
    const id = f.ids[i % f.ids.length]!;
    const fe: SimpleEvent = {
      ...f,
      computer: 'dc1.example',
      eventId: id,
      version: 1,
      recordId: 500n + BigInt(i),
      timeNs: T0 + BigInt(i),
      data: [['Detail', `not sysmon ${i}`]],
    };
    records.push([BigInt(++n), fe, templatedRecord(fe)]);
    foreign.set(f.provider, (foreign.get(f.provider) ?? 0) + 1);
    if (i % 2 === 0) {
      // Windows numbers a Sysmon record in its own log; the merged file's headers count 1, 2, ...
      const se = sysmonEvent(i, 16_442n + BigInt(i), i % 4 === 0 ? SYSMON_WIN : SYSMON_LINUX);
      records.push([BigInt(++n), se, templatedRecord(se)]);
      sysmon.push(se);
    }
  }
  return { path: buildFile('mixed.evtx', records), sysmon, foreign };
}

test("c, d: only Sysmon providers are read as Sysmon events (others counted per provider); EventRecordID is the event's", async (t) => {
  const { path, sysmon, foreign } = mixedFile();
  const total = sysmon.length + [...foreign.values()].reduce((a, b) => a + b, 0);
  assertStructure(t, path, total);
  // independent parsers agree the file carries these providers, IDs and EventRecordIDs
  if (needTool(t, 'evtxexport')) {
    const recs = parseExportXml(run('evtxexport', ['-f', 'xml', path]).stdout);
    assert.equal(recs.length, total);
    assert.deepEqual(
      recs.filter((r) => r.recordId >= 16_442).map((r) => r.recordId),
      sysmon.map((e) => Number(e.recordId)),
    );
  }
  if (needTool(t, 'evtx_dump.py')) {
    const dump = run('evtx_dump.py', [path]);
    assert.equal(dump.status, 0, dump.stderr);
    const recs = parseExportXml(dump.stdout);
    assert.equal(recs.length, total);
    assert.equal(recs.filter((r) => r.eventId === 1).length, sysmon.length + FOREIGN.filter((f) => f.ids.includes(1)).length * 5);
  }
  const out = join(dir, 'mixed.jsonl');
  const warnings: string[] = [];
  const r = await runConvert(path, out, (w) => warnings.push(w));
  assert.deepEqual(r, { events: sysmon.length, skipped: total - sysmon.length, malformed: 0, damaged: 0, renumbered: 0, warnings: 0 });
  const lines = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => l.EventRecordID),
    sysmon.map((e) => Number(e.recordId)),
  );
  assert.deepEqual(
    lines.map((l) => l.Computer),
    sysmon.map((e) => e.computer),
  );
  assert.ok(lines.every((l) => l.EventID === 1 && (l.EventData as Record<string, unknown>).ProcessId !== undefined));
  assert.equal(warnings.length, 1);
  for (const [p, n] of foreign) assert.match(warnings[0]!, new RegExp(`${p}: ${n}`));
  // view shows the same Sysmon events only
  let text = '';
  const stats = { damaged: 0, malformed: 0, foreign: 0 };
  assert.equal(
    await runView(
      path,
      {
        write: (s: string) => {
          text += s;
        },
      },
      { system: true, stats },
    ),
    sysmon.length,
  );
  assert.equal(stats.foreign, total - sysmon.length);
  assert.doesNotMatch(text, /not sysmon/);
  assert.match(text, /EventRecordID: 16442\n/);
  // the CLI: skipping other providers is not an error
  const cli = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'convert', path, join(dir, 'mixed-cli.jsonl')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stderr, /records that are not Sysmon events skipped \(/);
});
