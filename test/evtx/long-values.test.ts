// EVTX values too long for one 64 KiB chunk: cut at a clean UTF-16 boundary, marked with
// "...[truncated N bytes]", counted in the sink's stats, and still parsed by libevtx and
// python-evtx. The JSONL of the same event keeps the whole value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Identity, SysmonEvent } from '../../src/events/event.js';
import { LINUX_IDENTITY } from '../../src/events/event.js';
import { createEvtxSink } from '../../sinks/evtx/writer.js';
import { MAX_STRING_UNITS, truncateValue } from '../../sinks/evtx/chunk.js';
import { readEvtxRecords, recordToEvent } from '../../sinks/evtx/reader.js';
import { encodeJsonl } from '../../sinks/shared/jsonl-encode.js';
import { makeEvent } from './fixtures.js';
import { needTool, parseExportXml, run } from './tools.js';

const IDENTITY: Identity = { ...LINUX_IDENTITY, computer: 'test-host.example' };
const MARKER = /^([\s\S]*)\.\.\.\[truncated (\d+) bytes\]$/;

/** no high surrogate without its low one and no low one without its high one */
function wellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** the kept prefix and the byte count of a marked value; fails when the marker is missing */
function marked(value: string, original: string, what: string): string {
  const m = MARKER.exec(value);
  assert.ok(m, `${what}: no truncation marker at the end of ${JSON.stringify(value.slice(-60))}`);
  const kept = m[1]!;
  assert.ok(original.startsWith(kept), `${what}: the kept part is a prefix of the original`);
  assert.equal(Number(m[2]), Buffer.byteLength(original) - Buffer.byteLength(kept), `${what}: N = UTF-8 bytes removed`);
  return kept;
}

test('truncateValue: never splits a surrogate pair, marker counts the removed UTF-8 bytes', () => {
  const s = 'a😀'.repeat(100); // units: a, high, low, a, high, low, ...
  for (let keep = 1; keep < 40; keep++) {
    const v = truncateValue(s, keep);
    const kept = marked(v, s, `keep ${keep}`);
    assert.ok(kept.length <= keep && kept.length >= keep - 1);
    assert.ok(wellFormed(v), `keep ${keep}: no lone surrogate created`);
  }
  // lone surrogates that stand for invalid UTF-8 bytes are single units: cut like any other
  const bad = '\udcff'.repeat(10);
  assert.equal(MARKER.exec(truncateValue(bad, 4))![1], '\udcff'.repeat(4));
});

test('a 100 KB command line: the record fits, parses in libevtx and python-evtx, ends with the marker; the JSONL keeps it whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'evtx-long-'));
  try {
    const path = join(dir, 'long.evtx');
    // ASCII command line, a non-BMP parent command line whose cut falls between surrogates
    // somewhere, and an ordinary event after them
    let cmd = '';
    for (let i = 0; cmd.length < 100 * 1024; i++) cmd += `--opt${i}="<v&${i}>" `;
    const parent = `x${'😀'.repeat(60_000)}`;
    const events: SysmonEvent[] = [makeEvent(1, 1, { CommandLine: cmd }), makeEvent(1, 2, { CommandLine: cmd, ParentCommandLine: parent }), makeEvent(1, 3)];
    const sink = createEvtxSink(path, { identity: IDENTITY, fsync: false });
    await sink.open();
    await sink.write(events);
    await sink.close();
    assert.equal(sink.stats.events, 3);
    assert.equal(sink.stats.truncated, 2, 'two records had values cut');

    const back = [...readEvtxRecords(path)].map((r) => recordToEvent(r)!.event);
    assert.equal(back.length, 3);
    const kept1 = marked(back[0]!.data.CommandLine as string, cmd, 'record 1 CommandLine');
    assert.ok(kept1.length > 20_000, `most of the budget goes to the long value (${kept1.length})`);
    const kept2 = marked(back[1]!.data.CommandLine as string, cmd, 'record 2 CommandLine');
    const keptP = marked(back[1]!.data.ParentCommandLine as string, parent, 'record 2 ParentCommandLine');
    assert.ok(wellFormed(keptP), 'no half surrogate pair');
    let total = 0;
    for (const v of Object.values(back[1]!.data)) if (typeof v === 'string') total += v.length;
    assert.ok(total <= MAX_STRING_UNITS, `all strings with markers within the budget (${total})`);
    assert.ok(kept2.length > 5000 && keptP.length > 5000, 'the two long values share the room');
    assert.deepEqual(back[2]!.data, events[2]!.data, 'the next record is untouched');
    for (const k of Object.keys(events[0]!.data)) if (k !== 'CommandLine') assert.deepEqual(back[0]!.data[k], events[0]!.data[k], k);

    // the JSONL (and the journal, which stores the same record) keep the whole value
    assert.equal((JSON.parse(encodeJsonl(events[0]!, IDENTITY)) as { EventData: { CommandLine: string } }).EventData.CommandLine, cmd);

    if (needTool(t, 'evtxexport')) {
      const r = run('evtxexport', ['-f', 'xml', path]);
      assert.equal(r.status, 0, r.stderr);
      const recs = parseExportXml(r.stdout);
      assert.deepEqual(
        recs.map((x) => x.recordId),
        [1, 2, 3],
      );
      marked(recs[0]!.data.get('CommandLine')!, cmd, 'evtxexport record 1');
      marked(recs[1]!.data.get('CommandLine')!, cmd, 'evtxexport record 2');
      // libevtx 20181227 mis-decodes non-BMP characters (sinks/evtx/README.md): only the marker is checked
      assert.match(recs[1]!.data.get('ParentCommandLine')!, /\.\.\.\[truncated \d+ bytes\]$/);
      assert.equal(recs[2]!.data.get('CommandLine'), events[2]!.data.CommandLine);
    }
    if (needTool(t, 'evtx_dump.py')) {
      const r = run('evtx_dump.py', [path]);
      assert.equal(r.status, 0, r.stderr);
      const recs = parseExportXml(r.stdout);
      assert.deepEqual(
        recs.map((x) => x.recordId),
        [1, 2, 3],
      );
      marked(recs[0]!.data.get('CommandLine')!, cmd, 'python-evtx record 1');
      marked(recs[1]!.data.get('ParentCommandLine')!, parent, 'python-evtx record 2 ParentCommandLine');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
