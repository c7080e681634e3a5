// The journal's in-memory tail (src/journal/tail.ts): bounded by count and bytes, and only the
// newest events keep their data objects; older ones keep their encoded bytes, from which a late
// reader gets the same EventData back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type EncodedEvent, encodeEvent } from '../../src/events/encoded.js';
import { eventRecordMaxBytes, writeEventRecord } from '../../src/journal/format.js';
import { TailBuffer } from '../../src/journal/tail.js';

function written(recordId: number): EncodedEvent {
  const ev = encodeEvent({
    id: 1,
    recordId,
    timeNs: 1_700_000_000_000_000_000n + BigInt(recordId),
    data: { RuleName: '-', CommandLine: `cmd "${recordId}" <x>\n` },
  });
  ev.recordId = recordId;
  const buf = Buffer.alloc(eventRecordMaxBytes(ev));
  writeEventRecord(buf, 0, recordId, ev);
  return ev;
}

test('tail: only the newest events hold data objects; older ones read the same data back from their bytes', () => {
  const tail = new TailBuffer(10_000, 64 * 1024 * 1024, 100);
  const evs = Array.from({ length: 1000 }, (_, i) => written(i + 1));
  for (let i = 0; i < evs.length; i += 64) {
    const batch = evs.slice(i, i + 64);
    tail.push(
      batch,
      batch.map(() => 100),
    );
  }
  const held = evs.filter((e) => e.holdsData).map((e) => e.recordId);
  assert.deepEqual(
    held,
    evs.slice(-100).map((e) => e.recordId),
    'the newest 100 hold their objects, no other',
  );
  for (const ev of tail.slice(1, 2000)!) {
    assert.deepEqual(ev.data, { RuleName: '-', CommandLine: `cmd "${ev.recordId}" <x>\n` });
  }
});

test('tail: an event not yet written (no bytes) keeps its data object', () => {
  const tail = new TailBuffer(10_000, 64 * 1024 * 1024, 1);
  const ev = encodeEvent({ id: 5, recordId: 1, timeNs: 1n, data: { RuleName: '-' } });
  tail.push([ev, written(2), written(3)], [10, 10, 10]);
  assert.equal(ev.holdsData, true);
});

test('tail: bounded by count and by bytes', () => {
  const tail = new TailBuffer(50, 1000, 10);
  for (let i = 1; i <= 200; i++) tail.push([written(i)], [10]);
  assert.equal(tail.length, 50);
  assert.equal(tail.firstId, 151);
  tail.push([written(201)], [900]);
  assert.ok(tail.byteSize <= 1000);
  assert.equal(tail.lastId, 201);
  assert.equal(tail.slice(1, 10), null, 'older than the tail: read the disk');
});

test('tail: releaseThrough drops what every sink has; later events still slice, older ones go to disk', () => {
  const tail = new TailBuffer(10_000, 64 * 1024 * 1024, 100);
  for (let i = 1; i <= 10; i++) tail.push([written(i)], [10]);
  tail.releaseThrough(6);
  assert.equal(tail.length, 4);
  assert.equal(tail.byteSize, 40);
  assert.equal(tail.firstId, 7);
  assert.deepEqual(
    tail.slice(7, 10)!.map((e) => e.recordId),
    [7, 8, 9, 10],
  );
  assert.equal(tail.slice(6, 10), null, 'released: read the disk');
  tail.releaseThrough(3); // older than what is held: nothing changes
  assert.equal(tail.length, 4);
  tail.releaseThrough(10);
  assert.equal(tail.length, 0);
  assert.equal(tail.byteSize, 0);
  tail.push([written(11)], [10]);
  assert.equal(tail.firstId, 11);
});
