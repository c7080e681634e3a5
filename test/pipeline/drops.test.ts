// Drops are never silent: with a small ring and a reader that cannot run (SIGSTOP), a file
// storm overflows the ring; when the reader runs again the loss is reported as event 255
// with the number of records the kernel could not write, and the monitor goes on.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, closeSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { AgentProcess, runCommand } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

it('reports ring overflow as event 255 RingDrops with the lost count, then keeps logging', async (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-drops-'));
  const config = join(dir, 'config.xml');
  writeFileSync(
    config,
    '<Sysmon schemaversion="4.91"><EventFiltering><RuleGroup groupRelation="or"><FileCreate onmatch="exclude"/></RuleGroup></EventFiltering></Sysmon>',
  );
  const agent = new AgentProcess(['-c', config, '--ring-mb', '1'], dir);
  await agent.start();
  try {
    agent.child.kill('SIGSTOP');
    // ~30,000 FileCreate records of > 100 bytes each cannot fit in a 1 MiB ring
    const storm = join(dir, 'storm');
    (await import('node:fs')).mkdirSync(storm);
    for (let i = 0; i < 30_000; i++) closeSync(openSync(join(storm, `f${i}`), 'w'));
    agent.child.kill('SIGCONT');
    const [drop] = await agent.waitFor((e) => e.EventID === 255 && e.EventData.ID === 'RingDrops', 30_000, 'event 255 RingDrops');
    const lost = Number(/^(\d+) kernel records lost/.exec(String(drop!.EventData.Description))?.[1]);
    assert.ok(lost > 0, String(drop!.EventData.Description));
    const created = agent.events().filter((e) => e.EventID === 11 && String(e.EventData.TargetFilename).startsWith(`${storm}/`)).length;
    assert.ok(created < 30_000, 'some creates were lost');
    assert.ok(created + lost >= 30_000, `every create is either logged (${created}) or counted as lost (${lost})`);
    // and the monitor still works
    const r = await runCommand('/usr/bin/true', [`after-drops-${process.hrtime.bigint()}`]);
    await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === r.pid, 15_000, 'events after the overflow');
  } finally {
    agent.child.kill('SIGCONT');
    assert.equal(await agent.stop(), 0, agent.stderr);
  }
});
