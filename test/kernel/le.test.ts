// The inline little-endian readers the decoders use inside checked bounds read what Buffer's own
// readers read, at every alignment and for values with the top bit set.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { i32, u16, u32 } from '../../src/kernel/records/le.js';

test('u16, u32 and i32 read what readUInt16LE, readUInt32LE and readInt32LE read', () => {
  const b = Buffer.concat([randomBytes(4093), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x80])]);
  for (let at = 0; at + 4 <= b.length; at++) {
    assert.equal(u16(b, at), b.readUInt16LE(at));
    assert.equal(u32(b, at), b.readUInt32LE(at));
    assert.equal(i32(b, at), b.readInt32LE(at));
  }
  const end = b.length - 4;
  assert.equal(u32(b, end), 0x80000000);
  assert.equal(i32(b, end), -0x80000000);
  assert.equal(u32(b, end - 4), 0xffffffff);
});
