import assert from 'node:assert/strict';
import fs from 'node:fs';
import { open, readdir, stat, truncate } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SysmonEvent } from '../../src/events/event.js';
import { EncodedEvent } from '../../src/events/encoded.js';
import { Journal, journalStatus, readJournal } from '../../src/journal/index.js';
import { readJournalBatches } from '../../src/journal/reader.js';
import type { FsyncPolicy } from '../../src/journal/index.js';
import { events, processCreate, range, tempDir } from './helpers.js';

async function readAll(dir: string, from?: number, to?: number) {
  const out = [];
  for await (const ev of readJournal(dir, { from, to })) out.push(ev);
  return out;
}

async function segFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

for (const fsync of ['group', 'always', 'never'] as FsyncPolicy[]) {
  test(`append assigns increasing ids and reads back identical events (fsync ${fsync})`, async () => {
    const { dir, cleanup } = await tempDir('rt');
    try {
      const j = await Journal.open({ dir, fsync });
      assert.equal(j.recovery, null);
      const evs = events(0, 1000);
      evs.push({ id: 255, recordId: 0, timeNs: 5n, data: { UtcTime: 'x', ID: 'a"b\nc\u2028\u0000é', Description: '🚀' } });
      j.append(evs.slice(0, 10));
      j.append(evs.slice(10));
      assert.deepEqual(
        evs.map((e) => e.recordId),
        range(1, 1001),
      );
      await j.flush();
      assert.equal(j.visibleId, 1001);
      await j.close();
      if (fsync !== 'never') assert.equal(j.durableId, 1001);
      const back = await readAll(dir);
      // events read back are EncodedEvents (data parsed on use): compare what SysmonEvent promises
      const plain = (e: SysmonEvent) => ({ id: e.id, recordId: e.recordId, timeNs: e.timeNs, data: e.data, container: e.container });
      assert.deepEqual(back.map(plain), evs.map(plain));
      assert.deepEqual(
        (await readAll(dir, 500, 502)).map((e) => e.recordId),
        [500, 501, 502],
      );
    } finally {
      await cleanup();
    }
  });
}

test('ids continue after reopen; segments roll by size; readers cross segments', async () => {
  const { dir, cleanup } = await tempDir('reopen');
  try {
    let j = await Journal.open({ dir, segmentBytes: 64 * 1024 });
    j.append(events(0, 300));
    await j.close();
    j = await Journal.open({ dir, segmentBytes: 64 * 1024 });
    assert.equal(j.recovery, null);
    assert.equal(j.lastId, 300);
    const more = events(300, 300);
    j.append(more);
    assert.equal(more[0]!.recordId, 301);
    await j.close();
    const segs = await segFiles(dir);
    assert.ok(segs.length >= 5, `expected several segments, got ${segs.length}`);
    for (const s of segs) assert.ok((await stat(join(dir, s))).size <= 64 * 1024);
    const back = await readAll(dir);
    assert.deepEqual(
      back.map((e) => e.recordId),
      range(1, 600),
    );
    assert.equal(back[450]!.data.CommandLine, processCreate(450).data.CommandLine);
    const st = await journalStatus(dir);
    assert.equal(st.firstId, 1);
    assert.equal(st.lastId, 600);
    assert.equal(st.segments, segs.length);
  } finally {
    await cleanup();
  }
});

test('a second open of a locked journal fails', async () => {
  const { dir, cleanup } = await tempDir('lock');
  try {
    const j = await Journal.open({ dir });
    await assert.rejects(Journal.open({ dir }), /already open/);
    await j.close();
    const j2 = await Journal.open({ dir });
    await j2.close();
  } finally {
    await cleanup();
  }
});

test('(c) a torn tail (truncated mid-record) is cut with a report and numbering continues', async () => {
  const { dir, cleanup } = await tempDir('torn');
  try {
    let j = await Journal.open({ dir });
    j.append(events(0, 100));
    await j.close();
    const [seg] = await segFiles(dir);
    const path = join(dir, seg!);
    const size = (await stat(path)).size;
    await truncate(path, size - 300); // the last record is ~1 KB: cut in its middle
    j = await Journal.open({ dir });
    assert.ok(j.recovery);
    assert.equal(j.recovery.lastGoodId, 99);
    assert.equal(j.recovery.cuts[0]!.reason, 'torn');
    assert.ok(j.recovery.cutBytes > 0 && j.recovery.cutBytes < 1500, `cut ${j.recovery.cutBytes}`);
    const next = events(100, 1);
    j.append(next);
    assert.equal(next[0]!.recordId, 100);
    await j.close();
    assert.deepEqual(
      (await readAll(dir)).map((e) => e.recordId),
      range(1, 100),
    );
  } finally {
    await cleanup();
  }
});

test('(c) a corrupted tail (flipped bytes) is cut by checksum, also a bad length and a garbage segment', async () => {
  const { dir, cleanup } = await tempDir('corrupt');
  try {
    let j = await Journal.open({ dir });
    j.append(events(0, 50));
    await j.close();
    const [seg] = await segFiles(dir);
    const path = join(dir, seg!);
    const size = (await stat(path)).size;
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, size - 2500); // inside record ~48
    await fh.close();
    j = await Journal.open({ dir });
    const rep = j.recovery!;
    assert.ok(rep);
    assert.equal(rep.cuts[0]!.reason, 'checksum');
    assert.ok(rep.lastGoodId >= 46 && rep.lastGoodId <= 48, `lastGood ${rep.lastGoodId}`);
    assert.equal(rep.cutBytes, size - rep.cuts[0]!.offset);
    assert.equal(rep.nextId, rep.lastGoodId + 1);
    j.append(events(100, 5));
    await j.close();
    const ids = (await readAll(dir)).map((e) => e.recordId);
    assert.deepEqual(ids, range(1, rep.lastGoodId + 5));

    // a huge length field
    const size2 = (await stat(path)).size;
    const fh2 = await open(path, 'r+');
    const lastLen = Buffer.alloc(4);
    // find the last record: walk from the start
    let off = 32;
    let lastOff = 32;
    while (off < size2) {
      await fh2.read(lastLen, 0, 4, off);
      lastOff = off;
      off += 16 + lastLen.readUInt32LE(0);
    }
    await fh2.write(Buffer.from([0xff, 0xff, 0xff, 0x7f]), 0, 4, lastOff);
    await fh2.close();
    j = await Journal.open({ dir });
    assert.equal(j.recovery!.cuts[0]!.reason, 'length');
    assert.equal(j.recovery!.cutBytes, size2 - lastOff);
    assert.equal(j.lastId, rep.lastGoodId + 4);
    await j.close();

    // a segment file with a garbage header after the last good one
    const bogus = join(dir, `${String(999999).padStart(20, '0')}.seg`);
    const fh3 = await open(bogus, 'w');
    await fh3.write(Buffer.alloc(100, 7));
    await fh3.close();
    j = await Journal.open({ dir });
    assert.equal(j.recovery!.cuts[0]!.reason, 'bad-header');
    assert.equal(j.recovery!.cutBytes, 100);
    // numbering never goes below a segment name that existed
    assert.equal(j.lastId, 999998);
    await j.close();
  } finally {
    await cleanup();
  }
});

test('retention deletes the oldest segments by size and by age, never the active one', async () => {
  const { dir, cleanup } = await tempDir('retention');
  try {
    let j = await Journal.open({ dir, segmentBytes: 16 * 1024, retention: { maxBytes: 64 * 1024, maxAgeMs: 0 } });
    j.append(events(0, 500));
    await j.flush();
    await j.enforceRetention();
    const st = j.stats();
    assert.ok(st.bytes <= 64 * 1024 + 16 * 1024, `bytes ${st.bytes}`);
    assert.ok(st.firstId > 1);
    assert.equal(st.lastId, 500);
    await j.close();
    const ids = (await readAll(dir)).map((e) => e.recordId);
    assert.deepEqual(ids, range(st.firstId, 500));

    j = await Journal.open({ dir, segmentBytes: 16 * 1024, retention: { maxBytes: 0, maxAgeMs: 60_000 } });
    const before = (await segFiles(dir)).length;
    assert.ok(before > 1);
    assert.equal(await j.enforceRetention(Date.now() + 3600_000), before - 1);
    assert.equal((await segFiles(dir)).length, 1);
    j.append(events(500, 1));
    await j.close();
    const left = (await readAll(dir)).map((e) => e.recordId);
    assert.equal(left[left.length - 1], 501);
  } finally {
    await cleanup();
  }
});

test('append reports backpressure above highWaterBytes and drain() resolves', async () => {
  const { dir, cleanup } = await tempDir('hw');
  try {
    const j = await Journal.open({ dir, highWaterBytes: 64 * 1024 });
    assert.equal(j.append(events(0, 10)), true);
    assert.equal(j.append(events(10, 200)), false);
    await j.drain();
    assert.ok(j.stats().pendingBytes < 64 * 1024);
    await j.close();
  } finally {
    await cleanup();
  }
});

test("fsync group: records appended while a group commit's fdatasync runs are published at once, and still become durable", async () => {
  const { dir, cleanup } = await tempDir('groupvis');
  // a group commit every millisecond: nearly every append meets an fdatasync in flight
  const j = await Journal.open({ dir, fsync: 'group', groupCommitMs: 1 });
  try {
    let late = 0;
    const rounds = 200;
    for (let i = 0; i < rounds; i++) {
      j.append(events(i * 20, 20));
      const last = j.lastId;
      // the write is synchronous: by the next turn of the event loop the batch must be visible
      await new Promise<void>((r) => setImmediate(r));
      if (j.visibleId < last) late++;
      await new Promise<void>((r) => setTimeout(r, 1));
    }
    assert.equal(late, 0, `${late} of ${rounds} batches waited for an fdatasync before sinks could see them`);
    await j.sync();
    assert.equal(j.durableId, j.lastId);
    assert.ok(j.stats().fsyncs > 1, 'group commits ran');
  } finally {
    await j.close();
    await cleanup();
  }
});

test('a segment roll publishes without waiting for the old segment to be synced; sync() then covers every segment', async () => {
  const { dir, cleanup } = await tempDir('roll-stall');
  try {
    // no group commit during the test: only the rolls and sync() sync
    const j = await Journal.open({ dir, segmentBytes: 32 * 1024, groupCommitMs: 600_000 });
    const durable: number[] = [];
    j.on('durable', (id: number) => durable.push(id));
    j.append(events(0, 400));
    await j.flush();
    assert.equal(j.visibleId, 400);
    const segs = j.segments();
    assert.ok(segs.length >= 3, `expected rolls, got ${segs.length} segment(s)`);
    const lastSealed = segs[segs.length - 1]!.baseId - 1;
    // a roll used to fdatasync the old segment before the records after it were written and
    // published (0.5-0.7 s per 64 MiB roll under load): then durableId had reached lastSealed here
    assert.ok(j.durableId < lastSealed, `published only after the sealed segments were synced (durable ${j.durableId}, last sealed ${lastSealed})`);
    await j.sync();
    assert.equal(j.durableId, 400);
    // durability never moves backwards
    assert.deepEqual(
      durable,
      [...durable].sort((a, b) => a - b),
    );
    await j.close();
    assert.deepEqual(
      (await readAll(dir)).map((e) => e.recordId),
      range(1, 400),
    );
  } finally {
    await cleanup();
  }
});

test('batches queued while the pump waits go to the file in one writev(2), in order, and read back intact', async () => {
  const { dir, cleanup } = await tempDir('writev');
  // count the journal's writev calls (a pass-through: the real call does the work)
  const real = fs.writevSync;
  let writevs = 0;
  fs.writevSync = ((...a: Parameters<typeof real>) => {
    writevs++;
    return real(...a);
  }) as typeof real;
  syncBuiltinESMExports();
  try {
    // 'always': every write waits for an fdatasync, and rolls make the pump wait for file
    // creation: appends made meanwhile queue up as several batches
    const j = await Journal.open({ dir, fsync: 'always', segmentBytes: 16 * 1024 });
    let n = 0;
    for (let k = 0; k < 60; k++) {
      j.append(events(n, 25));
      n += 25;
      if (k % 3 === 0) await new Promise((r) => setImmediate(r));
    }
    await j.close();
    assert.ok(writevs > 0, 'some batches were written together');
    const back = await readAll(dir);
    assert.deepEqual(
      back.map((e) => e.recordId),
      range(1, n),
    );
    for (const e of back) assert.equal(e.data.CommandLine, processCreate(e.recordId - 1).data.CommandLine);
  } finally {
    fs.writevSync = real;
    syncBuiltinESMExports();
    await cleanup();
  }
});

test('events read from disk keep their own bytes: later reads never overwrite them (no text string per event)', async () => {
  const { dir, cleanup } = await tempDir('keep-bytes');
  try {
    const j = await Journal.open({ dir });
    // ~1 KB each: 2,000 events are several of the reader's 256 KiB refills
    j.append(events(0, 2000));
    await j.close();
    const held: SysmonEvent[] = [];
    for await (const b of readJournalBatches(dir, { batch: 5000 })) held.push(...b);
    assert.equal(held.length, 2000);
    for (let i = 0; i < held.length; i++) {
      const ev = held[i]! as EncodedEvent;
      assert.ok(ev instanceof EncodedEvent && ev.bytes !== null, 'an event over the record bytes');
      assert.equal(ev.dataText, JSON.stringify(processCreate(i).data), `event ${i + 1}`);
      assert.equal(ev.timeNs, processCreate(i).timeNs);
    }
  } finally {
    await cleanup();
  }
});

test("a process's events read back as written across fills, scratch growth and segment rolls (the writer copies a process's ProcessGuid/ProcessId/Image run inside a fill only)", async () => {
  const { dir, cleanup } = await tempDir('runs');
  try {
    const j = await Journal.open({ dir, segmentBytes: 48 * 1024 });
    const g1 = '{6c0f3b1e-2f4a-6718-0000-00103a7c1e01}';
    const g2 = '{6c0f3b1e-2f4a-6718-0000-00103a7c1e02}';
    // runs of a few events per process; pid 7 and 1031 share a writer slot, g2 reuses pid 7, an image changes at exec
    const procs = [
      { guid: g1, pid: 7, image: '/usr/bin/bash' },
      { guid: g1, pid: 7, image: '/usr/bin/b"ash' },
      { guid: g2, pid: 1031, image: '/usr/bin/bash' },
      { guid: g2, pid: 7, image: '/usr/bin/bash' },
    ];
    const written: SysmonEvent[] = [];
    let n = 0;
    const ev = (q: number, pad: number): SysmonEvent => {
      const p = procs[q % procs.length]!;
      const data = { RuleName: '-', UtcTime: 't', ProcessGuid: p.guid, ProcessId: p.pid, Image: p.image, User: 'root', Pad: 'x'.repeat(pad) };
      return { id: 3, recordId: 0, timeNs: 1_764_438_000_000_000_000n + BigInt(n++), data };
    };
    for (let round = 0; round < 40; round++) {
      const batch: SysmonEvent[] = [];
      for (let i = 0; i < 60; i++) batch.push(ev(Math.floor((i + 7 * round) / 5), round === 20 && i === 30 ? 600_000 : (i * 7 + round) % 11));
      j.append(batch);
      written.push(...batch);
      // the pump writes the fill out: the next append starts a new fill in the same scratch buffer
      if (round % 3 === 0) await j.flush();
    }
    // a process last written near the start of one fill, back in the next fill past that offset:
    // the bytes there are the new fill's now, so its run must be written again, not copied
    const filler = (count: number) =>
      Array.from({ length: count }, () => ev(0, 3)).map((e) => ({ ...e, data: { ...e.data, ProcessGuid: g2, ProcessId: 500 } }));
    for (const q of [0, 1, 2, 3]) {
      const first = [ev(q, 1), ...filler(40)];
      j.append(first);
      await j.flush();
      const second = [...filler(40), ev(q, 1)];
      j.append(second);
      written.push(...first, ...second);
    }
    await j.close();
    assert.ok((await segFiles(dir)).length > 3, 'several segments');
    const back = await readAll(dir);
    assert.equal(back.length, written.length);
    for (let i = 0; i < back.length; i++) {
      assert.equal(back[i]!.recordId, written[i]!.recordId);
      assert.equal((back[i] as EncodedEvent).dataText, JSON.stringify(written[i]!.data), `record ${back[i]!.recordId}`);
    }
  } finally {
    await cleanup();
  }
});
