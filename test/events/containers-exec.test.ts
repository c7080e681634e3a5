// Container context of exec'd processes by cgroup v2 id (src/events/containers.ts onExec):
// one /proc read per cgroup on a cgroup-v2-only host, one per process on a hybrid host (v1
// lines can name a container that the v2 id does not decide). A fake /proc tree stands in
// for processes in containers, which this machine does not run.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Containers } from '../../src/events/containers.js';
import { GuidMaker } from '../../src/events/guid.js';
import { UserNames } from '../../src/events/host.js';
import { ProcessTable } from '../../src/events/processes.js';

const ID = 'ab'.repeat(32);

function fakeProc(cgroups: Record<number, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'sysmon-ts-proc-'));
  for (const [pid, text] of Object.entries(cgroups)) {
    mkdirSync(join(root, pid));
    writeFileSync(join(root, pid, 'cgroup'), text);
  }
  return root;
}

const table = () => new ProcessTable(new GuidMaker(0, 0), new UserNames());

it('cgroup v2 only: the second process of a cgroup is resolved without reading /proc', () => {
  const v2 = `0::/system.slice/docker-${ID}.scope\n`;
  const c = new Containers(fakeProc({ 10: v2, 11: v2, 12: '0::/user.slice\n' }));
  const procs = table();
  c.onExec(10, 1, 500n, procs);
  assert.equal(c.stats.procReads, 1);
  c.onExec(11, 1, 500n, procs);
  assert.equal(c.stats.procReads, 1, 'same cgroup id: no read');
  assert.deepEqual(c.forPid(11, procs), { id: ID, runtime: 'docker', cgroup: `/system.slice/docker-${ID}.scope` });
  c.onExec(12, 1, 501n, procs);
  assert.equal(c.stats.procReads, 2, 'another cgroup: read once');
  assert.equal(c.forPid(12, procs), null);
  // a process of a known cgroup whose /proc entry does not exist at all: still resolved
  c.onExec(13, 1, 500n, procs);
  assert.equal(c.forPid(13, procs)?.id, ID);
  assert.equal(c.stats.procReads, 2);
});

it('hybrid host (v1 lines): every process is read, as v1 membership is not in the v2 id', () => {
  const hybrid = (v1: string) => `4:memory:${v1}\n1:name=systemd:/\n0::/\n`;
  const c = new Containers(fakeProc({ 20: hybrid(`/docker/${ID}`), 21: hybrid('/') }));
  const procs = table();
  c.onExec(20, 1, 1n, procs);
  c.onExec(21, 1, 1n, procs);
  assert.equal(c.stats.procReads, 2);
  assert.equal(c.forPid(20, procs)?.runtime, 'docker');
  assert.equal(c.forPid(21, procs), null, 'same v2 id, different v1 memberships');
});

it("hybrid host, in its parent's cgroups (kernel flag): the parent's context, no read; a reused parent pid is not trusted", () => {
  const docker = `4:memory:/docker/${ID}\n0::/\n`;
  const c = new Containers(fakeProc({ 30: docker, 31: docker, 32: '4:memory:/\n0::/\n' }));
  const procs = table();
  c.onExec(30, 5, 1n, procs);
  assert.equal(c.stats.procReads, 1);
  c.onExec(31, 6, 1n, procs, { pid: 30, ticks: 5 });
  assert.equal(c.stats.procReads, 1, "the parent's entry answers");
  assert.equal(c.forPid(31, procs)?.id, ID);
  // the parent's pid now belongs to another process (other start time): read /proc instead
  c.onExec(32, 7, 1n, procs, { pid: 30, ticks: 4 });
  assert.equal(c.stats.procReads, 2);
  assert.equal(c.forPid(32, procs), null);
});

it('a process the table forgets leaves the cache (same start time only): its pid is read again', () => {
  const v2 = `0::/system.slice/docker-${ID}.scope\n`;
  const c = new Containers(fakeProc({ 40: '0::/user.slice\n', 41: v2 }));
  const procs = table();
  c.onExec(40, 7, 900n, procs);
  c.onExec(41, 7, 901n, procs);
  const reads = c.stats.procReads;
  c.forget(41, 8); // another process that once had this pid: not this entry
  assert.equal(c.forPid(41, procs)?.id, ID);
  assert.equal(c.stats.procReads, reads, 'still cached');
  c.forget(41, 7);
  assert.equal(c.forPid(41, procs)?.id, ID, 'read from /proc again');
  assert.equal(c.stats.procReads, reads + 1);
});
