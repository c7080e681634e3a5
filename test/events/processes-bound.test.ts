// The process table keeps an exited process while a child it forked has yet to exec (that exec
// names it as the parent), for up to 5 s and never more than MAX_EXITED of them; any other exit
// only for the ring batch it came in and the next BRIEF_BATCHES (its late records come by then).
// An exec storm must not grow the agent's memory with its rate (issue 17/19 RSS), nor keep each
// entry alive long enough for V8 to promote it (issue 17 CPU). Live processes are never dropped.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GuidMaker, startTicks } from '../../src/events/guid.js';
import { UserNames } from '../../src/events/host.js';
import { BRIEF_BATCHES, MAX_BRIEF, MAX_EXITED, ProcessTable } from '../../src/events/processes.js';
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

it('an exit no child waits on is kept for its batch and the next BRIEF_BATCHES, then forgotten', () => {
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

it('an exited parent is kept while its forked child has not exec’d: the exec names it', () => {
  const table = newTable();
  table.onFork(fork(200));
  table.onExec(exec(200, 1, '/bin/sh'));
  table.onFork(fork(201, 200)); // sh forks a child...
  table.onExit(exit(200), 1_000); // ...and exits before the child execs
  for (let b = 0; b < 10; b++) table.endBatch();
  table.sweep(1_000 + 4_000);
  const parent = table.parentOf(ids(201, 200));
  assert.equal(parent?.image, '/bin/sh', 'the child’s exec still finds its parent');
  table.onExec(exec(201, 200, '/bin/sleep'));
  table.sweep(1_000 + 6_000);
  assert.equal(table.get(200), undefined, 'forgotten by the time bound');
  assert.equal(table.get(201)?.image, '/bin/sleep', 'the live child stays');
});

it('a child forked before its parent exec’d still releases the parent’s entry', () => {
  const table = newTable();
  table.onFork(fork(300));
  table.onFork(fork(301, 300)); // forked while 300 still runs its parent's image
  table.onExec(exec(300, 1, '/bin/new-image')); // then 300 execs: a new entry carries the wait
  table.onExec(exec(301, 300, '/bin/child')); // the child execs: 300 waits on nobody now
  table.onExit(exit(301, 300), 0);
  table.onExit(exit(300), 0);
  for (let b = 0; b <= BRIEF_BATCHES; b++) table.endBatch();
  assert.equal(table.get(300), undefined, 'no child waits: forgotten with the batches');
});

it('keeps at most MAX_EXITED waited-on exits, the most recent ones, and every live one', () => {
  const table = newTable();
  const live = 100;
  for (let pid = 2; pid < 2 + live; pid++) table.onFork(fork(pid));
  const storm = 3 * MAX_EXITED;
  const now = 1_000_000;
  for (let i = 0; i < storm; i++) {
    const pid = 10_000 + 2 * i;
    table.onFork(fork(pid));
    table.onFork(fork(pid + 1, pid)); // a child that never execs: its parent is waited on
    table.onExit(exit(pid), now);
  }
  const children = storm;
  assert.ok(table.size <= MAX_EXITED + live + children, `${table.size} entries for ${live + children} live and ${storm} exited processes`);
  for (let pid = 2; pid < 2 + live; pid++) assert.ok(table.get(pid), `live process ${pid} kept`);
  assert.ok(table.get(10_000 + 2 * (storm - 1)), 'the latest exit is kept');
  assert.equal(table.get(10_000), undefined, 'the oldest exit is gone');
  table.sweep(now + 4_000);
  assert.ok(table.get(10_000 + 2 * (storm - 1)), 'an exit 4 s ago is kept');
  table.sweep(now + 6_000);
  assert.equal(table.size, live + children);
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
