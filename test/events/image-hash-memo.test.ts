// The exec handler's memo of image hashes by the exec record's raw inode bytes
// (src/families/process/image-hash-memo.ts): a hit only for the very same inode, size, mtime
// and device, and nothing once the hash cache's generation changes (other HashAlgorithms).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STRUCTS } from '../../src/kernel/generated/events-h.js';
import { ImageHashMemo } from '../../src/families/process/image-hash-memo.js';

const F = STRUCTS.exec_record.fields;
function execRecord(ino: bigint, size: bigint, mtimeNs: bigint, dev: number): Buffer {
  const b = Buffer.alloc(STRUCTS.exec_record.size);
  b.writeBigUInt64LE(ino, F.exe_ino[0]);
  b.writeBigUInt64LE(size, F.exe_size[0]);
  b.writeBigInt64LE(mtimeNs, F.exe_mtime_ns[0]);
  b.writeUInt32LE(dev, F.exe_dev[0]);
  return b;
}

test('image hash memo: a hit only for the same inode, size, mtime and device', () => {
  const memo = new ImageHashMemo();
  const a = execRecord(1234567890123n, 4096n, 1_764_900_000_123_456_789n, 0x800001);
  assert.equal(memo.get(a, 0), undefined);
  memo.set(a, 0, 'SHA256=aa');
  assert.equal(memo.get(execRecord(1234567890123n, 4096n, 1_764_900_000_123_456_789n, 0x800001), 0), 'SHA256=aa');
  assert.equal(memo.get(execRecord(1234567890123n, 4097n, 1_764_900_000_123_456_789n, 0x800001), 0), undefined, 'size differs');
  assert.equal(memo.get(execRecord(1234567890123n, 4096n, 1_764_900_000_123_456_790n, 0x800001), 0), undefined, 'mtime differs');
  assert.equal(memo.get(execRecord(1234567890123n, 4096n, 1_764_900_000_123_456_789n, 0x800002), 0), undefined, 'device differs');
  assert.equal(memo.get(execRecord(1234567890123n + (1n << 32n), 4096n, 1_764_900_000_123_456_789n, 0x800001), 0), undefined, 'inode high word differs');
});

test('image hash memo: another cache generation forgets everything; a colliding image takes the slot', () => {
  const memo = new ImageHashMemo();
  const a = execRecord(10n, 1n, 1n, 1);
  memo.get(a, 0);
  memo.set(a, 0, 'SHA256=aa');
  assert.equal(memo.get(a, 1), undefined, 'new generation');
  memo.set(a, 0, 'SHA256=stale'); // a result of the old generation is not kept
  assert.equal(memo.get(a, 1), undefined);
  memo.set(a, 1, 'SHA256=bb');
  assert.equal(memo.get(a, 1), 'SHA256=bb');
  const b = execRecord(10n + 256n, 1n, 1n, 1); // same slot
  memo.set(b, 1, 'SHA256=cc');
  assert.equal(memo.get(b, 1), 'SHA256=cc');
  assert.equal(memo.get(a, 1), undefined, 'evicted by the colliding image');
});
