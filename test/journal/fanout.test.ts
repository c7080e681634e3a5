import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Fanout, Journal } from '../../src/journal/index.js';
import type { LossReport } from '../../src/journal/index.js';
import { runReplay } from '../../src/commands/replay.js';
import { JsonlFileSink, MemorySink, events, jsonlIds, range, tempDir, until } from './helpers.js';

const fastRetry = { initialMs: 10, maxMs: 100 };

test('sinks that keep up are fed from memory, a new sink catches up from disk, cursors resume after restart', async () => {
  const { dir, cleanup } = await tempDir('fan');
  try {
    let j = await Journal.open({ dir, segmentBytes: 32 * 1024, tailMaxEvents: 100 });
    let f = new Fanout(j, { retry: fastRetry, maxBatch: 64 });
    const a = new MemorySink('a');
    await f.add(a);
    for (let i = 0; i < 10; i++) j.append(events(i * 50, 50));
    await j.flush();
    await until(() => a.received.length === 500, 'a gets 500');
    assert.deepEqual(a.ids(), range(1, 500));
    assert.equal(f.get('a')!.stats().source, 'memory');
    // a sink attached with startAt 'oldest' reads everything, the first part from disk
    const f2 = new Fanout(j, { retry: fastRetry, startAt: 'oldest', maxBatch: 64 });
    const b = new MemorySink('b');
    await f2.add(b);
    await until(() => b.received.length === 500, 'b catches up');
    assert.deepEqual(b.ids(), range(1, 500));
    assert.equal(f2.get('b')!.stats().delivered, 500);
    assert.equal(f2.get('b')!.stats().lagRecords, 0);
    await f2.close();
    await f.close();
    await j.close();

    // restart: 'a' resumes after its cursor, nothing is delivered twice
    j = await Journal.open({ dir, segmentBytes: 32 * 1024 });
    f = new Fanout(j, { retry: fastRetry });
    const a2 = new MemorySink('a');
    await f.add(a2);
    j.append(events(500, 20));
    await until(() => a2.received.length === 20, 'a resumes');
    assert.deepEqual(a2.ids(), range(501, 520));
    const s = f.stats();
    assert.equal(s.journal.lastId, 520);
    assert.equal(s.sinks[0]!.name, 'a');
    assert.equal(s.sinks[0]!.health, 'ok');
    await f.close();
    await j.close();
  } finally {
    await cleanup();
  }
});

test('(b) a sink that fails for a while then recovers receives every event once, in order; the other is not slowed', async () => {
  const { dir, cleanup } = await tempDir('fail');
  try {
    const j = await Journal.open({ dir, segmentBytes: 64 * 1024, tailMaxEvents: 200 });
    const f = new Fanout(j, { retry: fastRetry, maxBatch: 100 });
    const down = new MemorySink('down');
    const up = new MemorySink('up');
    down.failing = true;
    const downSince = Date.now();
    await f.add(down);
    await f.add(up);
    const total = 3000;
    for (let i = 0; i < total; i += 100) {
      j.append(events(i, 100));
      await j.flush();
      await new Promise((r) => setImmediate(r));
    }
    await until(() => up.received.length === total, 'healthy sink gets everything while the other is down');
    // down for at least 1 s (N seconds) and several retries
    await until(() => Date.now() - downSince >= 1000 && f.get('down')!.stats().retried >= 3, 'retries');
    const st = f.get('down')!.stats();
    assert.equal(st.health, 'failing');
    assert.match(st.lastError ?? '', /down is down/);
    assert.equal(st.lagRecords, total);
    assert.ok(st.lagSeconds > 0);
    down.failing = false; // recovers
    await until(() => f.get('down')!.stats().acked === total, 'recovered sink catches up');
    const seen = new Set<number>();
    const dedup = down.ids().filter((id) => {
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    assert.deepEqual(dedup, range(1, total));
    assert.deepEqual(down.ids(), range(1, total), 'in order and, with no crash, not even duplicated');
    assert.equal(f.get('down')!.stats().health, 'ok');
    assert.equal(f.get('down')!.stats().lost, 0);
    assert.deepEqual(up.ids(), range(1, total));
    await f.close();
    await j.close();
  } finally {
    await cleanup();
  }
});

test('(e) a sink that is down while retention deletes segments gets an exact loss count', async () => {
  const { dir, cleanup } = await tempDir('loss');
  try {
    const j = await Journal.open({ dir, segmentBytes: 16 * 1024, retention: { maxBytes: 64 * 1024, maxAgeMs: 0 }, tailMaxEvents: 20 });
    const losses: LossReport[] = [];
    const f = new Fanout(j, { retry: fastRetry, maxBatch: 50, onLoss: (l) => losses.push(l) });
    const down = new MemorySink('down');
    const up = new MemorySink('up');
    await f.add(down);
    await f.add(up);
    j.append(events(0, 10));
    await until(() => down.received.length === 10, 'first 10');
    down.failing = true;
    const total = 1000;
    for (let i = 10; i < total; i += 10) {
      j.append(events(i, 10));
      await j.flush();
    }
    await until(() => up.received.length === total, 'up gets all');
    await j.enforceRetention();
    const first = j.firstId;
    assert.ok(first > 100, `retention deleted old segments (first ${first})`);
    down.failing = false;
    await until(() => f.get('down')!.stats().acked === total, 'down catches up after the gap');
    const st = f.get('down')!.stats();
    const got = down.ids();
    // what it received: 1..10, maybe a few more batches it fetched before retention, then first..total
    const delivered = new Set(got);
    let lostCount = 0;
    for (let id = 1; id <= total; id++) if (!delivered.has(id)) lostCount++;
    assert.equal(st.lost, lostCount);
    assert.ok(lostCount > 0);
    assert.equal(
      losses.reduce((s, l) => s + l.count, 0),
      lostCount,
    );
    assert.equal(losses[0]!.reason, 'retention');
    assert.equal(losses[0]!.sink, 'down');
    assert.equal(st.delivered + st.lost, total);
    assert.equal(f.lost, lostCount);
    assert.deepEqual(up.ids(), range(1, total));
    assert.equal(f.get('up')!.stats().lost, 0);
    await f.close();
    await j.close();
  } finally {
    await cleanup();
  }
});

test('(e) a sink whose cursor fell behind retention while the agent was stopped gets the exact loss on restart', async () => {
  const { dir, cleanup } = await tempDir('loss2');
  try {
    const opts = { dir, segmentBytes: 16 * 1024, retention: { maxBytes: 48 * 1024, maxAgeMs: 0 } };
    let j = await Journal.open(opts);
    let f = new Fanout(j, { retry: fastRetry });
    await f.add(new MemorySink('late'));
    j.append(events(0, 5));
    await until(() => f.get('late')!.ackedId === 5, 'ack 5');
    await f.close();
    // the sink is no longer configured; the agent keeps running
    j.append(events(5, 495));
    await j.flush();
    await j.enforceRetention();
    const first = j.firstId;
    await j.close();
    j = await Journal.open(opts);
    const losses: LossReport[] = [];
    f = new Fanout(j, { retry: fastRetry, onLoss: (l) => losses.push(l) });
    const late = new MemorySink('late');
    await f.add(late);
    await until(() => f.get('late')!.ackedId === 500, 'late catches up');
    assert.deepEqual(losses, [{ sink: 'late', fromId: 6, toId: first - 1, count: first - 6, reason: 'retention' }]);
    assert.deepEqual(late.ids(), range(first, 500));
    await f.close();
    await j.close();
  } finally {
    await cleanup();
  }
});

test('(d) a full disk on one sink output does not stop the other; after freeing space it catches up', async (t) => {
  const { dir, cleanup } = await tempDir('full');
  const mnt = join(dir, 'small');
  await mkdir(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  } catch (e) {
    await cleanup();
    t.skip(`cannot mount tmpfs: ${(e as Error).message}`);
    return;
  }
  let j: Journal | undefined;
  let f: Fanout | undefined;
  try {
    const filler = join(mnt, 'filler');
    await writeFile(filler, Buffer.alloc(40 * 1024, 1));
    j = await Journal.open({ dir: join(dir, 'journal'), tailMaxEvents: 50 });
    f = new Fanout(j, { retry: fastRetry, maxBatch: 10 });
    const stuckPath = join(mnt, 'out.jsonl');
    const okPath = join(dir, 'ok.jsonl');
    await f.add(new JsonlFileSink('small', stuckPath));
    await f.add(new JsonlFileSink('big', okPath));
    const total = 40; // ~1.2 KB per JSONL line: ~48 KB, more than the 24 KB left
    for (let i = 0; i < total; i += 5) {
      j.append(events(i, 5));
      await j.flush();
    }
    await until(async () => (await jsonlIds(okPath)).length === total, 'the other sink gets everything');
    await until(() => f!.get('small')!.stats().health === 'failing', 'small sink hits ENOSPC');
    assert.match(f.get('small')!.stats().lastError ?? '', /ENOSPC|no space/i);
    const partial = await jsonlIds(stuckPath);
    assert.ok(partial.length < total);
    assert.deepEqual(partial, range(1, partial.length));
    await rm(filler);
    await until(() => f!.get('small')!.ackedId === total, 'stuck sink catches up after space is freed');
    assert.deepEqual(await jsonlIds(stuckPath), range(1, total));
    assert.deepEqual(await jsonlIds(okPath), range(1, total));
  } finally {
    await f?.close(1000);
    await j?.close();
    execFileSync('umount', [mnt]);
    await cleanup();
  }
});

test('replay re-sends a range to a sink, also while the journal is open', async () => {
  const { dir, cleanup } = await tempDir('replay');
  try {
    const j = await Journal.open({ dir, segmentBytes: 32 * 1024 });
    j.append(events(0, 300));
    await j.flush();
    const s = new MemorySink('backfill');
    assert.equal(await runReplay({ journalDir: dir, from: 100, to: 250, sink: s, batch: 40 }), 151);
    assert.deepEqual(s.ids(), range(100, 250));
    const s2 = new MemorySink('rest');
    assert.equal(await runReplay({ journalDir: dir, from: 290, sink: s2 }), 11);
    assert.deepEqual(s2.ids(), range(290, 300));
    await j.close();
  } finally {
    await cleanup();
  }
});

test('close() waits for a slow sink while it makes progress, cuts one that stalls, and names what was left', async () => {
  const { dir, cleanup } = await tempDir('close');
  try {
    const j = await Journal.open({ dir, segmentBytes: 256 * 1024 });
    const f = new Fanout(j, { retry: fastRetry, maxBatch: 10 });
    // slow: 10 events per 150 ms -> 300 events take ~4.5 s, well past a 1 s stall window
    class SlowSink extends MemorySink {
      override async write(batch: readonly import('../../src/events/event.js').SysmonEvent[]): Promise<void> {
        await new Promise((r) => setTimeout(r, 150));
        return super.write(batch);
      }
    }
    const slow = new SlowSink('slow');
    const stuck = new MemorySink('stuck');
    await f.add(slow);
    await f.add(stuck);
    stuck.failing = true;
    j.append(events(0, 300));
    await j.flush();
    const t0 = Date.now();
    const left = await f.close(1000, 30_000);
    assert.deepEqual(slow.ids(), range(1, 300), 'the slow sink got everything before close returned');
    assert.ok(Date.now() - t0 >= 4000, 'close waited for the progressing sink');
    assert.deepEqual(left, [{ sink: 'stuck', pending: 300 }]);
    await j.close();
  } finally {
    await cleanup();
  }
});

test('the in-memory tail holds only what some sink has not acknowledged; a stalled sink keeps it, then reads on', async () => {
  const { dir, cleanup } = await tempDir('release');
  try {
    const j = await Journal.open({ dir, segmentBytes: 64 * 1024 });
    const f = new Fanout(j, { retry: fastRetry, maxBatch: 100 });
    const fast = new MemorySink('fast');
    const slow = new MemorySink('slow');
    slow.failing = true;
    await f.add(fast);
    await f.add(slow);
    j.append(events(0, 300));
    await j.flush();
    await until(() => fast.received.length === 300, 'the fast sink gets everything');
    assert.equal(j.stats().tailEvents, 300, 'the stalled sink still needs all of it: kept in memory');
    slow.failing = false;
    await until(() => f.get('slow')!.stats().acked === 300, 'the stalled sink catches up');
    assert.equal(f.get('slow')!.stats().source, 'memory', 'from memory');
    await until(() => j.stats().tailEvents === 0, 'both have everything: the tail lets go');
    // what every sink has is gone from memory; a new sink reads it from disk, complete
    const late = new Fanout(j, { retry: fastRetry, startAt: 'oldest' });
    const third = new MemorySink('third');
    await late.add(third);
    await until(() => third.received.length === 300, 'a late sink reads it all');
    assert.deepEqual(third.ids(), range(1, 300));
    assert.equal(late.get('third')!.stats().source, 'disk');
    await late.close();
    await f.close();
    await j.close();
  } finally {
    await cleanup();
  }
});
