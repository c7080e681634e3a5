// The process table keeps an exited process for the ring batch of its exit and the next
// BRIEF_BATCHES (its late records come by then; a child exec'ing later names its new parent).
// An exec storm must not grow the agent's memory with its rate (issue 17/19 RSS), nor keep each
// entry alive long enough for V8 to promote it (issue 17 CPU). Live processes are never dropped.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GuidMaker, startTicks } from '../../src/events/guid.js';
import { UserNames } from '../../src/events/host.js';
import { BRIEF_BATCHES, MAX_BRIEF, ProcessTable } from '../../src/events/processes.js';
import type { ExecFacts, ExitFacts, ForkFacts } from '../../src/events/processes.js';

const ticksOf = (pid: number) => startTicks(BigInt(pid) * 10_000_000n);
const ids = (pid: number, ppid: number) => ({
  uid: 0,
  auid: 0,
  sessionid: 1,
  ppid,
  startTicks: ticksOf(pid),
  key: 0,
  parentStartTicks: ticksOf(ppid),
  parentKey: 0,
});
const fork = (pid: number, ppid = 1): ForkFacts => ({ tgid: pid, ids: ids(pid, ppid) });
const exit = (pid: number, ppid = 1): ExitFacts => ({ tgid: pid, ids: ids(pid, ppid) });
const exec = (pid: number, ppid: number, exe: string): ExecFacts => ({ tgid: pid, ids: ids(pid, ppid), exe, cwd: '/', commandLine: exe, tty: 0 });
const newTable = () => new ProcessTable(new GuidMaker(0, 0), new UserNames(() => 'root'));

it('an exit is kept for its batch and the next BRIEF_BATCHES, then forgotten', () => {
  const table = newTable();
  table.onFork(fork(100));
  table.onExec(exec(100, 1, '/bin/short'));
  table.onExit(exit(100), 0);
  for (let b = 0; b < BRIEF_BATCHES; b++) {
    table.endBatch();
    assert.equal(table.get(100)?.image, '/bin/short', `still known ${b + 1} batch(es) after its exit`);
  }
  table.endBatch();
  assert.equal(table.get(100), undefined, 'forgotten after that');
});

it('live processes stay however many batches pass; an exit late in a storm is still there for its batch', () => {
  const table = newTable();
  const live = 100;
  for (let pid = 2; pid < 2 + live; pid++) table.onFork(fork(pid));
  for (let i = 0; i < 3000; i++) {
    const pid = 10_000 + i;
    table.onFork(fork(pid));
    table.onExec(exec(pid, 1, '/bin/child'));
    table.onExit(exit(pid), 0);
    if (i % 100 === 99) table.endBatch(); // a batch of 100 execs
  }
  for (let pid = 2; pid < 2 + live; pid++) assert.ok(table.get(pid), `live process ${pid} kept`);
  assert.ok(table.get(10_000 + 2999), 'the latest exit is kept');
  assert.equal(table.get(10_000), undefined, 'the oldest exit is gone');
  assert.ok(table.size <= live + (BRIEF_BATCHES + 1) * 100, `${table.size} entries for ${live} live processes`);
});

it('without batch ends (a replay), brief exits are still bounded', () => {
  const table = newTable();
  const storm = 5 * MAX_BRIEF;
  for (let i = 0; i < storm; i++) {
    table.onFork(fork(20_000 + i));
    table.onExit(exit(20_000 + i), 0);
  }
  assert.ok(table.size <= (BRIEF_BATCHES + 1) * MAX_BRIEF, `${table.size} entries after ${storm} exits`);
  assert.ok(table.get(20_000 + storm - 1), 'the latest exit is kept');
});

it('a forgotten process is reported to onForget once; a pid reused meanwhile is kept', () => {
  const table = newTable();
  const forgotten: number[] = [];
  table.onForget = (old) => forgotten.push(old.pid);
  table.onFork(fork(500));
  table.onExit(exit(500), 0);
  table.onFork({ tgid: 500, ids: { ...ids(500, 1), startTicks: ticksOf(500) + 7 } }); // same pid, a new process
  table.onFork(fork(501));
  table.onExit(exit(501), 0);
  for (let b = 0; b <= BRIEF_BATCHES; b++) table.endBatch();
  assert.ok(table.get(500), 'the new process with the reused pid stays');
  assert.deepEqual(forgotten, [501]);
});
