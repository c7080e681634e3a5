import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { crc32c, crc32cSlow } from '../../src/journal/crc32c.js';

test('CRC32C known vectors (RFC 3720 B.4, "123456789")', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
  assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  assert.equal(crc32c(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x22620404);
});

test('slice-by-8 equals the bitwise reference at every length and alignment, and chains', () => {
  const data = randomBytes(300);
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= data.length; end += 7) {
      const part = data.subarray(start, end);
      assert.equal(crc32c(data, 0, start, end), crc32cSlow(part), `[${start},${end})`);
    }
  }
  const whole = crc32c(data);
  for (const cut of [0, 1, 5, 8, 100, 299, 300]) {
    assert.equal(crc32c(data, crc32c(data, 0, 0, cut), cut), whole);
  }
});
