// The process table keeps exited processes a while (a late child's exec still finds its parent)
// but never more than MAX_EXITED of them: an exec storm must not grow the agent's memory with
// its rate (issue 17/19 RSS). The oldest exits go first; live processes are never dropped.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GuidMaker, startTicks } from '../../src/events/guid.js';
import { UserNames } from '../../src/events/host.js';
import { MAX_EXITED, ProcessTable } from '../../src/events/processes.js';
import type { ExitRecord, ForkRecord } from '../../src/families/decode.js';

const ids = (ppid: number, startBootNs: bigint) => ({
  uid: 0,
  auid: 0,
  sessionid: 1,
  ppid,
  startTicks: startTicks(startBootNs),
  key: 0,
  parentStartTicks: 0,
  parentKey: 0,
});
const fork = (pid: number, start: bigint): ForkRecord =>
  ({ type: 2, flags: 0, bootNs: start, tgid: pid, tid: pid, ids: ids(1, start) }) as unknown as ForkRecord;
const exit = (pid: number, start: bigint): ExitRecord => ({ type: 3, flags: 0, bootNs: start, tgid: pid, tid: pid, ids: ids(1, start), exitCode: 0 });

it('keeps at most MAX_EXITED exited processes, the most recent ones, and every live one', () => {
  const table = new ProcessTable(new GuidMaker(0, 0), new UserNames(() => 'root'));
  const live = 100;
  for (let pid = 2; pid < 2 + live; pid++) table.onFork(fork(pid, BigInt(pid) * 10_000_000n));
  const storm = 3 * MAX_EXITED;
  const now = 1_000_000;
  for (let i = 0; i < storm; i++) {
    const pid = 10_000 + i;
    const start = BigInt(pid) * 10_000_000n;
    table.onFork(fork(pid, start));
    table.onExit(exit(pid, start), now);
  }
  assert.ok(table.size <= MAX_EXITED + live, `${table.size} entries for ${live} live and ${storm} exited processes`);
  for (let pid = 2; pid < 2 + live; pid++) assert.ok(table.get(pid), `live process ${pid} kept`);
  assert.ok(table.get(10_000 + storm - 1), 'the latest exit is kept');
  assert.equal(table.get(10_000), undefined, 'the oldest exit is gone');
  // and the time bound still applies to what is left: kept for 5 s after their exit
  table.sweep(now + 4_000);
  assert.ok(table.get(10_000 + storm - 1), 'an exit 4 s ago is kept');
  table.sweep(now + 6_000);
  assert.equal(table.size, live);
});

it('a pid reused after its exit keeps the new process when the old one is forgotten', () => {
  const table = new ProcessTable(new GuidMaker(0, 0), new UserNames(() => 'root'));
  table.onFork(fork(500, 10n));
  table.onExit(exit(500, 10n), 0);
  table.onFork(fork(500, 20n)); // same pid, a new process
  table.sweep(60_000);
  assert.ok(table.get(500), 'the new process with the reused pid stays');
});
