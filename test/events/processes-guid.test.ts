// ParentProcessGuid of an exec: the process table reuses its parent entry's GUID only when that
// entry was made from the end_code the record names (the parent has not exec'd since); a parent
// that exec'd unseen gets the GUID the record's facts make, as Sysmon for Linux derives it.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { GuidMaker, guidKey, startTicks } from '../../src/events/guid.js';
import { UserNames } from '../../src/events/host.js';
import { ProcessTable } from '../../src/events/processes.js';
import type { ExecRecord } from '../../src/families/decode.js';

const guids = new GuidMaker(0x277d2fec, 1_700_000_000);
const ids = (ppid: number, startBootNs: bigint, endCode: bigint, parentStartBootNs: bigint, parentEndCode: bigint) => ({
  uid: 0,
  auid: 0,
  sessionid: 1,
  ppid,
  startTicks: startTicks(startBootNs),
  key: guidKey(endCode),
  parentStartTicks: startTicks(parentStartBootNs),
  parentKey: guidKey(parentEndCode),
});
const exec = (pid: number, i: ReturnType<typeof ids>): ExecRecord =>
  ({ type: 1, flags: 0, bootNs: 0n, tgid: pid, tid: pid, ids: i, exe: '/bin/x', cwd: '/', commandLine: 'x', tty: 0 }) as unknown as ExecRecord;

it('ParentProcessGuid: the known parent entry when its end_code matches, the record facts otherwise', () => {
  const table = new ProcessTable(guids, new UserNames(() => 'root'));
  // the parent (pid 100) exec'd with end_code 0x1111 (seen)
  const parent = table.onExec(exec(100, ids(1, 50_000_000n, 0xaaaa_0000_1111n, 10n, 7n)));
  assert.equal(parent.guid, guids.process(100, startTicks(50_000_000n), 0x1111n));

  // a child whose record names the same parent and end_code: the entry's GUID
  const same = ids(100, 90_000_000n, 5n, 50_000_000n, 0xbbbb_0000_1111n);
  assert.equal(table.parentGuid(same, table.parentOf(same)), parent.guid);

  // the parent exec'd again unseen (a new end_code, same pid and start): the record's facts decide
  const other = ids(100, 91_000_000n, 6n, 50_000_000n, 0x2222n);
  const found = table.parentOf(other);
  assert.equal(found, parent, 'parentOf matches by pid and start time');
  assert.equal(table.parentGuid(other, found), guids.process(100, startTicks(50_000_000n), 0x2222n));
  assert.notEqual(table.parentGuid(other, found), parent.guid);

  // no entry at all: the record's facts
  const unknown = ids(999_999, 92_000_000n, 6n, 40_000_000n, 0x3333n);
  assert.equal(table.parentGuid(unknown, undefined), guids.process(999_999, startTicks(40_000_000n), 0x3333n));
});
