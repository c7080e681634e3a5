// `filter`: JSONL in, kept events out with RuleName, malformed lines reported, --explain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runFilter } from '../../src/commands/filter.js';
import { encodeJsonl } from '../../sinks/jsonl/encode.js';
import { LINUX_IDENTITY, WINDOWS_IDENTITY } from '../../src/events/event.js';
import { ev } from './helpers.js';

const CONFIG = fileURLToPath(new URL('../fixtures/configs/linux-small.xml', import.meta.url));

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
    encodeJsonl({ ...ev(1, { Image: '/usr/bin/bash', CommandLine: 'bash -c "echo hi; sleep 1; echo a long command line that will be truncated by FieldSizes to one hundred chars xxxxxxxxxxxxxxxx"' }), recordId: 1, timeNs: 1_700_000_000_000_000_000n }, lin),
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
  const kept = out.text().trim().split("\n").map((l) => JSON.parse(l) as Record<string, any>) as [any, any, any];
  assert.deepEqual(kept.map((k) => k.EventRecordID), [1, 4, 6]);
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
  assert.match(e, /line 1: EventID 1 KEEP RuleName="technique_id=T1059.004,technique_name=Unix Shell" by block; block <ProcessCreate onmatch="include"> line 7 \(OR, RuleGroup "shells"\); filter <Image condition="image"> "\/usr\/bin\/bash" line 8/);
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
  writeFileSync(lenient, '<Sysmon schemaversion="4.90">\n<EventFiltering>\n<Nope onmatch="include"/>\n<ProcessCreate onmatch="Include"><Image condition="end with">/bash</Image></ProcessCreate>\n</EventFiltering></Sysmon>');
  const err = collect();
  const out = collect();
  const rc = await runFilter({ config: lenient, out: out.stream, err: err.stream, stdin: Readable.from([input()]) });
  assert.equal(rc, 1);
  assert.match(err.text(), new RegExp(`filter: ${lenient}:3: warning: unknown element <Nope>`));
  assert.match(err.text(), new RegExp(`filter: ${lenient}:4: warning: <ProcessCreate>: onmatch "Include" read as "include"`));
  assert.ok(out.text().includes('/usr/bin/bash'));
});
