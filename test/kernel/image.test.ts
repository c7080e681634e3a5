// Live ImageLoad (7) and PipeEvent (17/18) from the real kernel: a program that dlopen()s a
// shared library built in the test's temp dir (Hashes checked), a file mapped without
// PROT_EXEC (no event), mkfifo and a second process opening the FIFO, a regular file (no 17),
// and a config without ImageLoad/PipeEvent (their programs are not attached).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';

const missing = missingKernelPrereq() ?? missingTool('cc', 'mkfifo');

function config(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `<Sysmon schemaversion="4.90">
  <HashAlgorithms>SHA1,MD5,SHA256</HashAlgorithms>
  <EventFiltering>
${body}
  </EventFiltering>
</Sysmon>
`,
  );
  return path;
}

function hashesOf(path: string): string {
  const b = readFileSync(path);
  return ['sha1', 'md5', 'sha256'].map((a) => `${a.toUpperCase()}=${createHash(a).update(b).digest('hex')}`).join(',');
}

const IMAGE_FIELDS = [
  'RuleName',
  'UtcTime',
  'ProcessGuid',
  'ProcessId',
  'Image',
  'ImageLoaded',
  'FileVersion',
  'Description',
  'Product',
  'Company',
  'OriginalFileName',
  'Hashes',
  'Signed',
  'Signature',
  'SignatureStatus',
  'User',
];
const PIPE_FIELDS = ['RuleName', 'EventType', 'UtcTime', 'ProcessGuid', 'ProcessId', 'PipeName', 'Image', 'User'];

describe('ImageLoad and PipeEvent from the kernel', () => {
  let agent: AgentProcess;
  let dir: string;

  before(async () => {
    if (missing) return;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-image-')));
    // a tiny shared object and a loader that maps a data file without PROT_EXEC, then dlopen()s it
    writeFileSync(join(dir, 'lib.c'), 'int sysmon_ts_answer(void) { return 42; }\n');
    writeFileSync(
      join(dir, 'loader.c'),
      `#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
  int fd = open(argv[2], O_RDONLY);
  void *m = mmap(0, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) return 2;
  void *h = dlopen(argv[1], RTLD_NOW);
  if (!h) { fprintf(stderr, "%s\\n", dlerror()); return 1; }
  int (*f)(void) = (int (*)(void))dlsym(h, "sysmon_ts_answer");
  usleep(300000);
  return f() == 42 ? 0 : 3;
}
`,
    );
    execFileSync('cc', ['-shared', '-fPIC', '-o', join(dir, 'libanswer.so'), join(dir, 'lib.c')]);
    execFileSync('cc', ['-o', join(dir, 'loader'), join(dir, 'loader.c'), '-ldl']);
    writeFileSync(join(dir, 'data.bin'), Buffer.alloc(8192, 7));
    const body = ['ImageLoad', 'PipeEvent', 'ProcessCreate']
      .map((t) => `    <RuleGroup name="" groupRelation="or"><${t} onmatch="exclude"/></RuleGroup>`)
      .join('\n');
    agent = new AgentProcess(['-c', config(dir, 'config.xml', body)], dir);
    await agent.start();
  });

  after(async () => {
    if (!agent) return;
    assert.equal(await agent.stop(), 0, agent.stderr);
  });

  it('dlopen() of a library: event 7 with ImageLoaded, Hashes, "-" for PE/signature fields; mmap without PROT_EXEC: none', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const lib = join(dir, 'libanswer.so');
    const data = join(dir, 'data.bin');
    const r = await runCommand(join(dir, 'loader'), [lib, data]);
    assert.equal(r.code, 0);
    const [e] = await agent.waitFor((x) => x.EventID === 7 && x.EventData.ImageLoaded === lib, 15_000, 'ImageLoad of libanswer.so');
    assert.equal(e!.EventName, 'ImageLoad');
    assert.equal(e!.Version, 3);
    const d = e!.EventData;
    assert.deepEqual(Object.keys(d), IMAGE_FIELDS);
    assert.equal(d.ProcessId, r.pid);
    assert.equal(d.Image, join(dir, 'loader'));
    assert.equal(d.Hashes, hashesOf(lib));
    for (const f of ['FileVersion', 'Description', 'Product', 'Company', 'OriginalFileName', 'Signed', 'Signature', 'SignatureStatus'])
      assert.equal(d[f], '-', f);
    assert.equal(d.User, 'root');
    assert.match(String(d.ProcessGuid), /^\{[0-9a-f-]{36}\}$/);
    // the loader's own start-up: ld.so mapped libc executable too
    await agent.waitFor(
      (x) => x.EventID === 7 && x.EventData.ProcessId === r.pid && /\/libc\.so\.6$/.test(String(x.EventData.ImageLoaded)),
      15_000,
      'libc ImageLoad',
    );
    // the data file was mapped read-only before the dlopen (same thread: its record came first)
    assert.equal(agent.events().filter((x) => x.EventID === 7 && x.EventData.ImageLoaded === data).length, 0, 'no ImageLoad for a PROT_READ mapping');
    assert.ok(!('Container' in e!), 'host process: no Container key');
  });

  it('python3 ctypes.CDLL("libm.so.6"): event 7 for libm in that process', async (t) => {
    if (!requirePrereq(t, missing ?? missingTool('python3'))) return;
    const r = await runCommand('python3', ['-c', 'import ctypes, time; ctypes.CDLL("libm.so.6"); time.sleep(0.2)']);
    assert.equal(r.code, 0);
    const [e] = await agent.waitFor(
      (x) => x.EventID === 7 && /\/libm\.so\.6$/.test(String(x.EventData.ImageLoaded)) && x.EventData.ProcessId === r.pid,
      20_000,
      'ImageLoad of libm',
    );
    assert.match(String(e!.EventData.Hashes), /^SHA1=[0-9a-f]{40},MD5=[0-9a-f]{32},SHA256=[0-9a-f]{64}$/);
  });

  it('mkfifo -> 17 CreatePipe; another process opening it -> 18 ConnectPipe; a regular file -> no 17', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const fifo = join(dir, 'the-fifo');
    const mk = await runCommand('mkfifo', [fifo]);
    assert.equal(mk.code, 0);
    const [c] = await agent.waitFor((x) => x.EventID === 17 && x.EventData.PipeName === fifo, 15_000, 'Pipe Created');
    assert.deepEqual(Object.keys(c!.EventData), PIPE_FIELDS);
    assert.equal(c!.EventName, 'PipeEvent');
    assert.equal(c!.EventData.EventType, 'CreatePipe');
    assert.equal(c!.EventData.ProcessId, mk.pid);
    assert.equal(c!.EventData.Image, '/usr/bin/mkfifo');
    // a reader (cat) and a writer (sh's redirection), relative path from the fifo's directory
    const reader = spawn('cat', ['the-fifo'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    // listen before the writer runs: cat may be gone by the time the writer's promise resolves
    const readerExit = new Promise((r) => reader.once('exit', r));
    const writer = await runCommand('sh', ['-c', 'echo hello > the-fifo'], { cwd: dir });
    assert.equal(writer.code, 0);
    await readerExit;
    const opens = await agent.waitFor((x) => x.EventID === 18 && x.EventData.PipeName === fifo, 15_000, 'Pipe Connected x2', 2);
    const pids = new Set(opens.map((x) => x.EventData.ProcessId));
    assert.ok(pids.has(reader.pid!), 'reader connected');
    assert.ok(pids.has(writer.pid), 'writer connected');
    for (const o of opens) {
      assert.deepEqual(Object.keys(o.EventData), PIPE_FIELDS);
      assert.equal(o.EventData.EventType, 'ConnectPipe');
    }
    // negative: a regular file made with mknod/touch is no pipe; then a sentinel FIFO
    const regular = join(dir, 'regular');
    await runCommand('touch', [regular]);
    await runCommand('mknod', [join(dir, 'sentinel-fifo'), 'p']);
    await agent.waitFor((x) => x.EventID === 17 && x.EventData.PipeName === join(dir, 'sentinel-fifo'), 15_000, 'sentinel fifo');
    assert.equal(agent.events().filter((x) => (x.EventID === 17 || x.EventID === 18) && x.EventData.PipeName === regular).length, 0);
    // anonymous pipes (a shell pipeline) are no FIFOs
    assert.equal(agent.events().filter((x: JsonEvent) => x.EventID === 18 && x.EventData.PipeName === '/').length, 0);
  });
});

describe('ImageLoad and PipeEvent off (Sysmon default)', () => {
  it('their programs are not attached: the agent log lists the attached programs', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-image-off-')));
    const agent = new AgentProcess(['-c', config(dir, 'off.xml', '')], dir);
    await agent.start();
    try {
      const line = agent.stderr.split('\n').find((l) => l.includes('"driver attached"'));
      assert.ok(line, `no "driver attached" log line in:\n${agent.stderr}`);
      const programs = (JSON.parse(line!) as { programs: string[] }).programs;
      assert.ok(programs.includes('process_exec'), programs.join());
      assert.ok(programs.includes('container_attach'), 'container context is always on');
      assert.deepEqual(
        programs.filter((p) => p.startsWith('image_') || p.startsWith('pipe_')),
        [],
      );
      // and nothing is reported for a dlopen
      const lib = realpathSync('/usr/lib/x86_64-linux-gnu/libm.so.6');
      await runCommand('python3', ['-c', 'import ctypes; ctypes.CDLL("libm.so.6")']);
      const marker = await runCommand('/bin/true', ['image-off-sentinel']);
      await agent.waitFor((x) => x.EventID === 1 && x.EventData.ProcessId === marker.pid, 15_000, 'sentinel ProcessCreate');
      assert.equal(agent.events().filter((x) => x.EventID === 7 || x.EventID === 17 || x.EventID === 18).length, 0, lib);
    } finally {
      assert.equal(await agent.stop(), 0, agent.stderr);
    }
  });
});
