// Damaged and truncated EVTX files (issue 19 b): the reader returns every record it can,
// reports the rest (file, chunk, record, reason), reads the whole records of a truncated last
// chunk and warns on bad checksums; `convert` and `view` go on past the damage, write out
// everything they read (JSONL and .evtx outputs complete, checked by libevtx/python-evtx), and
// exit 1. The damage is made by hand on a valid file (checked valid first), and evtxinfo is
// asked to confirm that each damaged input really is damaged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LINUX_IDENTITY, type SysmonEvent } from '../../src/events/event.js';
import { ROOT } from '../../src/paths.js';
import { createEvtxSink } from '../../sinks/evtx/writer.js';
import { readEvtxRecords, recordToEvent, type ReadIssue } from '../../sinks/evtx/reader.js';
import { CHUNK_SIZE, FILE_HEADER_SIZE } from '../../sinks/evtx/format.js';
import { makeEvent } from './fixtures.js';
import { needTool, parseExportXml, run } from './tools.js';
import { ChunkBuilder, evtxFile, templatedRecord } from './builder.js';

const dir = mkdtempSync(join(tmpdir(), 'evtx-damage-'));
const IDS = [1, 3, 5, 11, 255];
const N = 700;

const events: SysmonEvent[] = Array.from({ length: N }, (_, i) => makeEvent(IDS[i % IDS.length]!, i + 1));
const good = join(dir, 'good.evtx');
let goodBytes: Buffer;
/** file offset, size and id of every record of the good file */
let layout: { offset: number; size: number; id: number; chunk: number }[] = [];

function read(path: string): { ids: number[]; issues: ReadIssue[] } {
  const issues: ReadIssue[] = [];
  const ids = [...readEvtxRecords(path, { onIssue: (i) => issues.push(i) })].map((r) => recordToEvent(r)!.event.recordId);
  return { ids, issues };
}

function damaged(name: string, edit: (b: Buffer) => Buffer | undefined): string {
  const b = Buffer.from(goodBytes);
  const out = edit(b) ?? b;
  const p = join(dir, name);
  writeFileSync(p, out);
  return p;
}

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
}

/** A record in the middle of chunk `c` (not one whose inline template definitions later records use). */
function middleRecord(c: number) {
  const inChunk = layout.filter((r) => r.chunk === c);
  return inChunk[Math.floor(inChunk.length / 2)]!;
}

const all = Array.from({ length: N }, (_, i) => i + 1);

test('the base file is valid (our reader, evtxinfo)', async (t) => {
  const sink = createEvtxSink(good, { identity: { ...LINUX_IDENTITY, computer: 'damage-test' }, fsync: false });
  await sink.open();
  for (let i = 0; i < N; i += 100) await sink.write(events.slice(i, i + 100));
  await sink.close();
  goodBytes = readFileSync(good);
  layout = [...readEvtxRecords(good)].map((r) => ({ offset: r.offset!, size: goodBytes.readUInt32LE(r.offset! + 4), id: Number(r.recordId), chunk: r.chunk }));
  assert.deepEqual(read(good), { ids: all, issues: [] });
  assert.ok(new Set(layout.map((r) => r.chunk)).size >= 3, 'several chunks');
  if (needTool(t, 'evtxinfo')) assert.doesNotMatch(run('evtxinfo', [good]).stdout, /corrupted/i);
});

test('a damaged record is skipped and reported; every other record is read; the checksum warning is given', (t) => {
  const victim = middleRecord(1);
  // the token after the record's fragment header becomes one that does not exist
  const p = damaged('bad-record.evtx', (b) => {
    b[victim.offset + 28] = 0xee;
  });
  if (needTool(t, 'evtxinfo')) assert.match(run('evtxinfo', [p]).stdout, /corrupted/i, 'evtxinfo sees the damage too');
  const { ids, issues } = read(p);
  assert.deepEqual(
    ids,
    all.filter((i) => i !== victim.id),
  );
  const dmg = issues.filter((i) => i.kind === 'damage');
  assert.equal(dmg.length, 1);
  assert.equal(dmg[0]!.chunk, 1);
  assert.equal(dmg[0]!.record, BigInt(victim.id));
  assert.equal(dmg[0]!.offset, victim.offset);
  assert.equal(dmg[0]!.file, p);
  assert.match(dmg[0]!.reason, /damaged record skipped: unexpected BinXml token 0xee/);
  assert.ok(
    issues.some((i) => i.kind === 'warning' && i.chunk === 1 && /checksum mismatch/.test(i.reason)),
    'checksum warning',
  );
});

test('a record whose size is broken: the reader finds the next whole record; the chunk header count tells one is missing', () => {
  const victim = middleRecord(2);
  const p = damaged('bad-size.evtx', (b) => {
    b.writeUInt32LE(0x7fff0000, victim.offset + 4);
  });
  const { ids, issues } = read(p);
  assert.deepEqual(
    ids,
    all.filter((i) => i !== victim.id),
  );
  const dmg = issues.filter((i) => i.kind === 'damage');
  assert.equal(
    dmg.reduce((n, i) => n + i.lost, 0),
    1,
    JSON.stringify(dmg, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
  );
  assert.ok(dmg.some((i) => i.offset === victim.offset && /bytes that are no whole record skipped/.test(i.reason)));
});

test('a bad chunk header checksum only warns: every record is still read', (t) => {
  const p = damaged('bad-header-crc.evtx', (b) => {
    b.writeUInt8(b.readUInt8(FILE_HEADER_SIZE + CHUNK_SIZE + 60) ^ 0x5a, FILE_HEADER_SIZE + CHUNK_SIZE + 60);
  }); // an unused header byte
  if (needTool(t, 'evtxinfo')) assert.match(run('evtxinfo', [p]).stdout, /corrupted/i);
  const { ids, issues } = read(p);
  assert.deepEqual(ids, all);
  assert.deepEqual(
    issues.map((i) => [i.kind, i.chunk, i.reason]),
    [['warning', 1, 'chunk header checksum mismatch: scanning it for records']],
  );
});

test('a zeroed chunk is reported; the chunks around it are read whole', () => {
  const p = damaged('zero-chunk.evtx', (b) => {
    b.fill(0, FILE_HEADER_SIZE + CHUNK_SIZE, FILE_HEADER_SIZE + 2 * CHUNK_SIZE);
  });
  const { ids, issues } = read(p);
  assert.deepEqual(
    ids,
    layout.filter((r) => r.chunk !== 1).map((r) => r.id),
  );
  const inChunk = layout.filter((r) => r.chunk === 1).length;
  assert.deepEqual(
    issues.map((i) => [i.kind, i.chunk, i.lost, i.reason]),
    [['damage', 1, inChunk, `chunk is all zeros: its ${inChunk} records (from the neighbouring chunks' headers) skipped`]],
  );
});

test('a truncated file: every whole record of the cut chunk is read, the cut one and the missing ones are reported', () => {
  const lastChunk = Math.max(...layout.map((r) => r.chunk));
  const inLast = layout.filter((r) => r.chunk === lastChunk);
  for (const k of [1, Math.floor(inLast.length / 2), inLast.length - 1]) {
    const cutRecord = inLast[k]!;
    const cutAt = cutRecord.offset + Math.floor(cutRecord.size / 2);
    const p = damaged(`cut-${k}.evtx`, (b) => b.subarray(0, cutAt));
    const { ids, issues } = read(p);
    const whole = layout.filter((r) => r.offset + r.size <= cutAt).map((r) => r.id);
    assert.deepEqual(ids, whole, `cut inside record ${cutRecord.id}`);
    assert.ok(issues.some((i) => i.kind === 'warning' && /chunk cut at/.test(i.reason)));
    const cut = issues.find((i) => /record cut by the end of the file/.test(i.reason));
    assert.equal(cut?.record, BigInt(cutRecord.id));
    assert.equal(
      issues.filter((i) => i.kind === 'damage').reduce((n, i) => n + i.lost, 0),
      inLast.length - k,
      'the cut record and the ones after it',
    );
  }
});

test('convert and view go on past damage, write everything they read, and exit 1', (t) => {
  const victim = middleRecord(1);
  const zeroFrom = FILE_HEADER_SIZE + 2 * CHUNK_SIZE;
  const lastRecord = layout.at(-1)!;
  const p = damaged('many-faults.evtx', (b) => {
    b[victim.offset + 28] = 0xee;
    b.fill(0, zeroFrom, zeroFrom + CHUNK_SIZE);
    return b.subarray(0, lastRecord.offset + 40); // and cut inside the last record
  });
  const readable = read(p).ids;
  assert.ok(readable.length > N / 2 && readable.length < N - 10, `readable ${readable.length}`);

  const jsonl = join(dir, 'out.jsonl');
  const r1 = cli(['convert', p, jsonl]);
  assert.equal(r1.status, 1, r1.stderr);
  assert.match(
    r1.stderr,
    new RegExp(
      `convert: damaged: ${p.replace(/[.]/g, '\\.')}: chunk 1, record ${victim.id} \\(offset 0x${victim.offset.toString(16)}\\): damaged record skipped`,
    ),
  );
  assert.match(r1.stderr, /chunk 2 \(offset 0x[0-9a-f]+\): chunk is all zeros: its \d+ records \(from the neighbouring chunks' headers\) skipped/);
  assert.match(r1.stderr, /record cut by the end of the file/);
  const lines = readFileSync(jsonl, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { EventRecordID: number });
  assert.deepEqual(
    lines.map((l) => l.EventRecordID),
    readable,
    'every readable event is in the JSONL output',
  );
  const summary = JSON.parse(r1.stderr.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.equal(summary.events, readable.length);
  assert.equal(summary.damaged, 1 + layout.filter((r) => r.chunk === 2).length + 1, "the damaged record, the zeroed chunk's records, the cut record");
  assert.equal(summary.events + summary.damaged, N, 'every record is either converted or counted as damaged');

  const evtx = join(dir, 'out.evtx');
  const r2 = cli(['convert', p, evtx]);
  assert.equal(r2.status, 1, r2.stderr);
  assert.deepEqual(read(evtx).ids, readable, 'every readable event is in the .evtx output');
  if (needTool(t, 'evtxinfo')) {
    const info = run('evtxinfo', [evtx]).stdout;
    assert.doesNotMatch(info, /corrupted/i);
    assert.match(info, new RegExp(`Number of records\\s*:\\s*${readable.length}\\n`));
  }
  if (needTool(t, 'evtx_dump.py'))
    assert.deepEqual(
      parseExportXml(run('evtx_dump.py', [evtx]).stdout).map((r) => r.recordId),
      readable,
    );

  const v = cli(['view', p]);
  assert.equal(v.status, 1, v.stderr);
  assert.equal((v.stdout.match(/^Event \d+: /gm) ?? []).length, readable.length);
  assert.match(v.stderr, /view: damaged: .*chunk 1, record \d+ .*damaged record skipped/);
});

test('a crafted record that would expand to millions of XML nodes is skipped quickly (bounded memory)', async () => {
  const c = new ChunkBuilder();
  // one template of 2,300 empty elements, instantiated 2,300 times by one 64 KiB record: 5.3 M nodes
  c.record(1n, 1_790_000_000_000_000_000n, (t) => {
    for (let i = 0; i < 2300; i++) {
      t.instance(
        'wide',
        (t) =>
          t.element('Event', { dep: true }, (t) => {
            for (let k = 0; k < 2300; k++) t.element('a', { dep: true }, null);
          }),
        [],
      );
    }
  });
  const p = join(dir, 'expanding.evtx');
  writeFileSync(p, evtxFile([c], 2n));
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const { ids, issues } = read(p);
  assert.deepEqual(ids, []);
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.reason, /record expands to more than 200000 XML nodes/);
  assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
  assert.ok(process.memoryUsage().rss - before < 300 * 1024 * 1024, 'memory stays bounded');
});

test('a damaged size is not taken for the cut record of a truncated chunk, nor allowed to swallow the next record', () => {
  const lastChunk = Math.max(...layout.map((r) => r.chunk));
  const inLast = layout.filter((r) => r.chunk === lastChunk);
  // 1. in a truncated chunk, a record whose size runs past the end while whole records follow
  const victim = inLast[2]!;
  const cutAt = inLast.at(-1)!.offset + 40;
  const p1 = damaged('cut-and-bad-size.evtx', (b) => {
    b.writeUInt32LE(0xffffff00, victim.offset + 4);
    return b.subarray(0, cutAt);
  });
  assert.deepEqual(
    read(p1).ids,
    layout.filter((r) => r.offset + r.size <= cutAt && r.id !== victim.id).map((r) => r.id),
  );
  // 2. a size grown by 8 bytes passes the size-copy check when the next record is 8 bytes longer
  //    (built: three records of one template, the last two with values 4 characters apart)
  const chunk = new ChunkBuilder();
  const offsets: number[] = [];
  for (const [i, image] of [
    [1, 'first'],
    [2, 'x'],
    [3, 'xxxxx'],
  ] as const) {
    offsets.push(FILE_HEADER_SIZE + chunk.p);
    chunk.record(
      BigInt(i),
      1_790_000_000_000_000_000n,
      templatedRecord({
        provider: 'Linux-Sysmon',
        providerGuid: '{FF032593-A8D3-4F13-B0D6-01FC615A0F97}',
        channel: 'Linux-Sysmon/Operational',
        computer: 'h',
        eventId: 1,
        version: 5,
        recordId: BigInt(i),
        timeNs: 1_790_000_000_000_000_000n,
        data: [
          ['RuleName', '-'],
          ['Image', image],
        ],
      }),
    );
  }
  const file = evtxFile([chunk], 4n);
  const [sizeA, sizeB] = [file.readUInt32LE(offsets[1]! + 4), file.readUInt32LE(offsets[2]! + 4)];
  assert.equal(sizeB, sizeA + 8, 'the built records are 8 bytes apart');
  file.writeUInt32LE(sizeA + 8, offsets[1]! + 4);
  const p2 = join(dir, 'size-plus-8.evtx');
  writeFileSync(p2, file);
  const { ids, issues } = read(p2);
  assert.deepEqual(ids, [1, 2, 3], 'all three records still read');
  assert.ok(
    issues.some(
      (i) => i.kind === 'warning' && i.offset === offsets[1] && new RegExp(`overlaps the record at offset 0x${offsets[2]!.toString(16)}`).test(i.reason),
    ),
    JSON.stringify(issues.map((i) => i.reason)),
  );
});
