// The per-second caches of utcTime/isoTime must give exactly the uncached text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isoTime, isoTimeSlow, utcTime, utcTimeSlow } from '../../src/events/time.js';

const S = 1_000_000_000n;
function both(ns: bigint): void {
  assert.equal(utcTime(ns), utcTimeSlow(ns), `utcTime(${ns})`);
  assert.equal(isoTime(ns), isoTimeSlow(ns), `isoTime(${ns})`);
}

test('known values', () => {
  const ns = 1_700_000_000_123_456_789n; // 2023-11-14 22:13:20.123456789
  assert.equal(utcTime(ns), '2023-11-14 22:13:20.123');
  assert.equal(isoTime(ns), '2023-11-14T22:13:20.123456789Z');
  assert.equal(utcTime(1_700_000_000_000_000_001n), '2023-11-14 22:13:20.000');
  assert.equal(isoTime(1_700_000_000_000_000_001n), '2023-11-14T22:13:20.000000001Z');
  assert.equal(utcTime(0n), '1970-01-01 00:00:00.000');
  assert.equal(isoTime(0n), '1970-01-01T00:00:00.000000000Z');
});

test('second, minute, day, month, year and leap-day boundaries, in and out of order', () => {
  const bounds = [
    Date.UTC(2023, 10, 14, 22, 13, 20),
    Date.UTC(2023, 10, 14, 22, 59, 59),
    Date.UTC(2023, 11, 31, 23, 59, 59),
    Date.UTC(2024, 1, 28, 23, 59, 59),
    Date.UTC(2024, 1, 29, 23, 59, 59),
    Date.UTC(1999, 11, 31, 23, 59, 59),
  ];
  for (const ms of bounds) {
    const base = BigInt(ms) * 1_000_000n;
    for (const d of [0n, 1n, 999_999n, 1_000_000n, 999_000_000n, S - 1n, S, S + 1n, 2n * S - 1n, 2n * S, -1n, -S, -S - 1n]) both(base + d);
    // alternate between two seconds (the cache flips every call)
    for (let i = 0; i < 5; i++) {
      both(base + S - 1n);
      both(base + S);
      both(base);
    }
  }
});

test('random times match the uncached formats', () => {
  let x = 0x1234567n;
  for (let i = 0; i < 20000; i++) {
    x = (x * 6364136223846793005n + 1442695040888963407n) & 0xffff_ffff_ffff_ffffn;
    both(x % (4_102_444_800n * S)); // up to 2100
    both(1_700_000_000n * S + (x % (3n * S))); // many calls within a few seconds
  }
});

test('before 1970 falls back to the uncached text', () => {
  for (const ns of [-1n, -999_999n, -1_000_000n, -S, -S - 1n, -86_400n * S + 5n]) both(ns);
});

test('interleaving the two formats at different seconds', () => {
  const a = 1_700_000_000n * S + 5n;
  const b = 1_600_000_000n * S + 7n;
  for (let i = 0; i < 10; i++) {
    both(a + BigInt(i));
    both(b + BigInt(i) * S);
  }
});

test('utcTime: the same millisecond twice, a year past 9999 (another layout) and back', () => {
  const t = 1_700_000_000_123_456_789n;
  for (const ns of [t, t + 1n, t + 999_999n, t + 1_000_000n, 253_402_300_800_000_000_000n, 253_402_300_799_999_000_000n, 631_152_000_000_000_000_000n, t, t]) {
    assert.equal(utcTime(ns), utcTimeSlow(ns), `utcTime(${ns})`);
  }
});
