// The JSONL line written as bytes (writeJsonlLine, from the journal record's bytes) is the
// line the string encoder writes (encodeJsonl: a template around JSON.stringify of the data),
// byte for byte: over a recorded capture replayed through decode, normalize and the rule
// engine, and over hostile values. Both through the whole path (journal -> in-memory tail ->
// JSONL file sink, and the catch-up path from disk) and line by line.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { Capture } from '../../src/capture.js';
import { readRecordFile } from '../../src/commands/record.js';
import { defaultConfig } from '../../src/config/index.js';
import { EncodedEvent } from '../../src/events/encoded.js';
import type { Identity, SysmonEvent } from '../../src/events/event.js';
import { GuidMaker } from '../../src/events/guid.js';
import { bootEpochNs, bootTimeSeconds, machineId, UserNames } from '../../src/events/host.js';
import { ProcessTable } from '../../src/events/processes.js';
import { Fanout, Journal, readJournal } from '../../src/journal/index.js';
import { createJsonlFileSink } from '../../sinks/jsonl/index.js';
import { encodeJsonl, jsonlLineMaxBytes, writeJsonlLine } from '../../sinks/shared/jsonl-encode.js';
import { tempDir } from '../journal/helpers.js';
import { HOSTILE, IDENTITY, processCreate } from './fixtures.js';

const CAPTURE = join(import.meta.dirname, '../fixtures/captures/storm-sample.rec.gz');

/** the recorded capture (4,421 ring records of exec, file and connect storms) as Sysmon events, every one kept; the default config's rules set RuleName where they match */
function capturedEvents(): SysmonEvent[] {
  const records = readRecordFile(gunzipSync(readFileSync(CAPTURE)));
  const cap = new Capture(new ProcessTable(new GuidMaker(machineId(), bootTimeSeconds()), new UserNames()), bootEpochNs());
  const out: SysmonEvent[] = [];
  for (const r of records) cap.onRecord(r, out);
  const engine = defaultConfig().engine;
  for (const e of out) engine.apply(e);
  return out;
}

/** hostile values in every string field a process controls, a 100 KB command line, containers, odd times and ids */
function hostileEvents(): SysmonEvent[] {
  const out: SysmonEvent[] = [];
  for (const [k, v] of Object.entries(HOSTILE)) {
    out.push(processCreate(0, { CommandLine: v, CurrentDirectory: `/tmp/${k}`, User: v, ParentCommandLine: `${k}:${v}`, Image: `/x/${v}` }));
  }
  out.push(processCreate(0, { CommandLine: `big ${'a"\n<é😀\udc80'.repeat(12_000)}` })); // ~100 KB, escapes and multibyte throughout
  const inContainer = processCreate(0, { Image: '/usr/bin/"quoted"' });
  inContainer.container = { id: 'abc"}\n<x>', runtime: 'docker', cgroup: '/system.slice/docker-ü\udc80.scope' };
  out.push(inContainer);
  // times: 1970 (fewer than 10 digits: the string path), the first second, a fraction of 0, a second boundary
  for (const t of [5n, 999_999_999n, 1_000_000_000n, 1_700_000_000_000_000_000n, 1_700_000_000_999_999_999n, 4_102_444_800_000_000_001n]) {
    out.push({ ...processCreate(0), timeNs: t });
  }
  return out;
}

/** a plain copy: what encodeJsonl saw before the journal encoded anything */
function plain(ev: SysmonEvent): SysmonEvent {
  const c: SysmonEvent = { id: ev.id, recordId: ev.recordId, timeNs: ev.timeNs, data: { ...ev.data } };
  if (ev.container) c.container = { ...ev.container };
  return c;
}

async function throughJournal(
  events: SysmonEvent[],
  who: Identity,
  batch: number,
): Promise<{ file: Buffer; expected: Buffer; dir: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir('jsonl-bytes');
  const j = await Journal.open({ dir: join(dir, 'journal'), fsync: 'never' });
  const fanout = new Fanout(j);
  const sink = createJsonlFileSink(join(dir, 'out.jsonl'), { identity: who });
  await fanout.add(sink);
  const copies = events.map(plain);
  for (let i = 0; i < events.length; i += batch) {
    j.append(events.slice(i, i + batch));
    await new Promise<void>((r) => setImmediate(r));
  }
  await j.flush();
  assert.ok(await fanout.list()[0]!.waitCaughtUp(Date.now() + 60_000), 'the sink caught up');
  await fanout.close();
  await j.close();
  for (const [i, c] of copies.entries()) c.recordId = events[i]!.recordId;
  const expected = Buffer.from(copies.map((c) => encodeJsonl(c, who)).join(''), 'utf8');
  return { file: await readFile(join(dir, 'out.jsonl')), expected, dir, cleanup };
}

function firstDifference(a: Buffer, b: Buffer): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `first difference at byte ${i} of ${a.length} / ${b.length}: ${JSON.stringify(a.subarray(Math.max(0, i - 80), i + 40).toString())} vs ${JSON.stringify(b.subarray(Math.max(0, i - 80), i + 40).toString())}`;
}

test('JSONL bytes: a recorded capture through journal, tail and file sink equals the string encoder, byte for byte', async () => {
  const events = capturedEvents();
  assert.ok(events.length > 3000, `the capture gives events (${events.length})`);
  const ids = new Set(events.map((e) => e.id));
  for (const id of [1, 3, 5, 11]) assert.ok(ids.has(id), `the capture has EventID ${id}`);
  const who: Identity = { ...IDENTITY, computer: 'hôte-"7"' };
  const r = await throughJournal(events, who, 64);
  try {
    assert.ok(r.file.equals(r.expected), firstDifference(r.file, r.expected));
    // the catch-up path: the same events read back from the journal's files
    const back: SysmonEvent[] = [];
    for await (const ev of readJournal(join(r.dir, 'journal'))) back.push(ev);
    assert.equal(back.length, events.length);
    const out = Buffer.alloc(r.expected.length + 1024);
    let p = 0;
    for (const ev of back) p = writeJsonlLine(ev, who, out, p);
    assert.ok(out.subarray(0, p).equals(r.expected), firstDifference(out.subarray(0, p), r.expected));
  } finally {
    await r.cleanup();
  }
});

test('JSONL bytes: hostile values, a 100 KB command line, containers, 1970 times and big ids equal the string encoder', async () => {
  const events = hostileEvents();
  // one batch of all (the sink's buffer grows past its first MiB) and one event per batch
  for (const batch of [events.length, 1]) {
    const r = await throughJournal(events.map(plain), IDENTITY, batch);
    try {
      assert.ok(r.file.equals(r.expected), `batch ${batch}: ${firstDifference(r.file, r.expected)}`);
      const lines = r.file.toString('utf8').split('\n');
      assert.equal(lines.length, events.length + 1, 'one line per event, nothing split');
    } finally {
      await r.cleanup();
    }
  }
  // line by line, with ids beyond 32 bits, for journaled (bytes) and plain events alike
  const j = await tempDir('jsonl-bytes-ids');
  const journal = await Journal.open({ dir: j.dir, fsync: 'never' });
  try {
    const evs = hostileEvents();
    const copies = evs.map(plain);
    journal.append(evs);
    for (const [i, ev] of evs.entries()) {
      assert.ok(ev instanceof EncodedEvent || true);
      for (const recordId of [ev.recordId, 0, 9, 10, 4_294_967_296, Number.MAX_SAFE_INTEGER]) {
        ev.recordId = recordId;
        copies[i]!.recordId = recordId;
        const want = Buffer.from(encodeJsonl(copies[i]!, IDENTITY), 'utf8');
        for (const e of [ev, copies[i]!]) {
          const out = Buffer.alloc(jsonlLineMaxBytes(e, IDENTITY));
          const end = writeJsonlLine(e, IDENTITY, out, 0);
          assert.ok(out.subarray(0, end).equals(want), `event ${i} id ${recordId}: ${firstDifference(out.subarray(0, end), want)}`);
        }
      }
    }
  } finally {
    await journal.close();
    await j.cleanup();
  }
});
