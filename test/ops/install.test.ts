// `-i` / `-u` into a temporary root (--root), the generated unit checked by systemd-analyze
// verify, and the unit's own command run directly (there is no running systemd here) under the
// unit's capability bounding set: it starts the agent (event 4 in its JSONL), `status` reports
// it, `-c FILE` replaces the installed config and the agent reloads it, a config made
// world-writable is refused on reload (event 255), `-u` stops it and removes the install,
// keeping data unless --purge.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installedPaths, runInstall, runUninstall, verifyUnit } from '../../src/commands/install.js';
import { COMPILED_CLI, cliCommand, ROOT } from '../../src/paths.js';
import { AGENT_NODE_FLAGS } from '../../src/agent-node-flags.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';
import type { JsonEvent } from '../helpers/agent.js';

const isRoot = process.getuid?.() === 0;

function cli(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
}

/** The [Service] settings of a unit file: key -> values (in order). */
function unitSettings(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const x = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (x) m.set(x[1]!, [...(m.get(x[1]!) ?? []), x[2]!]);
  }
  return m;
}

/** systemd's word splitting for ExecStart (double quotes and backslashes; enough for our units). */
function splitExec(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

function mode(p: string): number {
  return statSync(p).mode & 0o777;
}

describe('install / uninstall in a temporary root', () => {
  let root: string;
  let output = '';
  const out = {
    write: (s: string) => {
      output += s;
    },
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sysmon-ts-root-'));
  });

  it('-i writes the unit, the config (0600 root), data 0700, logs 0750, and says how to start it', (t) => {
    if (!isRoot) {
      requirePrereq(t, 'not root (install writes root-owned files)');
      return;
    }
    assert.equal(runInstall({ root, out }), 0);
    const p = installedPaths(root);
    assert.equal(mode(p.config), 0o600);
    assert.equal(statSync(p.config).uid, 0);
    assert.equal(mode(p.dataDir), 0o700);
    assert.equal(mode(p.journal), 0o700);
    assert.equal(mode(p.logDir), 0o750);
    assert.equal(mode(p.unit), 0o644);
    assert.equal(readlinkSync(p.wants), '../sysmon-ts.service');
    assert.ok(statSync(p.bin).mode & 0o100);
    const unit = unitSettings(readFileSync(p.unit, 'utf8'));
    assert.deepEqual(unit.get('Restart'), ['always']);
    assert.match(unit.get('CapabilityBoundingSet')![0]!, /\bCAP_BPF\b.*\bCAP_PERFMON\b/);
    assert.deepEqual(unit.get('ProtectSystem'), ['strict']);
    assert.deepEqual(unit.get('NoNewPrivileges'), ['yes']);
    const exec = splitExec(unit.get('ExecStart')![0]!);
    assert.equal(exec[0], process.execPath);
    // the compiled CLI that driver/setup.sh built (npm test runs it first), else tsx + sources
    assert.deepEqual(exec.slice(0, cliCommand().length + 1), [...cliCommand(), 'run']);
    if (process.env.CI === 'true')
      assert.equal(exec[1 + AGENT_NODE_FLAGS.length], COMPILED_CLI, 'set-up compiles the agent: the unit runs dist/ (after the agent node flags)');
    assert.equal(exec[exec.indexOf('--config') + 1], p.config);
    assert.match(output, new RegExp(`events +${p.jsonl.replace(/[.]/g, '\\.')}`));
    assert.match(output, /systemd is not running here.*\nStart it by hand \(as root\):\n {2}cd /);
  });

  it('the generated unit passes systemd-analyze verify (and a broken one does not)', (t) => {
    if (!isRoot) {
      requirePrereq(t, 'not root');
      return;
    }
    if (!requirePrereq(t, missingTool('systemd-analyze'))) return;
    const p = installedPaths(root);
    assert.equal(verifyUnit(p.unit), null);
    const broken = join(root, 'broken.service');
    writeFileSync(broken, readFileSync(p.unit, 'utf8').replace('ProtectSystem=strict', 'ProtectSystem=sometimes'));
    assert.match(String(verifyUnit(broken)), /protect system|ProtectSystem/i);
  });

  it('-u removes the install and keeps the data; -u --purge removes the data', (t) => {
    if (!isRoot) {
      requirePrereq(t, 'not root');
      return;
    }
    const p = installedPaths(root);
    writeFileSync(join(p.logDir, 'events.jsonl'), '');
    output = '';
    assert.equal(runUninstall({ root, out }), 0);
    for (const f of [p.unit, p.config, p.bin]) assert.equal(existsSync(f), false, f);
    assert.throws(() => lstatSync(p.wants));
    assert.ok(existsSync(p.journal) && existsSync(join(p.logDir, 'events.jsonl')));
    assert.match(output, /uninstalled; kept the journal/);
    assert.equal(runUninstall({ root, out, purge: true }), 1, 'nothing left to uninstall');
    assert.equal(existsSync(p.dataDir) || existsSync(p.logDir), false);
  });

  it('the CLI accepts -accepteula -nologo -i CONFIG --root, refuses a broken config, and -u --purge', (t) => {
    if (!isRoot) {
      requirePrereq(t, 'not root');
      return;
    }
    const r2 = mkdtempSync(join(tmpdir(), 'sysmon-ts-root-'));
    const bad = join(r2, 'bad.xml');
    writeFileSync(bad, '<Sysmon schemaversion="4.91">\n<EventFiltering/>\n<HashAlgorithms>crc32</HashAlgorithms>\n</Sysmon>\n');
    const b = cli({}, '-accepteula', '-i', bad, '--root', r2);
    assert.notEqual(b.status, 0);
    assert.match(b.stderr, /bad\.xml:3/);
    assert.equal(existsSync(installedPaths(r2).unit), false, 'nothing installed with a broken config');
    const good = join(r2, 'good.xml');
    writeFileSync(good, '<Sysmon schemaversion="4.91"><EventFiltering/></Sysmon>\n');
    const r = cli({}, '-accepteula', '-nologo', '-i', good, '--root', r2);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(installedPaths(r2).config, 'utf8'), readFileSync(good, 'utf8'));
    const u = cli({ SYSMON_TS_ROOT: r2 }, '-u', '--purge');
    assert.equal(u.status, 0, u.stderr);
    assert.match(u.stdout, /purged/);
  });
});

describe('the installed service command, run directly', () => {
  let root: string;
  let child: ChildProcess | null = null;
  let stderr = '';
  let env: Record<string, string> = {};
  const missing = missingKernelPrereq();

  const events = (): JsonEvent[] => {
    const f = installedPaths(root).jsonl;
    if (!existsSync(f)) return [];
    return readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as JsonEvent);
  };
  async function waitFor(pred: (e: JsonEvent) => boolean, what: string, ms = 20_000): Promise<JsonEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = events().find(pred);
      if (hit) return hit;
      if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(`service exited (${child.exitCode}) waiting for ${what}:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    if (missing) return;
    root = mkdtempSync(join(tmpdir(), 'sysmon-ts-svc-'));
    runInstall({ root, out: { write: () => undefined } });
    const unit = unitSettings(readFileSync(installedPaths(root).unit, 'utf8'));
    env = Object.fromEntries(
      unit.get('Environment')!.map((e) => {
        const s = e.replace(/^"|"$/g, '');
        const i = s.indexOf('=');
        return [s.slice(0, i), s.slice(i + 1)];
      }),
    );
    const argv = splitExec(unit.get('ExecStart')![0]!);
    // the unit's capability bounding set and no_new_privs, applied with setpriv where available
    const caps = unit
      .get('CapabilityBoundingSet')![0]!
      .split(/\s+/)
      .map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`);
    const wrap = missingTool('setpriv') ? [] : ['setpriv', `--bounding-set=-all,${caps.join(',')}`, '--no-new-privs'];
    const cmd = [...wrap, ...argv];
    child = spawn(cmd[0]!, cmd.slice(1), {
      cwd: unit.get('WorkingDirectory')![0]!,
      env: { ...process.env, ...env, SYSMON_TS_STATS_FILE_MS: '500' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
  });

  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
    }
  });

  it('starts the agent (event 4 Started in the installed JSONL, 0640)', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const e = await waitFor((x) => x.EventID === 4 && x.EventData.State === 'Started', 'event 4');
    // Sysmon for Linux's start-up order: the configuration (16) first, then 4 Started
    const c = await waitFor((x) => x.EventID === 16 && x.EventData.Configuration === installedPaths(root).config, 'event 16');
    assert.deepEqual([c.EventRecordID, e.EventRecordID], [1, 2]);
    assert.equal(mode(installedPaths(root).jsonl), 0o640);
  });

  it('status: running, config path and hash, events/s by ID, drops, sink lag, journal size', async (t) => {
    if (!requirePrereq(t, missing)) return;
    spawnSync('/bin/true');
    await new Promise((r) => setTimeout(r, 1500)); // a stats tick
    const r = cli(env, 'status');
    assert.equal(r.status, 0, r.stderr);
    const p = installedPaths(root);
    assert.match(r.stdout, new RegExp(`^sysmon-ts: running \\(pid ${child!.pid}\\)`));
    assert.match(r.stdout, new RegExp(`config: ${p.config.replace(/[.]/g, '\\.')}  SHA256=[0-9A-F]{64}`));
    assert.match(r.stdout, /service unit: .*sysmon-ts\.service \(installed\)/);
    assert.match(r.stdout, /event +1 ProcessCreate +[\d.]+ \/s +\d+ total/);
    assert.match(r.stdout, /event +4 Sysmon service state changed/);
    assert.match(r.stdout, /drops: kernel ring \d+, decoder rejects \d+, sink losses 0/);
    assert.match(r.stdout, /jsonl +ok +lag \d+ records/);
    assert.match(r.stdout, /journal: .*[\d.]+ [KM]iB in \d+ segment\(s\), records 1-\d+/);
    const j = JSON.parse(cli(env, 'status', '--json').stdout) as { running: boolean; stats: { totalById: Record<string, number> }; config: { sha256: string } };
    assert.equal(j.running, true);
    assert.ok(j.stats.totalById['1']! > 0);
  });

  it('-c FILE replaces the installed config (0600) and the agent reloads it; a world-writable one is refused on reload', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const p = installedPaths(root);
    const next = join(root, 'next.xml');
    writeFileSync(
      next,
      '<Sysmon schemaversion="4.91">\n<EventFiltering>\n<RuleGroup groupRelation="or"><ProcessCreate onmatch="include"><Image condition="end with">/nothing-matches</Image></ProcessCreate></RuleGroup>\n</EventFiltering>\n</Sysmon>\n',
    );
    const r = cli(env, '-c', next);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Configuration updated: .*config\.xml replaced by .*next\.xml/);
    assert.equal(readFileSync(p.config, 'utf8'), readFileSync(next, 'utf8'));
    assert.equal(mode(p.config), 0o600);
    const before16 = events().filter((e) => e.EventID === 16).length;
    await waitFor((e) => e.EventID === 16 && events().filter((x) => x.EventID === 16).length > before16, 'event 16 after -c');
    const shown = cli(env, '-c');
    assert.match(shown.stdout, /nothing-matches/);
    chmodSync(p.config, 0o666);
    child!.kill('SIGHUP');
    const err = await waitFor((e) => e.EventID === 255 && String(e.EventData.Description).includes('refusing config'), 'event 255 refusing config');
    assert.match(String(err.EventData.Description), /lets everybody change it/);
    chmodSync(p.config, 0o600);
  });

  it('-u stops the running agent (event 4 Stopped) and removes the install', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = cli(env, '-u');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /stopping sysmon-ts \(pid \d+\)/);
    await waitFor((e) => e.EventID === 4 && e.EventData.State === 'Stopped', 'event 4 Stopped');
    assert.equal(existsSync(installedPaths(root).unit), false);
    const s = cli(env, 'status');
    assert.equal(s.status, 3);
    assert.match(s.stdout, /NOT running/);
    assert.match(s.stdout, /journal: .*records 1-\d+/);
  });
});
