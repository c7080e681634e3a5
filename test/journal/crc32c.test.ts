import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CRC32C_IMPLEMENTATION, crc32c, crc32cJs, crc32cSlow } from '../../src/journal/crc32c.js';
import { loadNativeCrc32c, NATIVE_LIBRARY } from '../../src/journal/crc32c-native.js';
import { requirePrereq } from '../helpers/prereq.js';

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
      assert.equal(crc32cJs(data, 0, start, end), crc32cSlow(part), `JavaScript [${start},${end})`);
    }
  }
  const whole = crc32c(data);
  for (const cut of [0, 1, 5, 8, 100, 299, 300]) {
    assert.equal(crc32c(data, crc32c(data, 0, 0, cut), cut), whole);
  }
});

test('the native CRC32C is loaded where driver/native was built, and agrees with JavaScript', (t) => {
  const missing =
    process.platform !== 'linux'
      ? 'not Linux'
      : process.env.SYSMON_TS_NATIVE === '0'
        ? 'SYSMON_TS_NATIVE=0'
        : existsSync(NATIVE_LIBRARY)
          ? null
          : `${NATIVE_LIBRARY} not built (make -C driver/native)`;
  if (!requirePrereq(t, missing)) return;
  const lib = loadNativeCrc32c();
  assert.ok(lib, 'the built library loads');
  // this machine class (x86-64 with SSE4.2) must take the instruction, not the tables
  if (process.arch === 'x64' && readFileSync('/proc/cpuinfo', 'utf8').includes(' sse4_2')) {
    assert.equal(lib.hardware, true);
    assert.equal(CRC32C_IMPLEMENTATION, 'sse4.2');
  }
  assert.equal(lib.crc32c(Buffer.from('123456789'), 0, 0, 9), 0xe3069283);
  // views into a larger ArrayBuffer (as the journal's batch buffer is), odd offsets and
  // lengths around the 8-byte steps, chained starts with the high bit set
  const big = randomBytes(5000);
  const view = big.subarray(13, 4013);
  for (let i = 0; i < 2000; i++) {
    const start = (i * 37) % 1000;
    const end = start + ((i * 101) % 3000);
    const seed = (i * 2654435761) >>> 0;
    assert.equal(lib.crc32c(view, seed, start, end), crc32cJs(view, seed, start, end), `[${start},${end}) from ${seed}`);
    assert.equal(crc32c(view, seed, start, end), crc32cJs(view, seed, start, end));
  }
  // a range past the buffer never reaches native code
  assert.throws(() => crc32c(view, 0, 3900, 4100), RangeError);
  assert.throws(() => crc32c(view, 0, -8, 200), RangeError);
});
