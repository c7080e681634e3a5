// `sysmon-ts [options]` without the `run` command is run with those options (not silently the
// defaults), and a stop keeps what the kernel wrote until the programs were detached: a
// process that ran just before SIGTERM is in the output, then event 4 "Stopped" last.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentProcess, runCommand } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';
import { COMPILED_CLI } from '../../src/paths.js';

const missing = missingKernelPrereq();
const missingBuild = existsSync(COMPILED_CLI) ? null : `no compiled agent at ${COMPILED_CLI} (driver/setup.sh builds it: npm test runs it first)`;

describe('run without the command word, and stop', () => {
  it('honours --jsonl/--journal, logs a process started just before SIGTERM, ends with event 4 Stopped', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const agent = new AgentProcess();
    agent.command = [];
    // start() waits for event 4 "Started" in agent.jsonl: only there if --jsonl was honoured
    await agent.start();
    const marker = `stop-marker-${process.pid}-${Date.now()}`;
    const r = await runCommand('/bin/echo', [marker]);
    assert.equal(r.code, 0);
    assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr);
    const events = agent.events();
    assert.ok(
      events.some((e) => e.EventID === 1 && e.EventData.ProcessId === r.pid && String(e.EventData.CommandLine).includes(marker)),
      'the ProcessCreate of a process that ran before the stop is kept',
    );
    const last = events.at(-1)!;
    assert.equal(last.EventID, 4);
    assert.equal(last.EventData.State, 'Stopped');
    const stopped = agent.stderr
      .split('\n')
      .filter((l) => l.includes('"msg":"stopped"'))
      .map((l) => JSON.parse(l) as { detachMs: number; totalMs: number });
    assert.equal(stopped.length, 1, `one "stopped" log line with its timings:\n${agent.stderr}`);
    assert.ok(stopped[0]!.detachMs >= 0 && stopped[0]!.totalMs >= stopped[0]!.detachMs);
  });

  it('starts as Sysmon for Linux: event 16 then 4; config warnings on stderr and as event 255 ConfigWarning', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const agent = new AgentProcess();
    const cfg = join(agent.dir, 'lenient.xml');
    writeFileSync(
      cfg,
      '<Sysmon schemaversion="4.90">\n<EventFiltering>\n<ProcessCreate onmatch="Include"><Image condition="end with">/never-run-xyz</Image></ProcessCreate>\n<Foo/>\n</EventFiltering>\n</Sysmon>\n',
      { mode: 0o600 },
    );
    agent.command = ['run', '-c', cfg];
    await agent.start();
    assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr);
    const events = agent.events();
    assert.deepEqual(
      events.slice(0, 4).map((e) => e.EventID),
      [16, 255, 255, 4],
    );
    assert.equal(events[0]!.EventData.Configuration, cfg);
    assert.equal(events[3]!.EventData.State, 'Started');
    const warnings = events.filter((e) => e.EventID === 255 && e.EventData.ID === 'ConfigWarning').map((e) => String(e.EventData.Description));
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, new RegExp(`^${cfg}:3: warning: <ProcessCreate>: onmatch "Include" read as "include"`));
    assert.match(warnings[1]!, new RegExp(`^${cfg}:4: warning: unknown element <Foo>`));
    assert.ok(agent.stderr.includes(`${cfg}:4: warning: unknown element <Foo>`), 'and in the agent log');
  });

  it('the compiled agent (dist/, what npm start and the service run) logs live events', async (t) => {
    if (!requirePrereq(t, missing ?? missingBuild)) return;
    const agent = new AgentProcess();
    agent.entry = [COMPILED_CLI];
    await agent.start();
    const marker = `compiled-marker-${process.pid}-${Date.now()}`;
    const r = await runCommand('/bin/echo', [marker]);
    await agent.waitFor(
      (e) => e.EventID === 1 && e.EventData.ProcessId === r.pid && String(e.EventData.CommandLine).includes(marker),
      15_000,
      'ProcessCreate of the marker',
    );
    assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr);
    assert.ok(agent.stderr.includes('"msg":"stopped"'), agent.stderr);
  });
});
