// `convert` of a JSONL file with broken lines: each is reported with its line number and
// skipped, every good event is converted, the exit status says something was skipped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { LINUX_IDENTITY, WINDOWS_IDENTITY, type SysmonEvent } from '../../src/events/event.js';
import { ROOT } from '../../src/paths.js';
import { runConvert } from '../../src/commands/convert.js';
import { encodeJsonl } from '../../sinks/shared/jsonl-encode.js';

const who = { ...LINUX_IDENTITY, computer: 'h' };
const ev = (rec: number, cmd: string): SysmonEvent => ({
  id: 1,
  recordId: rec,
  timeNs: 1_795_000_000_000_000_000n + BigInt(rec),
  data: { RuleName: '-', UtcTime: '2026-11-16 10:13:20.000', Image: '/usr/bin/x', CommandLine: cmd },
});

it('convert skips and reports malformed JSONL lines, converts the rest, exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-convert-'));
  const good = [ev(1, 'first'), ev(2, 'second "quoted"\nline'), ev(3, 'third')].map((e) => encodeJsonl(e, who));
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, [good[0], '{"EventID":1,"EventRecordID":\n', good[1], '\n', '[1,2]\n', good[2]].join(''));
  const out = join(dir, 'out.jsonl');
  const warnings: string[] = [];
  const r = await runConvert(input, out, (t) => warnings.push(t));
  assert.deepEqual(r, { events: 3, skipped: 0, malformed: 2, damaged: 0, renumbered: 0, warnings: 0 });
  assert.equal(readFileSync(out, 'utf8'), good.join(''));
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /in\.jsonl:2: malformed event skipped/);
  assert.match(warnings[1]!, /in\.jsonl:5: malformed event skipped: not a JSON object/);

  const cli = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'convert', input, join(dir, 'out.evtx')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(cli.status, 1, cli.stderr);
  assert.match(cli.stderr, /in\.jsonl:2: malformed event skipped/);
  assert.match(cli.stderr, /"events":3,"skipped":0,"malformed":2,"damaged":0/);
});

// Issue 19 e: JSONL -> EVTX keeps every event (an EventRecordID not above the previous one is
// renumbered, and counted), and each record keeps its own Computer and Version. libevtx and
// python-evtx read the result back: nothing flagged, every value where it belongs.
it('convert JSONL -> EVTX renumbers non-increasing EventRecordIDs, keeps each Computer and Version', async (t) => {
  const { needTool, run } = await import('../evtx/tools.js');
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-convert-ids-'));
  const rows = [
    { rec: 5, computer: 'alpha', version: 5 },
    { rec: 3, computer: 'beta', version: 2 },
    { rec: 3, computer: 'gamma', version: 3 },
    { rec: 10, computer: 'alpha', version: 5 },
    { rec: 7, computer: 'delta.example', version: 4 },
    { rec: 8, computer: 'beta', version: 5 },
  ];
  const input = join(dir, 'in.jsonl');
  writeFileSync(
    input,
    rows
      .map((r, i) => {
        const o = JSON.parse(encodeJsonl(ev(r.rec, `cmd ${i}`), { ...who, computer: r.computer })) as Record<string, unknown>;
        o.Version = r.version;
        return `${JSON.stringify(o)}\n`;
      })
      .join(''),
  );
  const out = join(dir, 'out.evtx');
  const warnings: string[] = [];
  const r = await runConvert(input, out, (w) => warnings.push(w));
  assert.deepEqual(r, { events: 6, skipped: 0, malformed: 0, damaged: 0, renumbered: 4, warnings: 0 });
  assert.match(warnings.join(''), /4 events whose EventRecordID was not above the previous one written under the next number/);
  const want = {
    ids: [5, 6, 7, 10, 11, 12],
    computers: rows.map((x) => x.computer),
    versions: rows.map((x) => x.version),
    cmds: rows.map((_x, i) => `cmd ${i}`),
  };
  const fields = (xml: string) => {
    const evs = [...xml.matchAll(/<Event xmlns=[\s\S]*?<\/Event>/g)].map((m) => m[0]);
    return {
      ids: evs.map((e) => Number(/<EventRecordID>(\d+)</.exec(e)?.[1])),
      computers: evs.map((e) => /<Computer>([^<]*)</.exec(e)?.[1]),
      versions: evs.map((e) => Number(/<Version>(\d+)</.exec(e)?.[1])),
      cmds: evs.map((e) => /<Data Name="CommandLine">([^<]*)</.exec(e)?.[1]),
    };
  };
  if (needTool(t, 'evtxinfo')) {
    const info = run('evtxinfo', [out]).stdout;
    assert.doesNotMatch(info, /corrupted/i);
    assert.match(info, /Number of records\s*:\s*6\n/);
  }
  if (needTool(t, 'evtxexport')) assert.deepEqual(fields(run('evtxexport', ['-f', 'xml', out]).stdout), want);
  if (needTool(t, 'evtx_dump.py')) assert.deepEqual(fields(run('evtx_dump.py', [out]).stdout), want);
  // and back: the same Computers, the event's own EventRecordIDs
  const back = join(dir, 'back.jsonl');
  await runConvert(out, back);
  const lines = readFileSync(back, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.EventRecordID, l.Computer]),
    want.ids.map((id, i) => [id, want.computers[i]]),
  );
});

it('convert JSONL -> EVTX: absurdly long Provider and Channel names are cut, the conversion goes on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-convert-long-'));
  const input = join(dir, 'in.jsonl');
  writeFileSync(
    input,
    [1, 2, 3]
      .map((i) => {
        const o = JSON.parse(encodeJsonl(ev(i, `c${i}`), who)) as Record<string, unknown>;
        if (i === 2) {
          o.Provider = 'P'.repeat(50_000);
          o.Channel = 'C'.repeat(50_000);
        }
        return `${JSON.stringify(o)}\n`;
      })
      .join(''),
  );
  const out = join(dir, 'out.evtx');
  assert.deepEqual(await runConvert(input, out), { events: 3, skipped: 0, malformed: 0, damaged: 0, renumbered: 0, warnings: 0 });
  const { readEvtxRecords, recordToEvent, classifyRecord } = await import('../../sinks/evtx/reader.js');
  const recs = [...readEvtxRecords(out)];
  assert.equal(recs.length, 3);
  // the long provider is not a Sysmon provider: read back as another provider's record, its name cut to 255
  const v = classifyRecord(recs[1]!);
  assert.ok('skip' in v && v.provider === 'P'.repeat(255));
  assert.deepEqual(
    [recs[0], recs[2]].map((r) => recordToEvent(r!)?.event.recordId),
    [1, 3],
  );
});

it('convert to .xml writes the Linux dialect for Linux-Sysmon events and the Windows one for Windows events', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-convert-'));
  const input = join(dir, 'mixed.jsonl');
  writeFileSync(input, encodeJsonl(ev(1, 'linux'), who) + encodeJsonl(ev(2, 'windows'), { ...WINDOWS_IDENTITY, computer: 'W' }));
  const out = join(dir, 'out.xml');
  assert.deepEqual(await runConvert(input, out), { events: 2, skipped: 0, malformed: 0, damaged: 0, renumbered: 0, warnings: 0 });
  const [lin, win] = readFileSync(out, 'utf8').split('\n');
  // Sysmon for Linux's syslog document: no namespace, Security UserId, 9-digit SystemTime
  assert.match(lin!, /^<Event><System><Provider Name="Linux-Sysmon" Guid="\{ff032593-a8d3-4f13-b0d6-01fc615a0f97\}"\/>/);
  assert.match(lin!, /<TimeCreated SystemTime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"\/>/);
  assert.match(lin!, /<Security UserId="\d+"\/>/);
  assert.match(win!, /^<Event xmlns="http:\/\/schemas.microsoft.com\/win\/2004\/08\/events\/event"><System><Provider Name="Microsoft-Windows-Sysmon"/);
  assert.match(win!, /<Security UserID="S-1-5-18"\/>/);
});
