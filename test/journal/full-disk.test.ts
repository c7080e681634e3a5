// A full file system under the journal (a small tmpfs mounted for the test): appends wait in
// bounded memory (append() returns false past highWaterBytes), what is already journaled
// stays intact (checksums verify), the outage is reported when writes resume, and the sinks
// (on another file system) get every event exactly once. When the journal itself is what
// fills the disk, segments every sink has acknowledged are deleted to make room, so capture
// never stops.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Fanout, Journal, readJournal, type WriteOutage } from '../../src/journal/index.js';
import { parseSegmentName } from '../../src/journal/format.js';
import { requirePrereq } from '../helpers/prereq.js';
import { JsonlFileSink, events, jsonlIds, processCreate, range, tempDir, until } from './helpers.js';

const fastRetry = { initialMs: 10, maxMs: 100 };

/** mounts a tmpfs of `size` at a new dir; null (test skipped / failed under CI) when not possible */
async function smallDisk(t: TestContext, size: string): Promise<{ dir: string; mnt: string; cleanup: () => Promise<void> } | null> {
  if (process.getuid?.() !== 0) {
    requirePrereq(t, 'not root (the test mounts a tmpfs)');
    return null;
  }
  const { dir, cleanup } = await tempDir('fulldisk');
  const mnt = join(dir, 'disk');
  await mkdir(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', mnt]);
  } catch (e) {
    await cleanup();
    requirePrereq(t, `cannot mount tmpfs: ${(e as Error).message}`);
    return null;
  }
  return {
    dir,
    mnt,
    cleanup: async () => {
      execFileSync('umount', ['-l', mnt]);
      await cleanup();
    },
  };
}

/** writes 64 KiB blocks to `path` until the file system says ENOSPC; returns the bytes written */
async function fillUp(path: string): Promise<number> {
  const { open } = await import('node:fs/promises');
  const fh = await open(path, 'w');
  const block = Buffer.alloc(64 * 1024, 0x5a);
  let n = 0;
  try {
    for (;;) {
      try {
        n += (await fh.write(block)).bytesWritten;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return n;
        throw e;
      }
    }
  } finally {
    await fh.close();
  }
}

async function journaledIds(dir: string): Promise<number[]> {
  const ids: number[] = [];
  for await (const e of readJournal(dir)) {
    // the content is the one appended (the reader checks each record's CRC32C on the way)
    assert.equal(e.data.CommandLine, processCreate(e.recordId - 1).data.CommandLine);
    ids.push(e.recordId);
  }
  return ids;
}

test('disk full under the journal: appends wait in bounded memory, nothing journaled is damaged, all is written and delivered once space returns', async (t) => {
  const disk = await smallDisk(t, '8m');
  if (!disk) return;
  let j: Journal | undefined;
  let f: Fanout | undefined;
  try {
    const jdir = join(disk.mnt, 'journal');
    const out = join(disk.dir, 'events.jsonl'); // the sink's file is on another file system
    const highWaterBytes = 2 * 1024 * 1024;
    const errors: string[] = [];
    j = await Journal.open({ dir: jdir, highWaterBytes, groupCommitMs: 20, onError: (e) => errors.push(e.message) });
    const outages: WriteOutage[] = [];
    j.on('writes-resumed', (o: WriteOutage) => outages.push(o));
    f = new Fanout(j, { retry: fastRetry });
    await f.add(new JsonlFileSink('jsonl', out));

    let n = 0;
    j.append(events(n, 500));
    n += 500;
    await j.flush();
    const filler = join(disk.mnt, 'filler');
    await fillUp(filler);

    // keep appending like the agent does: stop when append() says the backlog is too big
    let refused = false;
    const maxBatch = 100;
    let maxPending = 0;
    for (let k = 0; k < 200 && !refused; k++) {
      const ok = j.append(events(n, maxBatch));
      n += maxBatch;
      maxPending = Math.max(maxPending, j.stats().pendingBytes);
      if (!ok) refused = true;
      await new Promise((r) => setImmediate(r));
    }
    assert.ok(refused, 'append() asks the caller to wait (backpressure) instead of growing without bound');
    await until(() => j!.stats().writeOutageSinceMs !== null, 'the journal sees the write failure');
    const drained = await Promise.race([j.drain().then(() => true), new Promise((r) => setTimeout(() => r(false), 1500))]);
    assert.equal(drained, false, 'nothing drains while the disk is full');
    const st = j.stats();
    assert.ok(st.pendingBytes <= highWaterBytes + maxBatch * 2048, `backlog bounded: ${st.pendingBytes}`);
    assert.ok(st.writeErrors > 0);
    assert.match(st.lastError ?? '', /ENOSPC|no space/i);
    assert.equal(errors.length, 1, 'one error report for the outage, not one per retry');

    // what was journaled before stays readable and intact
    const before = await journaledIds(jdir);
    assert.ok(before.length >= 500);
    assert.deepEqual(before, range(1, before.length));

    await rm(filler); // space returns
    await j.drain();
    await j.flush();
    assert.equal(j.stats().writeOutageSinceMs, null);
    assert.equal(outages.length, 1, 'the outage is reported once writes resume');
    assert.equal(outages[0]!.code, 'ENOSPC');
    assert.ok(outages[0]!.untilMs > outages[0]!.sinceMs);
    assert.deepEqual(await journaledIds(jdir), range(1, n), 'every appended event journaled, ids contiguous');
    await until(async () => (await jsonlIds(out)).length === n, 'the sink gets everything', 30_000);
    assert.deepEqual(await jsonlIds(out), range(1, n));
  } finally {
    await rm(join(disk.mnt, 'filler'), { force: true }); // so close() can write what waits
    await f?.close(1000);
    await j?.close();
    await disk.cleanup();
  }
});

test('the journal itself fills the disk: segments every sink acknowledged are deleted to make room, capture never stops', async (t) => {
  const disk = await smallDisk(t, '8m');
  if (!disk) return;
  let j: Journal | undefined;
  let f: Fanout | undefined;
  try {
    const jdir = join(disk.mnt, 'journal');
    const out = join(disk.dir, 'events.jsonl');
    const losses: unknown[] = [];
    // retention allows 1 GiB (the default), far more than the 8 MiB file system holds
    j = await Journal.open({ dir: jdir, segmentBytes: 512 * 1024, highWaterBytes: 1024 * 1024, groupCommitMs: 20 });
    f = new Fanout(j, { retry: fastRetry, onLoss: (l) => losses.push(l) });
    await f.add(new JsonlFileSink('jsonl', out));
    const total = 24_000; // ~24 MiB of records: three times the file system
    let n = 0;
    const deadline = Date.now() + 120_000;
    while (n < total) {
      assert.ok(Date.now() < deadline, `capture stalled at ${n} of ${total}: ${j.stats().lastError}`);
      if (!j.append(events(n, 200))) {
        await Promise.race([j.drain(), new Promise((r) => setTimeout(r, 5000))]);
      }
      n += 200;
    }
    await j.flush();
    await until(async () => (await jsonlIds(out)).length === total, 'the sink gets everything', 60_000);
    assert.deepEqual(await jsonlIds(out), range(1, total), 'every event delivered once, in order');
    assert.deepEqual(losses, [], 'no loss report: only delivered segments were deleted');
    const st = j.stats();
    assert.ok(st.reclaimedSegments > 0, 'segments were reclaimed');
    assert.ok(st.firstId > 1);
    let bytes = 0;
    for (const name of await readdir(jdir)) if (parseSegmentName(name) !== null) bytes += (await stat(join(jdir, name))).size;
    assert.ok(bytes <= 8 * 1024 * 1024);
    // what is left is intact
    const left: number[] = [];
    for await (const e of readJournal(jdir)) left.push(e.recordId);
    assert.deepEqual(left, range(st.firstId, total));
  } finally {
    await f?.close(1000);
    await j?.close();
    await disk.cleanup();
  }
});
