// The process table's queue of exited processes: oldest exit first, a fixed capacity (the
// oldest is evicted to make room), expiry by exit time, and every removed entry handed back
// (the table then forgets it unless its pid names a newer process).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ExitedQueue } from '../../src/events/exited-queue.js';

const entry = (pid: number, exitedAtMs: number) => ({ pid, exitedAtMs });

it('evicts the oldest exit when full, in exit order, across many wraps of the ring', () => {
  const q = new ExitedQueue<{ pid: number; exitedAtMs: number }>(5);
  const evicted: number[] = [];
  for (let pid = 1; pid <= 23; pid++) q.push(entry(pid, pid), (old) => evicted.push(old.pid));
  assert.equal(q.size, 5);
  assert.deepEqual(
    evicted,
    Array.from({ length: 18 }, (_, i) => i + 1),
  );
});

it('expires only the entries older than the window, oldest first, and keeps the rest in order', () => {
  const q = new ExitedQueue<{ pid: number; exitedAtMs: number }>(100);
  const out: number[] = [];
  for (let pid = 1; pid <= 10; pid++) q.push(entry(pid, pid * 1000), () => assert.fail('not full'));
  q.expire(6500, 2000, (old) => out.push(old.pid)); // exited before 4500 goes
  assert.deepEqual(out, [1, 2, 3, 4]);
  assert.equal(q.size, 6);
  q.expire(6500, 2000, (old) => out.push(old.pid));
  assert.deepEqual(out, [1, 2, 3, 4], 'nothing more is old enough');
  for (let pid = 11; pid <= 12; pid++) q.push(entry(pid, pid * 1000), () => assert.fail('not full'));
  q.expire(1_000_000, 2000, (old) => out.push(old.pid));
  assert.deepEqual(out, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(q.size, 0);
});
