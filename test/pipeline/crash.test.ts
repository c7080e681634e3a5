// kill -9 of the agent in the middle of a process storm: the next start recovers the
// journal, continues the EventRecordIDs, and the JSONL file ends up with every journaled
// event exactly once (no gap, no duplicate).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AgentProcess, runCommand } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

it('survives kill -9 mid-storm without losing or duplicating events', async (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  const first = new AgentProcess();
  await first.start();
  const marker = `crash${process.hrtime.bigint()}`;
  let stop = false;
  const storm = (async () => {
    let n = 0;
    while (!stop && n < 3000) {
      await runCommand('/usr/bin/true', [marker]);
      n++;
    }
    return n;
  })();
  await first.waitFor((e) => e.EventID === 1 && e.EventData.CommandLine === `/usr/bin/true ${marker}`, 20_000, 'storm started', 50);
  first.child.kill('SIGKILL');
  await first.stop();
  const beforeRestart = first.events();
  const lastBefore = Math.max(...beforeRestart.map((e) => e.EventRecordID));

  const second = new AgentProcess([], first.dir);
  await second.start();
  stop = true;
  const spawned = await storm;
  assert.ok(spawned >= 50);
  const [started] = second
    .events()
    .filter((e) => e.EventID === 4 && e.EventData.State === 'Started')
    .slice(-1);
  assert.ok(started!.EventRecordID > lastBefore, 'IDs continue after the crash');
  assert.equal(await second.stop(), 0, second.stderr);
  const ids = second.events().map((e) => e.EventRecordID);
  assert.equal(new Set(ids).size, ids.length, 'no EventRecordID twice in the JSONL file');
  const sorted = [...ids].sort((a, b) => a - b);
  assert.deepEqual(ids, sorted, 'in order');
  assert.equal(sorted[0], 1);
  assert.equal(sorted[sorted.length - 1]! - sorted[0]! + 1, sorted.length, 'no gap: every journaled event reached the file');
});
