import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FULL_READ, MAX_IDLE_READ_MS, QUIET_FACTOR, ReadPacing } from '../../src/kernel/read-pacing.js';

test('a read that brought events to judge is followed after the read interval', () => {
  const p = new ReadPacing(50);
  assert.equal(p.next(300, 12), 50);
  assert.equal(p.next(1, 1), 50);
});

test('a read whose records the config all dropped early is followed after twice the interval', () => {
  const p = new ReadPacing(50);
  assert.equal(p.next(300, 0), 50 * QUIET_FACTOR);
  // one event to judge: back to the read interval at once
  assert.equal(p.next(300, 1), 50);
  assert.equal(p.next(300, 0), 100);
});

test('the stretched interval never exceeds a second', () => {
  assert.equal(new ReadPacing(800).next(10, 0), 1000);
});

test('a full read is followed at once, whatever it logged', () => {
  const p = new ReadPacing(50);
  assert.equal(p.next(FULL_READ, 0), 0);
  assert.equal(p.next(FULL_READ + 1, 5), 0);
});

test('an empty ring is read again after 5 ms doubling to the idle cap', () => {
  const p = new ReadPacing(50);
  const delays = [0, 0, 0, 0, 0].map(() => p.next(0, 0));
  assert.deepEqual(delays, [10, 20, MAX_IDLE_READ_MS, MAX_IDLE_READ_MS, MAX_IDLE_READ_MS]);
  // after a busy read, an empty one backs off from the idle cap, not from the stretched interval
  p.next(100, 0);
  assert.equal(p.next(0, 0), MAX_IDLE_READ_MS);
});
