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
import { encodeJsonl } from '../../sinks/jsonl/encode.js';

const who = { ...LINUX_IDENTITY, computer: 'h' };
const ev = (rec: number, cmd: string): SysmonEvent => ({
  id: 1, recordId: rec, timeNs: 1_795_000_000_000_000_000n + BigInt(rec), data: { RuleName: '-', UtcTime: '2026-11-16 10:13:20.000', Image: '/usr/bin/x', CommandLine: cmd },
});

it('convert skips and reports malformed JSONL lines, converts the rest, exits 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-convert-'));
  const good = [ev(1, 'first'), ev(2, 'second "quoted"\nline'), ev(3, 'third')].map((e) => encodeJsonl(e, who));
  const input = join(dir, 'in.jsonl');
  writeFileSync(input, [good[0], '{"EventID":1,"EventRecordID":\n', good[1], '\n', '[1,2]\n', good[2]].join(''));
  const out = join(dir, 'out.jsonl');
  const warnings: string[] = [];
  const r = await runConvert(input, out, (t) => warnings.push(t));
  assert.deepEqual(r, { events: 3, skipped: 0, malformed: 2 });
  assert.equal(readFileSync(out, 'utf8'), good.join(''));
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /in\.jsonl:2: malformed event skipped/);
  assert.match(warnings[1]!, /in\.jsonl:5: malformed event skipped: not a JSON object/);

  const cli = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'convert', input, join(dir, 'out.evtx')], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(cli.status, 1, cli.stderr);
  assert.match(cli.stderr, /in\.jsonl:2: malformed event skipped/);
  assert.match(cli.stderr, /"events":3,"skipped":0,"malformed":2/);
});

it('convert to .xml writes the Linux dialect for Linux-Sysmon events and the Windows one for Windows events', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-convert-'));
  const input = join(dir, 'mixed.jsonl');
  writeFileSync(input, encodeJsonl(ev(1, 'linux'), who) + encodeJsonl(ev(2, 'windows'), { ...WINDOWS_IDENTITY, computer: 'W' }));
  const out = join(dir, 'out.xml');
  assert.deepEqual(await runConvert(input, out), { events: 2, skipped: 0, malformed: 0 });
  const [lin, win] = readFileSync(out, 'utf8').split('\n');
  // Sysmon for Linux's syslog document: no namespace, Security UserId, 9-digit SystemTime
  assert.match(lin!, /^<Event><System><Provider Name="Linux-Sysmon" Guid="\{ff032593-a8d3-4f13-b0d6-01fc615a0f97\}"\/>/);
  assert.match(lin!, /<TimeCreated SystemTime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"\/>/);
  assert.match(lin!, /<Security UserId="\d+"\/>/);
  assert.match(win!, /^<Event xmlns="http:\/\/schemas.microsoft.com\/win\/2004\/08\/events\/event"><System><Provider Name="Microsoft-Windows-Sysmon"/);
  assert.match(win!, /<Security UserID="S-1-5-18"\/>/);
});
