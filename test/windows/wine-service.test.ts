// The service program (driver/windows/service/sysmon-ts-service.exe, mingw-w64) under Wine's
// Service Control Manager: sc.exe create with the binPath -i builds (the service program, its
// log, the agent with --stop-on-stdin-close), start, query, stop, delete. The agent runs as the
// service's child on a ring a harness hands it in a named section; the test checks it really
// ran (its events), that SERVICE_CONTROL_STOP ends in a clean stop (event 4 Stopped, exit 0,
// SERVICE_STOPPED with NO_ERROR), that an agent that fails is reported with its exit code
// (1066 ERROR_SERVICE_SPECIFIC_ERROR + the code), and what Wine's sc.exe does not implement.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { windowsCommandLine, windowsInstallPlan, type PlanStep } from '../../src/commands/install-windows.js';
import { missingTool, requirePrereq } from '../helpers/prereq.js';
import { SectionProducer } from './ring-producer.js';
import * as R from './records.js';
import { HELPERS, NODE_EXE, PREFIX, REPO, keepWineserver, requireWine, startWine, waitForFile, wine, winPath } from './wine-env.js';

const SERVICE_DIR = join(REPO, 'driver', 'windows', 'service');
const SERVICE_EXE = join(SERVICE_DIR, 'build', 'sysmon-ts-service.exe');
const NAME = `sysmon-ts-test-${process.pid}`;
let dir = '';
before(() => {
  keepWineserver();
  dir = mkdtempSync(join(tmpdir(), 'wine service-'));
}); // a space in every path the service gets
after(() => {
  wine(['sc', 'stop', NAME]);
  wine(['sc', 'delete', NAME]);
  rmSync(dir, { recursive: true, force: true });
});

function buildService(t: import('node:test').TestContext): boolean {
  if (!requireWine(t) || !requirePrereq(t, missingTool('x86_64-w64-mingw32-gcc', 'make'))) return false;
  const r = spawnSync('make', ['-s', '-C', SERVICE_DIR], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make -C driver/windows/service: ${r.stderr}`);
  return true;
}

interface Query {
  state: string;
  win32: number;
  specific: number;
}
function query(): Query | null {
  const r = wine(['sc', 'query', NAME]);
  if (r.status !== 0) return null;
  const field = (f: string) => new RegExp(`${f}\\s*:\\s*(\\d+)\\s*(\\w*)`).exec(r.stdout);
  return { state: field('STATE')![2]!, win32: Number(field('WIN32_EXIT_CODE')![1]), specific: Number(field('SERVICE_EXIT_CODE')![1]) };
}

async function waitForState(state: string, timeoutMs: number, log: string): Promise<Query> {
  const until = Date.now() + timeoutMs;
  let q = query();
  while (q?.state !== state && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    q = query();
  }
  assert.equal(q?.state, state, `service ${NAME} is ${JSON.stringify(q)}, not ${state}; log:\n${existsSync(log) ? readFileSync(log, 'utf8') : '(none)'}`);
  return q!;
}

/** Removes what -i leaves in the prefix when it stops at fltmc (Wine has none). */
function removeInstall(): void {
  wine(['sc', 'delete', 'SysmonTs']);
  rmSync(join(PREFIX, 'drive_c', 'ProgramData', 'sysmon-ts'), { recursive: true, force: true });
  rmSync(join(PREFIX, 'drive_c', 'windows', 'system32', 'drivers', 'sysmon-ts.sys'), { force: true });
}

const readEvents = (f: string): { EventID: number; EventData: Record<string, unknown> }[] =>
  existsSync(f)
    ? readFileSync(f, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
    : [];

describe("the service program under Wine's service manager", () => {
  it('refuses to run outside the service manager', (t) => {
    if (!buildService(t)) return;
    const r = wine([SERVICE_EXE, '--log', winPath(join(dir, 'x.log')), '--', 'cmd.exe']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sysmon-ts-service: this program is started by the Service Control Manager \(sc\.exe start sysmon-ts\), not from a shell/);
  });

  it('create, start (the agent runs and drains its ring), stop (event 4 Stopped, exit 0), delete', async (t) => {
    if (!buildService(t)) return;
    const data = join(dir, 'data dir');
    mkdirSync(data);
    const exe = join(data, 'sysmon-ts-service.exe');
    copyFileSync(SERVICE_EXE, exe);
    writeFileSync(
      join(data, 'config.xml'),
      '<Sysmon schemaversion="4.91"><EventFiltering><RuleGroup groupRelation="or"><ProcessCreate onmatch="exclude"/></RuleGroup></EventFiltering></Sysmon>',
    );
    const producer = new SectionProducer(1 << 16);
    assert.ok(producer.output(R.winProcess(4321, '\\Device\\HarddiskVolume1\\windows\\system32\\svchost.exe', 'svchost.exe -k netsvcs', { startKey: 0x777n })));
    writeFileSync(join(data, 'ring.img'), new Uint8Array(producer.section));
    const section = `Global\\sysmon-ts-svc-${process.pid}`;
    const ready = join(dir, 'ready'),
      stop = join(dir, 'stop'),
      harnessLog = join(dir, 'harness.log');
    const harness = startWine(
      [NODE_EXE, join(HELPERS, 'ring-harness.mjs'), winPath(ready), winPath(stop), section, winPath(join(data, 'ring.img'))],
      harnessLog,
    );
    const log = join(data, 'service.log'),
      events = join(data, 'events.jsonl');
    try {
      await waitForFile(ready, 30_000, harnessLog);
      // the binPath as -i builds it (same quoting), pointed at this test's files
      const agent = [
        winPath(NODE_EXE),
        winPath(join(REPO, 'src', 'bin.js')),
        'run',
        '--windows',
        '--config',
        winPath(join(data, 'config.xml')),
        '--journal',
        winPath(join(data, 'journal')),
        '--jsonl',
        winPath(events),
        '--no-console',
        '--stop-on-stdin-close',
        '--ring-section',
        section,
      ];
      const binPath = windowsCommandLine([winPath(exe), '--log', winPath(log), '--', ...agent]);
      const created = wine(['sc', 'create', NAME, 'binPath=', binPath, 'type=', 'own', 'start=', 'demand', 'DisplayName=', NAME]);
      assert.equal(created.status, 0, created.stdout + created.stderr);
      assert.deepEqual(query(), { state: 'STOPPED', win32: 1077, specific: 0 }); // 1077: never started

      assert.equal(wine(['sc', 'start', NAME]).status, 0);
      await waitForState('RUNNING', 30_000, log);
      // running for real: it read its ring and wrote the process create (as the service's child)
      const until = Date.now() + 30_000;
      while (!readEvents(events).some((e) => e.EventID === 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
      const create = readEvents(events).find((e) => e.EventID === 1);
      assert.deepEqual(
        [create?.EventData.Image, create?.EventData.CommandLine],
        ['C:\\windows\\system32\\svchost.exe', 'svchost.exe -k netsvcs'],
        readFileSync(log, 'utf8'),
      );
      assert.equal((await waitForState('RUNNING', 1000, log)).state, 'RUNNING');

      assert.equal(wine(['sc', 'stop', NAME]).status, 0);
      assert.deepEqual(await waitForState('STOPPED', 40_000, log), { state: 'STOPPED', win32: 0, specific: 0 });
      const evs = readEvents(events);
      // the configuration (16) first, then 4 Started, as the agent orders them at start
      assert.deepEqual(
        evs.map((e) => e.EventID),
        [16, 4, 1, 4],
      );
      assert.equal(evs.at(-1)!.EventData.State, 'Stopped');
      const text = readFileSync(log, 'utf8');
      assert.match(text, /sysmon-ts-service: agent started \(pid \d+\): /);
      assert.ok(text.includes(`--journal "${winPath(join(data, 'journal'))}"`), 'the agent got its arguments with spaces quoted');
      assert.match(text, /sysmon-ts-service: stop requested \(control 1\)\r\n/);
      assert.match(text, /"signal":"standard input closed","msg":"stopping"/);
      assert.match(text, /sysmon-ts-service: agent exited with code 0\r\n/);
      assert.ok(existsSync(join(data, 'journal')), 'the journal path with a space reached the agent');

      // an agent that fails at start (no such section): the service stops by itself with its code
      const bad = windowsCommandLine([winPath(exe), '--log', winPath(log), '--', ...agent.slice(0, -1), `${section}-missing`]);
      assert.equal(wine(['sc', 'delete', NAME]).status, 0);
      assert.equal(query(), null, 'deleted');
      assert.equal(wine(['sc', 'create', NAME, 'binPath=', bad, 'start=', 'demand']).status, 0);
      assert.equal(wine(['sc', 'start', NAME]).status, 0);
      assert.deepEqual(await waitForState('STOPPED', 40_000, log), { state: 'STOPPED', win32: 1066, specific: 2 });
      assert.match(
        readFileSync(log, 'utf8'),
        /OpenFileMappingW\(Global\\sysmon-ts-svc-\d+-missing\) failed \(error 2\)[\s\S]*agent exited with code 2 \(not asked to stop\)/,
      );
    } finally {
      writeFileSync(stop, '');
      await harness.stop();
    }
    assert.equal(wine(['sc', 'delete', NAME]).status, 0);
    assert.equal(query(), null);
  });

  it('terminates an agent that does not stop in time, and reports it; refuses a bad command line', async (t) => {
    if (!buildService(t)) return;
    wine(['sc', 'delete', NAME]);
    const log = join(dir, 'stubborn.log');
    // a child that never reads its stdin, so closing it does not stop it
    const stubborn = windowsCommandLine([
      winPath(SERVICE_EXE),
      '--log',
      winPath(log),
      '--stop-timeout-ms',
      '2000',
      '--',
      winPath(NODE_EXE),
      '-e',
      'setInterval(() => {}, 1000)',
    ]);
    assert.equal(wine(['sc', 'create', NAME, 'binPath=', stubborn, 'start=', 'demand']).status, 0);
    assert.equal(wine(['sc', 'start', NAME]).status, 0);
    await waitForState('RUNNING', 30_000, log);
    const stopAt = Date.now();
    assert.equal(wine(['sc', 'stop', NAME]).status, 0);
    assert.deepEqual(await waitForState('STOPPED', 30_000, log), { state: 'STOPPED', win32: 1066, specific: 0x5354 });
    assert.ok(Date.now() - stopAt >= 2000, 'waited the stop timeout first');
    assert.match(
      readFileSync(log, 'utf8'),
      /stop requested \(control 1\)\r\n.*agent did not stop within 2000 ms: terminating it\r\n.*agent exited with code 21332\r\n/s,
    );
    assert.equal(wine(['sc', 'delete', NAME]).status, 0);

    const badLog = join(dir, 'bad.log');
    const bad = windowsCommandLine([winPath(SERVICE_EXE), '--log', winPath(badLog), '--stop-timeout-ms', '0', '--', 'cmd.exe']);
    assert.equal(wine(['sc', 'create', NAME, 'binPath=', bad, 'start=', 'demand']).status, 0);
    wine(['sc', 'start', NAME]);
    assert.deepEqual(await waitForState('STOPPED', 30_000, badLog), { state: 'STOPPED', win32: 1066, specific: 1 });
    assert.match(
      readFileSync(badLog, 'utf8'),
      /sysmon-ts-service: usage: sysmon-ts-service\.exe \[--log FILE\] \[--stop-timeout-ms 1\.\.600000\] -- COMMAND \[ARGS\.\.\.\]\r\n$/,
    );
    assert.equal(wine(['sc', 'delete', NAME]).status, 0);
  });

  it("-i's sc.exe steps: what Wine's sc.exe accepts", (t) => {
    if (!buildService(t)) return;
    // the plan's own service commands, for a test service name (driver steps and start left out:
    // Wine cannot load the driver). Wine's sc.exe exits 1 on every failure (Windows: the error code)
    wine(['sc', 'stop', NAME]);
    wine(['sc', 'delete', NAME]); // whatever an earlier test left
    const plan = windowsInstallPlan({ config: 'C:\\x.xml', env: { ProgramData: 'C:\\ProgramData' }, nodeExe: winPath(NODE_EXE), checkout: winPath(REPO) });
    const scSteps = plan.filter((s): s is Extract<PlanStep, { kind: 'run' }> => s.kind === 'run' && s.argv[0] === 'sc.exe' && s.argv[1] !== 'start');
    const results = scSteps.map((s) => [s.argv[1], wine(['sc', s.argv[1]!, NAME, ...s.argv.slice(3)]).status]);
    wine(['sc', 'delete', NAME]);
    assert.deepEqual(results, [
      ['create', 0],
      ['config', 1],
      ['description', 0],
      ['failure', 0],
      ['failureflag', 1],
    ]);
  });

  it("-i runs its plan until fltmc.exe, which Wine lacks; the INF installs the driver service; -u stops at Wine's sc.exe exit code", (t) => {
    if (!buildService(t)) return;
    const driver = spawnSync('make', ['-s', '-C', join(REPO, 'driver', 'windows')], { encoding: 'utf8' });
    assert.equal(driver.status, 0, driver.stderr);
    removeInstall();
    try {
      const install = wine([NODE_EXE, join(REPO, 'src', 'bin.js'), '-i'], { timeoutMs: 120_000 });
      assert.equal(install.status, 1, install.stdout + install.stderr);
      const lines = install.stdout.trim().split('\n');
      assert.equal(lines.length, 13, install.stdout);
      assert.deepEqual(
        lines.slice(0, 12).map((l) => /^\[(\d+)\/19\] ok: /.exec(l)?.[1]),
        Array.from({ length: 12 }, (_, i) => String(i + 1)),
        install.stdout,
      );
      assert.equal(lines[12], '[13/19] failed: fltmc.exe load SysmonTs (loads it now (0x801F0007: already loaded)): exit none: spawnSync fltmc.exe ENOENT');
      const base = join(PREFIX, 'drive_c', 'ProgramData', 'sysmon-ts');
      assert.ok(readFileSync(join(base, 'bin', 'sysmon-ts-service.exe')).equals(readFileSync(SERVICE_EXE)), 'the service program is installed');
      assert.equal(readFileSync(join(base, 'config.xml'), 'utf8'), readFileSync(join(REPO, 'src', 'config', 'default.xml'), 'utf8'));
      // Wine's setupapi ran the INF: the minifilter's service, as Windows would register it
      const reg = wine(['reg', 'query', 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\SysmonTs']);
      const value = (name: string) => new RegExp(`^\\s+${name}\\s+REG_\\w+\\s+(.*?)\\r?$`, 'm').exec(reg.stdout)?.[1];
      assert.deepEqual(
        ['Type', 'Start', 'ErrorControl', 'Group', 'ImagePath'].map(value),
        ['0x2', '0x3', '0x1', 'FSFilter Activity Monitor', 'C:\\windows\\system32\\drivers\\sysmon-ts.sys'],
        reg.stdout,
      );
      assert.ok(
        readFileSync(join(PREFIX, 'drive_c', 'windows', 'system32', 'drivers', 'sysmon-ts.sys')).equals(
          readFileSync(join(REPO, 'driver', 'windows', 'build', 'sysmon-ts.sys')),
        ),
      );
      // -u: Wine's sc.exe exits 1 for "not installed" where Windows' exits 1060, which the plan accepts
      const uninstall = wine([NODE_EXE, join(REPO, 'src', 'bin.js'), '-u'], { timeoutMs: 60_000 });
      assert.equal(uninstall.status, 1);
      assert.equal(uninstall.stdout.trim(), '[1/7] failed: sc.exe stop sysmon-ts (stop the service (1060: not installed, 1062: not running)): exit 1 (0x1)');
    } finally {
      removeInstall();
    }
  });
});
