// Sink cursors (src/journal/cursor.ts): two checksummed slots written in place. What a crash may
// re-deliver stays as documented in src/journal/README.md: the cursor on disk is never ahead
// of a value that was saved, and never behind the last value written (a save is written at
// once unless another was written < 50 ms before; kill -9 does not lose a written value).
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CursorFile, encodeSlot, parseCursorText, readCursor, slotBytes } from '../../src/journal/cursor.js';
import { runUntilKilled, tempDir, until } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/cursor-child.ts', import.meta.url));

test('cursor: saves round-trip, coalesce within the interval, and flush puts the last one on disk', async (t) => {
  const { dir, cleanup } = await tempDir('cursor');
  t.after(cleanup);
  const c = new CursorFile(dir, 'jsonl', true, 50);
  assert.equal(await c.load(), null);
  await c.writeNow(7);
  assert.equal((await readCursor(c.path))?.acked, 7);
  c.save(8); // within 50 ms of the write above: not written yet
  c.save(9);
  assert.equal(c.written, 7);
  assert.equal((await readCursor(c.path))?.acked, 7);
  await until(() => c.written === 9, 'the coalesced save is written when the interval ends', 5000);
  assert.equal((await readCursor(c.path))?.acked, 9);
  assert.ok(c.counters.writes <= 3, `8 and 9 written once: ${c.counters.writes} writes`);
  c.save(10);
  await c.flush();
  assert.equal(c.saved, 10, 'flush waits for the fdatasync');
  await c.close();
  assert.equal(statSync(c.path).size, 2 * slotBytes('jsonl'), 'two slots, nothing else');
  const again = new CursorFile(dir, 'jsonl');
  assert.equal(await again.load(), 10);
  await again.close();
});

test('cursor: a save after a quiet interval is in the file when save() returns (no await)', async (t) => {
  const { dir, cleanup } = await tempDir('cursor');
  t.after(cleanup);
  const c = new CursorFile(dir, 's', true, 50);
  await c.load();
  await c.writeNow(1);
  await new Promise((r) => setTimeout(r, 60));
  c.save(2);
  assert.equal(parseCursorText(readFileSync(c.path, 'utf8'))?.acked, 2);
  await c.close();
});

test('cursor: background fdatasyncs come at most once per sync interval, the last write is synced without a flush', async (t) => {
  const { dir, cleanup } = await tempDir('cursor');
  t.after(cleanup);
  const c = new CursorFile(dir, 's', true, 10, 400);
  await c.load();
  await c.writeNow(1);
  const syncs0 = c.counters.syncs;
  const t0 = Date.now();
  // a sink acking every 5 ms for ~600 ms: ~60 writes at the 10 ms write interval
  let last = 1;
  for (let v = 2; Date.now() - t0 < 600; v++) {
    c.save(v);
    last = v;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.ok(c.counters.writes >= 20, `writes went on: ${c.counters.writes}`);
  // 600 ms at one sync per 400 ms: the one writeNow left in flight may add one
  assert.ok(c.counters.syncs - syncs0 <= 3, `${c.counters.syncs - syncs0} background syncs in 600 ms`);
  await until(() => c.saved >= last, 'the last write reaches the disk after the interval, with no flush', 5000);
  assert.ok(c.saved <= c.written, 'never ahead of what was written');
  await c.close();
});

test('cursor: a torn newest slot falls back to the older one; garbage and an old whole-file cursor are handled', async (t) => {
  const sink = 'syslog:tcp://127.0.0.1:514';
  const n = slotBytes(sink);
  const a = encodeSlot(sink, 100, 1, 4, n);
  const b = encodeSlot(sink, 130, 2, 5, n);
  assert.equal(parseCursorText(Buffer.concat([a, b]).toString())?.acked, 130);
  assert.equal(parseCursorText(Buffer.concat([b, a]).toString())?.acked, 130, 'order of the slots does not matter, seq does');
  // the newer slot torn: a digit of acked changed (still valid JSON) -> the CRC rejects it
  const torn = Buffer.from(b);
  torn[torn.indexOf('130')] = '9'.charCodeAt(0);
  assert.equal(parseCursorText(Buffer.concat([a, torn]).toString())?.acked, 100);
  // half-written slot (zeros from a sector not yet written)
  const half = Buffer.from(b);
  half.fill(0, 20);
  assert.equal(parseCursorText(Buffer.concat([a, half]).toString())?.acked, 100);
  assert.equal(parseCursorText('\0\0\0 not json\n'), null);
  assert.equal(parseCursorText(''), null);
  // a cursor written by the earlier tmp+rename code: whole-file JSON, no seq/crc
  const { dir, cleanup } = await tempDir('cursor');
  t.after(cleanup);
  mkdirSync(join(dir, 'cursors'));
  const path = join(dir, 'cursors', 'old.cursor');
  writeFileSync(path, JSON.stringify({ sink: 'old', acked: 4242, savedMs: 5 }));
  const c = new CursorFile(dir, 'old');
  assert.equal(await c.load(), 4242);
  c.save(4243);
  await c.close();
  assert.equal((await readCursor(path))?.acked, 4243);
  assert.equal(statSync(path).size, 2 * slotBytes('old'), 'upgraded to two slots');
});

test('cursor: kill -9 of a saving process keeps the last written value, never more than was saved', async (t) => {
  for (let round = 0; round < 3; round++) {
    const { dir, cleanup } = await tempDir('cursor');
    t.after(cleanup);
    const target = 200 + Math.floor(Math.random() * 400);
    const written = await runUntilKilled(child, [dir], 'W', target, `child wrote ${target}`);
    const onDisk = (await readCursor(join(dir, 'cursors', 'jsonl__var_log_x.jsonl.cursor')))?.acked ?? -1;
    // the child reports a value after writing it: the file may be ahead of the last report
    // (written, killed before printing) by at most one interval's saves (< 20 + 1)
    assert.ok(onDisk >= written, `cursor on disk ${onDisk} lost the reported write ${written}`);
    assert.ok(onDisk <= written + 21, `cursor on disk ${onDisk} is ahead of anything saved by then (${written})`);
  }
});
