// ProcessTable.lookup: a process the table missed is read from /proc once and kept; a pid /proc
// does not have is not read again for a second (each miss costs 7 /proc reads).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { it } from 'node:test';
import { GuidMaker } from '../../src/events/guid.js';
import { UserNames } from '../../src/events/host.js';
import { type ProcessInfo, ProcessTable } from '../../src/events/processes.js';

class CountingTable extends ProcessTable {
  reads = 0;
  override readProc(pid: number): ProcessInfo | undefined {
    this.reads++;
    return super.readProc(pid);
  }
}

const table = () => new CountingTable(new GuidMaker(0x277d2fec, 1_700_000_000), new UserNames(() => 'root'));

it('lookup: a live process unknown to the table is read from /proc once, then kept', () => {
  const t = table();
  const me = t.lookup(process.pid);
  assert.equal(me?.pid, process.pid);
  assert.equal(me?.image, process.execPath);
  assert.equal(t.get(process.pid), me);
  assert.equal(t.lookup(process.pid), me);
  assert.equal(t.reads, 1);
});

it('lookup: a pid /proc does not have is read once a second at most', () => {
  const t = table();
  // a child that has exited and been reaped: its pid is free (reuse within this test is remote)
  const gone = spawnSync('true').pid!;
  assert.equal(t.lookup(gone), undefined);
  assert.equal(t.lookup(gone), undefined);
  assert.equal(t.lookup(gone), undefined);
  assert.equal(t.reads, 1);
  assert.equal(t.get(gone), undefined);
});
