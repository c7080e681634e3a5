// A running monitor applies its config, switches to another with `sysmon-ts -c FILE`
// without restarting (event 16), and refuses a broken one (CLI error naming the line;
// event 255 on SIGHUP) while keeping the rules it had.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../../src/paths.js';
import { AgentProcess, runCommand } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

const missing = missingKernelPrereq();

function config(endsWith: string): string {
  return `<Sysmon schemaversion="4.91">
  <EventFiltering>
    <RuleGroup name="" groupRelation="or">
      <ProcessCreate onmatch="include">
        <Image name="picked" condition="end with">${endsWith}</Image>
      </ProcessCreate>
    </RuleGroup>
  </EventFiltering>
</Sysmon>
`;
}

describe('live configuration', () => {
  let agent: AgentProcess;
  let first: string;
  let second: string;

  before(async () => {
    if (missing) return;
    agent = new AgentProcess();
    first = join(agent.dir, 'first.xml');
    second = join(agent.dir, 'second.xml');
    writeFileSync(first, config('/true'));
    writeFileSync(second, config('/env'));
    agent = new AgentProcess(['-c', first], agent.dir);
    await agent.start();
  });

  after(async () => {
    if (agent) assert.equal(await agent.stop(), 0);
  });

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, SYSMON_TS_RUN_DIR: join(agent.dir, 'run') },
    });

  it('applies include rules with RuleName, then switches config without a restart', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const m1 = `cfg${process.hrtime.bigint()}`;
    await runCommand('/usr/bin/env', ['true', m1]);
    const [kept] = await agent.waitFor((e) => e.EventID === 1 && e.EventData.CommandLine === `true ${m1}`, 15_000, 'true kept');
    assert.equal(kept!.EventData.RuleName, 'picked');
    assert.equal(
      agent.events().filter((e) => e.EventID === 1 && String(e.EventData.CommandLine).startsWith(`/usr/bin/env true ${m1}`)).length,
      0,
      'env dropped by the first config',
    );
    // the monitor's process events 5 are off too: an include block for 1 only leaves 5 at its default (on)
    const r = cli('-c', second);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Configuration updated/);
    const [changed] = await agent.waitFor((e) => e.EventID === 16 && e.EventData.Configuration === second, 15_000, 'event 16 for the second config');
    // Sysmon for Linux: the file's hash with the configured HashAlgorithms (none here: SHA256), lower-case hex
    assert.equal(changed!.EventData.ConfigurationFileHash, `SHA256=${createHash('sha256').update(readFileSync(second)).digest('hex')}`);
    const m2 = `cfg${process.hrtime.bigint()}`;
    await runCommand('/usr/bin/env', ['true', m2]);
    await agent.waitFor((e) => e.EventID === 1 && e.EventData.CommandLine === `/usr/bin/env true ${m2}`, 15_000, 'env kept by the second config');
  });

  it('refuses a broken config with file and line, and keeps the running rules', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const bad = join(agent.dir, 'bad.xml');
    // unreadable (what Sysmon would also refuse; an unknown field only warns, as Sysmon skips it)
    writeFileSync(
      bad,
      '<Sysmon schemaversion="4.91">\n  <EventFiltering>\n    <ProcessCreate onmatch="include">\n      <Image condition="is">x</Imagez>\n    </ProcessCreate>\n  </EventFiltering>\n</Sysmon>\n',
    );
    const r = cli('-c', bad);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[/.]/g, '\\$&')}:4: .*Imagez`));
    // the same broken text behind the file the agent uses, then SIGHUP: event 255, old rules kept
    writeFileSync(
      second,
      '<Sysmon schemaversion="4.91">\n  <EventFiltering>\n    <ProcessCreate onmatch="include">\n      <Image condition="sounds like">x</Image>\n',
    );
    agent.child.kill('SIGHUP');
    const [err] = await agent.waitFor((e) => e.EventID === 255 && e.EventData.ID === 'ConfigError', 15_000, 'event 255 ConfigError');
    assert.match(String(err!.EventData.Description), /second\.xml/);
    const m3 = `cfg${process.hrtime.bigint()}`;
    await runCommand('/usr/bin/env', ['true', m3]);
    await agent.waitFor((e) => e.EventID === 1 && e.EventData.CommandLine === `/usr/bin/env true ${m3}`, 15_000, 'previous rules still apply');
  });

  it('prints the active rules with -c and no file', (t) => {
    if (!requirePrereq(t, missing)) return;
    writeFileSync(second, config('/env'));
    const r = cli('-c');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /ProcessCreate/);
    assert.match(r.stdout, /second\.xml/);
  });
});
