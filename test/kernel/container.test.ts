// Container context: cgroup path -> container id/runtime (pure), the ContainerId/...
// extension filter fields of the rule engine (pure), and live: a process started in its own
// cgroup v2 group named like docker's (docker-<64 hex>.scope) and its own PID and mount
// namespaces (unshare) -> its events carry a top-level "Container"; a host process -> none.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';
import { containerFromCgroup, containerFromProcCgroup } from '../../src/events/containers.js';
import { loadConfigText } from '../../src/config/index.js';
import type { SysmonEvent } from '../../src/events/event.js';
import { decodePayload, payloadText } from '../../src/journal/format.js';
import { encodeJsonl, eventFromJson } from '../../sinks/shared/jsonl-encode.js';
import { makeIdentity } from '../../src/events/event.js';

const HEX = 'a'.repeat(8) + '0123456789abcdef'.repeat(3) + 'b'.repeat(8);

describe('container id from a cgroup path', () => {
  it('recognises docker, containerd, cri-o, podman, kubernetes, nspawn and lxc; host paths are null', () => {
    const cases: [string, string | null, string | null][] = [
      [`/system.slice/docker-${HEX}.scope`, HEX, 'docker'],
      [`/docker/${HEX}`, HEX, 'docker'],
      [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-${HEX}.scope`, HEX, 'containerd'],
      [`/kubepods.slice/kubepods-pod1.slice/crio-${HEX}.scope`, HEX, 'cri-o'],
      [`/machine.slice/libpod-${HEX}.scope/container`, HEX, 'podman'],
      [`/kubepods/burstable/pod0a1b2c3d-1111-2222-3333-444455556666/${HEX}`, HEX, 'kubernetes'],
      ['/machine.slice/machine-web\\x2d1.scope/payload', 'web-1', 'systemd-nspawn'],
      ['/lxc.payload.box1', 'box1', 'lxc'],
      ['/', null, null],
      ['/user.slice/user-0.slice/session-3.scope', null, null],
      [`/machine.slice/libpod-conmon-${HEX}.scope`, null, null],
      ['/process_api/17d466097b706304f19faf0bcae8e1e8', null, null],
    ];
    for (const [path, id, runtime] of cases) {
      const c = containerFromCgroup(path);
      assert.equal(c?.id ?? null, id, path);
      assert.equal(c?.runtime ?? null, runtime, path);
      if (c) assert.equal(c.cgroup, path);
    }
    // /proc/PID/cgroup: the v2 line first, v1 lines when v2 says nothing
    assert.equal(containerFromProcCgroup(`4:memory:/docker/${HEX}\n0::/\n`)?.id, HEX);
    assert.equal(containerFromProcCgroup('4:memory:/x\n0::/\n'), null);
  });

  it('config extension fields ContainerId / ContainerRuntime filter in any event block', () => {
    const config = loadConfigText(`<Sysmon schemaversion="4.90"><EventFiltering>
      <RuleGroup name="" groupRelation="or">
        <ProcessCreate onmatch="include"><ContainerRuntime name="in-docker" condition="is">docker</ContainerRuntime></ProcessCreate>
      </RuleGroup>
      <RuleGroup name="" groupRelation="and">
        <FileCreate onmatch="include"><ContainerId condition="begin with">${HEX.slice(0, 12)}</ContainerId><TargetFilename condition="end with">.sh</TargetFilename></FileCreate>
      </RuleGroup>
    </EventFiltering></Sysmon>`);
    const c = { id: HEX, runtime: 'docker', cgroup: `/docker-${HEX}.scope` };
    const pc = (container?: typeof c): SysmonEvent => ({
      id: 1,
      recordId: 0,
      timeNs: 0n,
      data: { RuleName: '-', Image: '/bin/sh', CommandLine: 'sh' },
      container,
    });
    const inDocker = config.engine.evaluate(pc(c));
    assert.deepEqual(inDocker, { keep: true, ruleName: 'in-docker' });
    assert.equal(config.engine.evaluate(pc()).keep, false, 'host process: ContainerRuntime is "-"');
    const fc = (name: string, container?: typeof c): SysmonEvent => ({
      id: 11,
      recordId: 0,
      timeNs: 0n,
      data: { RuleName: '-', TargetFilename: name },
      container,
    });
    assert.equal(config.engine.evaluate(fc('/tmp/a.sh', c)).keep, true);
    assert.equal(config.engine.evaluate(fc('/tmp/a.txt', c)).keep, false);
    assert.equal(config.engine.evaluate(fc('/tmp/a.sh')).keep, false);
    // the journal payload and JSONL (encode, and read back by filter/convert) keep it
    const back = decodePayload(7, Buffer.from(payloadText(pc(c))));
    assert.deepEqual(back.container, c);
    assert.equal(decodePayload(7, Buffer.from(payloadText(pc()))).container, undefined);
    const line = encodeJsonl(pc(c), makeIdentity(false, 'h'));
    assert.match(line, /"Channel":"Linux-Sysmon\/Operational","Container":\{"Id":"[0-9a-f]{64}","Runtime":"docker","Cgroup":"[^"]+"\},"EventData":/);
    assert.deepEqual(eventFromJson(JSON.parse(line)).container, c);
    assert.ok(!encodeJsonl(pc(), makeIdentity(false, 'h')).includes('Container'));
    // a field that is neither the schema's nor an extension is Sysmon's unknown field: the block is skipped, with a warning
    const unknown = loadConfigText(
      '<Sysmon schemaversion="4.90"><EventFiltering><ProcessCreate onmatch="include"><NoSuchField>x</NoSuchField></ProcessCreate></EventFiltering></Sysmon>',
    );
    assert.equal(unknown.parsed.blocks.length, 0);
    assert.match(unknown.warnings[0]!, /unknown field NoSuchField/);
  });
});

const CGROUP2 = '/sys/fs/cgroup/unified';
const missing = missingKernelPrereq() ?? missingTool('unshare') ?? (existsSync(join(CGROUP2, 'cgroup.procs')) ? null : `no cgroup v2 hierarchy at ${CGROUP2}`);

describe('container context from the kernel', () => {
  let agent: AgentProcess;
  let dir: string;
  let cg: string;
  const id = randomBytes(32).toString('hex');

  before(async () => {
    if (missing) return;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-container-')));
    cg = join(CGROUP2, `docker-${id}.scope`);
    mkdirSync(cg);
    const config = join(dir, 'config.xml');
    // ProcessCreate and FileCreate logged; the extension field names the container's events
    writeFileSync(
      config,
      `<Sysmon schemaversion="4.90">
  <EventFiltering>
    <RuleGroup name="" groupRelation="or">
      <ProcessCreate onmatch="include"><ContainerRuntime name="container-exec" condition="is">docker</ContainerRuntime><Image condition="begin with">/</Image></ProcessCreate>
    </RuleGroup>
    <RuleGroup name="" groupRelation="or"><FileCreate onmatch="exclude"/></RuleGroup>
  </EventFiltering>
</Sysmon>
`,
    );
    agent = new AgentProcess(['-c', config], dir);
    await agent.start();
  });

  after(async () => {
    if (agent) assert.equal(await agent.stop(), 0, agent.stderr);
    if (cg && existsSync(cg)) rmdirSync(cg);
  });

  it('a process moved into docker-<id>.scope and unshared: its events carry Container; a host process: none', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const marker = `ctr-${process.pid}`;
    // the wrapper moves itself into the cgroup, then execs unshare (new PID + mount namespaces)
    const script = `echo $$ > ${cg}/cgroup.procs && exec unshare --fork --pid --mount-proc sh -c '/bin/echo ${marker} >/dev/null; touch ${dir}/${marker}.txt; sleep 0.3'`;
    const r = await runCommand('sh', ['-c', script]);
    assert.equal(r.code, 0);
    const _host = await runCommand('/bin/echo', [`host-${marker}`]);
    const isEcho = (arg: string) => (e: JsonEvent) => e.EventID === 1 && e.EventData.CommandLine === `/bin/echo ${arg}`;
    const [inner] = await agent.waitFor(isEcho(marker), 15_000, 'ProcessCreate in the container');
    const [outer] = await agent.waitFor(isEcho(`host-${marker}`), 15_000, 'ProcessCreate on the host');
    const ctr = (inner as unknown as { Container?: Record<string, string> }).Container;
    assert.deepEqual(ctr, { Id: id, Runtime: 'docker', Cgroup: `/docker-${id}.scope` });
    assert.equal(inner!.EventData.RuleName, 'container-exec', 'the config matched the ContainerRuntime extension field');
    // key order: Container right after Channel, EventData untouched
    assert.deepEqual(Object.keys(inner!), [
      'EventID',
      'EventName',
      'Version',
      'EventRecordID',
      'Computer',
      'TimeCreated',
      'Provider',
      'Channel',
      'Container',
      'EventData',
    ]);
    assert.ok(!('Container' in inner!.EventData));
    // unshare itself (the wrapper's pid after exec) and the file the container made
    const [un] = await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === r.pid && e.EventData.Image === '/usr/bin/unshare', 15_000, 'unshare');
    assert.equal((un as unknown as { Container?: { Id: string } }).Container?.Id, id);
    const [fc] = await agent.waitFor(
      (e) => e.EventID === 11 && e.EventData.TargetFilename === join(dir, `${marker}.txt`),
      15_000,
      'FileCreate in the container',
    );
    assert.equal((fc as unknown as { Container?: { Id: string } }).Container?.Id, id);
    // host: no Container key at all, and the extension field did not name it
    assert.ok(!('Container' in outer!), JSON.stringify(outer));
    assert.equal(outer!.EventData.RuleName, '-');
  });
});
