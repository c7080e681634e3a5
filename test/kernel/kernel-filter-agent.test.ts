// The running agent with the in-kernel file filter, end to end: what the config drops never
// reaches the JSONL, near misses do, and a reload in the middle of a steady stream of file
// creations loses and duplicates nothing: every file is judged by exactly one config, the old
// one up to some point of the stream and the new one after it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

const missing = missingKernelPrereq();

function config(dir: string, dropSuffix: string): string {
  return `<Sysmon schemaversion="4.90"><EventFiltering>
  <RuleGroup groupRelation="or"><FileCreate onmatch="exclude">
    <TargetFilename condition="begin with">${dir}/noise/</TargetFilename>
    <TargetFilename condition="end with">${dropSuffix}</TargetFilename>
  </FileCreate></RuleGroup>
</EventFiltering></Sysmon>
`;
}

describe('agent with the in-kernel file filter', () => {
  let agent: AgentProcess;
  let dir: string;
  let cfg: string;

  before(async () => {
    if (missing) return;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-kfa-')));
    for (const d of ['noise', 'noisy', 'seq']) mkdirSync(join(dir, d));
    cfg = join(dir, 'config.xml');
    writeFileSync(cfg, config(dir, '.odd'));
    agent = new AgentProcess(['-c', cfg], dir);
    await agent.start();
  });

  after(async () => {
    if (agent) assert.equal(await agent.stop(), 0, agent.stderr);
  });

  const created = (prefix: string) => (e: JsonEvent) => e.EventID === 11 && String(e.EventData.TargetFilename).startsWith(prefix);

  it('drops what the config excludes before user space, keeps near misses', async (t) => {
    if (!requirePrereq(t, missing)) return;
    for (let i = 0; i < 200; i++) writeFileSync(join(dir, 'noise', `n${i}`), '');
    writeFileSync(join(dir, 'noisy', 'kept.txt'), '');
    writeFileSync(join(dir, 'noise.txt'), '');
    await agent.waitFor(created(join(dir, 'noise.txt')), 15_000, 'noise.txt');
    await agent.waitFor(created(join(dir, 'noisy', 'kept.txt')), 15_000, 'noisy/kept.txt');
    assert.equal(agent.events().filter(created(join(dir, 'noise') + '/')).length, 0);
  });

  it('a reload during a stream of creations: each file judged by one config, none lost or doubled', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const stop = join(dir, 'stop-writer');
    // a separate process writes f<i>.even / f<i>.odd as fast as it can until told to stop
    const writer = spawn(
      process.execPath,
      [
        '-e',
        `
      const fs = require('fs'); let i = 0;
      while (!fs.existsSync(${JSON.stringify(stop)})) { fs.writeFileSync(${JSON.stringify(join(dir, 'seq'))} + '/f' + i + (i % 2 ? '.odd' : '.even'), ''); i++; }
      fs.writeFileSync(${JSON.stringify(join(dir, 'seq', 'count'))}, String(i));`,
      ],
      { stdio: 'ignore' },
    );
    const done = new Promise((r) => writer.once('exit', r));
    await new Promise((r) => setTimeout(r, 700));
    writeFileSync(cfg, config(dir, '.even'));
    agent.child.kill('SIGHUP');
    await agent.waitFor((e) => e.EventID === 16 && e.EventData.Configuration === cfg, 15_000, 'event 16 (reload)', 2);
    await new Promise((r) => setTimeout(r, 700));
    writeFileSync(stop, '');
    await done;
    assert.ok(existsSync(join(dir, 'seq', 'count')));
    await agent.waitFor(created(join(dir, 'seq', 'count')), 15_000, "the writer's count file");
    const n = Number((await import('node:fs')).readFileSync(join(dir, 'seq', 'count'), 'utf8'));
    const seen = agent
      .events()
      .filter(created(join(dir, 'seq', 'f')))
      .map((e) => String(e.EventData.TargetFilename).slice(join(dir, 'seq', 'f').length));
    assert.equal(new Set(seen).size, seen.length, 'an event was journaled twice');
    const kept = new Set(seen);
    // old config (drops .odd) up to k, new config (drops .even) from k: find k from the first odd kept
    const firstOdd = seen
      .map((s) => parseInt(s, 10))
      .filter((i) => i % 2 === 1)
      .sort((a, b) => a - b)[0];
    assert.ok(firstOdd !== undefined, 'no file was judged by the new config');
    assert.ok(n > 200, `writer made only ${n} files`);
    for (let i = 0; i < n; i++) {
      const name = `${i}${i % 2 ? '.odd' : '.even'}`;
      const expect: boolean = i < firstOdd - 1 ? i % 2 === 0 : i > firstOdd ? i % 2 === 1 : kept.has(name);
      assert.equal(kept.has(name), expect, `f${name}: ${kept.has(name) ? 'kept' : 'missing'} (new config from f${firstOdd})`);
    }
  });
});
