// Sinks declare themselves (sinks/<name>/kind.ts, listed in sinks/index.ts) and `--sink SPEC`
// builds any of them; the older flags are aliases. Parsing needs nothing; the last test runs the
// real agent with two --sink outputs and reads both back.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseSinkSpec, sinkFromSpec, SINK_KINDS } from '../../sinks/index.js';
import { makeIdentity } from '../../src/events/event.js';

const LINUX_IDENTITY = makeIdentity(false, 'test-host');
import { ROOT } from '../../src/paths.js';
import { AgentProcess, runCommand } from '../helpers/agent.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';
import { run } from '../evtx/tools.js';

describe('sink specs', () => {
  it('every sinks/<name>/kind.ts is registered, under a unique kind and schemes', () => {
    const folders = readdirSync(join(ROOT, 'sinks'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'sinks', d.name, 'kind.ts')))
      .map((d) => d.name);
    const declared = folders.map((f) => /kind: '([a-z]+)'/.exec(readFileSync(join(ROOT, 'sinks', f, 'kind.ts'), 'utf8'))?.[1]);
    assert.deepEqual([...declared].sort(), SINK_KINDS.map((k) => k.kind).sort(), 'a sink folder with a kind.ts is missing from SINK_KINDS (sinks/index.ts)');
    assert.equal(new Set(SINK_KINDS.map((k) => k.kind)).size, SINK_KINDS.length);
    const schemes = SINK_KINDS.flatMap((k) => k.schemes ?? []);
    assert.equal(new Set(schemes).size, schemes.length);
  });

  it('parses KIND:WHERE?options, URLs by scheme, and the syslog:URL / syslog+SCHEME:// spellings', () => {
    const j = parseSinkSpec('jsonl:/var/log/x.jsonl?max-mb=100&format=ecs');
    assert.equal(j.kind.kind, 'jsonl');
    assert.equal(j.where, '/var/log/x.jsonl');
    assert.deepEqual(
      [...j.options],
      [
        ['max-mb', '100'],
        ['format', 'ecs'],
      ],
    );
    assert.equal(parseSinkSpec('jsonl:-').where, '-');
    assert.equal(parseSinkSpec('evtx:/x/y.evtx').kind.kind, 'evtx');
    assert.equal(parseSinkSpec('etw').kind.kind, 'etw');
    for (const [spec, kind, where] of [
      ['tcp://127.0.0.1:514', 'syslog', 'tcp://127.0.0.1:514'],
      ['syslog:tls://h:6514?ca=/c.pem', 'syslog', 'tls://h:6514?ca=/c.pem'],
      ['syslog+tls://h:6514?ca=/c.pem', 'syslog', 'tls://h:6514?ca=/c.pem'],
      ['unix:///dev/log', 'syslog', 'unix:///dev/log'],
      ['relp://h:2514', 'relp', 'relp://h:2514'],
      ['syslog:relps://h:2514?ca=/c.pem', 'relp', 'relps://h:2514?ca=/c.pem'],
    ] as const) {
      const p = parseSinkSpec(spec);
      assert.equal(p.kind.kind, kind, spec);
      assert.equal(p.where, where, spec);
    }
  });

  it('refuses unknown kinds, schemes and options with the forms it knows', () => {
    assert.throws(() => parseSinkSpec('kafka:topic'), /unknown sink "kafka:topic": jsonl:PATH/);
    assert.throws(() => parseSinkSpec('http://h/x'), /no sink takes http:\/\/ URLs \(udp:\/\/, tcp:\/\//);
    assert.throws(() => parseSinkSpec('jsonl:/x.jsonl?max-size=3'), /jsonl has no option "max-size" \(max-mb, rotate-hours, max-files, format\)/);
    assert.throws(() => sinkFromSpec('jsonl:/tmp/x.jsonl?max-mb=lots', { identity: LINUX_IDENTITY }), /jsonl: max-mb=lots: expected a number >= 0/);
    assert.throws(() => sinkFromSpec('jsonl:/tmp/x.jsonl?format=xml', { identity: LINUX_IDENTITY }), /format=xml: must be jsonl or ecs/);
  });

  it("per-kind flag values are defaults; a spec's own option wins", () => {
    const sink = sinkFromSpec('syslog:tcp://127.0.0.1:1?format=json', { identity: LINUX_IDENTITY, defaults: { syslog: { format: 'xml' } } });
    assert.equal(sink.name, 'syslog:tcp://127.0.0.1:1');
  });
});

describe('--sink on the live agent', () => {
  const missing = missingKernelPrereq() ?? missingTool('evtxexport');
  it('writes every --sink output (JSONL with its own ?format, EVTX) beside the --jsonl file', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const base = new AgentProcess();
    const other = join(base.dir, 'other.jsonl');
    const evtx = join(base.dir, 'x.evtx');
    // the helper's own --jsonl is the first file; --sink adds two more outputs
    const agent = new AgentProcess(['--sink', `jsonl:${other}?format=ecs`, '--sink', `evtx:${evtx}`], base.dir);
    await agent.start();
    const marker = `sinkspec${process.pid}${Date.now()}`;
    const r = await runCommand('/bin/echo', [marker]);
    await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === r.pid);
    assert.equal(await agent.stop(), 0, agent.stderr);
    const ecs = readFileSync(other, 'utf8')
      .split('\n')
      .filter((l) => l.includes(marker));
    assert.ok(ecs.length >= 1, 'the --sink JSONL file has the event');
    assert.ok(
      ecs.every((l) => (JSON.parse(l) as { process?: unknown }).process !== undefined),
      'in ECS names (its ?format=ecs)',
    );
    const exp = run('evtxexport', ['-f', 'xml', evtx]);
    assert.equal(exp.status, 0, exp.stderr);
    assert.ok(exp.stdout.includes(marker), 'the EVTX file has the event');
  });
});
