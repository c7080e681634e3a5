// The record decoders' 64-bit reads (src/kernel/records/u64.ts) give what Buffer's own reads
// give, for fields on and off 8-byte boundaries and for records in different ArrayBuffers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { i64, u64 } from '../../src/kernel/records/u64.js';

it('u64 and i64 equal readBigUInt64LE and readBigInt64LE at every offset of two interleaved buffers', () => {
  const a = randomBytes(4096);
  const b = Buffer.from(randomBytes(4099).buffer, 0, 4099).subarray(3);
  // the extremes, where a sign or a carry between the halves would show
  a.fill(0xff, 64, 72);
  a.fill(0x00, 72, 80);
  a.writeBigUInt64LE(0x8000_0000_0000_0000n, 80);
  a.writeBigUInt64LE(0x0000_0001_0000_0000n, 88);
  for (let off = 0; off + 8 <= 4096; off++) {
    for (const buf of [a, b, a.subarray(8), a.subarray(5)]) {
      if (off + 8 > buf.length) continue;
      assert.equal(u64(buf, off), buf.readBigUInt64LE(off), `u64 at ${off}`);
      assert.equal(i64(buf, off), buf.readBigInt64LE(off), `i64 at ${off}`);
    }
  }
});

it('u64 and i64 check the bounds as Buffer does', () => {
  const buf = Buffer.alloc(16).subarray(0, 12);
  assert.throws(() => u64(buf, 8), RangeError);
  assert.throws(() => i64(buf, -8), RangeError);
});
