// Live process events from the real kernel: ProcessCreate (1) and ProcessTerminate (5)
// fields, hostile command lines, pre-existing processes, and 2,000 processes with no loss.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

const GUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/;
const machinePrefix = readFileSync('/etc/machine-id', 'utf8').trim().slice(0, 8);
const missing = missingKernelPrereq();

/** the tty index of this test's controlling terminal (inherited by its children), 8 hex digits LE; 0 without one */
function ownTtyIndexLE(): string {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const ttyNr = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[4]);
  const major = (ttyNr >> 8) & 0xfff;
  const minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00);
  const index = ttyNr === 0 || !((major >= 136 && major <= 143) || major === 4) ? 0 : major === 4 ? minor : (major - 136) * 256 + minor;
  return [0, 8, 16, 24].map((s) => ((index >>> s) & 0xff).toString(16).padStart(2, '0')).join('');
}

function cmdlineOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0').join(' ');
}

describe('process events from the kernel', () => {
  let agent: AgentProcess;
  // a process that exists before the monitor starts and forks a child after it started
  let elder: ReturnType<typeof spawn>;

  before(async () => {
    if (missing) return;
    elder = spawn('/bin/sh', ['-c', 'read line; /usr/bin/true elder-child-marker'], { stdio: ['pipe', 'ignore', 'ignore'] });
    agent = new AgentProcess();
    await agent.start();
  });

  after(async () => {
    elder?.kill();
    if (!agent) return;
    const code = await agent.stop();
    assert.equal(code, 0, `agent exit code, stderr:\n${agent.stderr}`);
    const stopped = agent.events().filter((e) => e.EventID === 4 && e.EventData.State === 'Stopped');
    assert.equal(stopped.length, 1, 'event 4 Stopped written once on Ctrl-C');
  });

  it('logs the exact ProcessCreate and ProcessTerminate fields of a child', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const cwd = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-cwd-')));
    const r = await runCommand('/bin/sh', ['-c', 'exec /usr/bin/env printf "%s" "a b" "c\\"d"'], { cwd });
    assert.equal(r.stdout, 'a bc"d');
    const pid = r.pid;
    const creates = await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === pid, 15_000, 'three execs of the child', 3);
    const [sh, env, printf] = creates as [JsonEvent, JsonEvent, JsonEvent];
    assert.equal(sh.EventData.Image, realpathSync('/bin/sh'));
    assert.equal(sh.EventData.CommandLine, '/bin/sh -c exec /usr/bin/env printf "%s" "a b" "c\\"d"');
    assert.equal(env.EventData.Image, '/usr/bin/env');
    assert.equal(env.EventData.CommandLine, '/usr/bin/env printf %s a b c"d');
    assert.equal(printf.EventData.Image, '/usr/bin/printf');
    assert.equal(printf.EventData.CommandLine, 'printf %s a b c"d');
    const parentImage = realpathSync(process.execPath);
    for (const e of creates) {
      const d = e.EventData;
      assert.equal(e.EventName, 'ProcessCreate');
      assert.equal(e.Version, 5);
      assert.equal(e.Provider, 'Linux-Sysmon');
      assert.equal(d.ProcessId, pid);
      assert.equal(d.CurrentDirectory, cwd);
      assert.equal(d.User, 'root');
      assert.equal(d.ParentProcessId, process.pid);
      assert.equal(d.ParentImage, parentImage);
      assert.equal(d.ParentCommandLine, cmdlineOf(process.pid));
      assert.equal(d.ParentUser, 'root');
      assert.match(String(d.ProcessGuid), GUID);
      assert.match(String(d.ParentProcessGuid), GUID);
      assert.ok(String(d.ProcessGuid).startsWith(`{${machinePrefix}-`), 'ProcessGuid starts with the machine id');
      assert.equal(d.IntegrityLevel, 'no level');
      assert.equal(d.RuleName, '-');
      assert.match(String(d.UtcTime), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
      // Sysmon for Linux: the real uid & 0xffff in decimal; the audit session, 4294967295 when unset
      assert.equal(d.LogonId, '0');
      assert.equal(d.TerminalSessionId, Number(readFileSync('/proc/self/sessionid', 'utf8')));
      assert.equal(
        d.LogonGuid,
        `{${machinePrefix}-0000-0000-0000-0000${ownTtyIndexLE()}}`,
        "root on this test's terminal (none in CI: all zeros, as SFL writes it)",
      );
      assert.deepEqual(Object.keys(d).slice(0, 5), ['RuleName', 'UtcTime', 'ProcessGuid', 'ProcessId', 'Image']);
    }
    // one parent for the three images, and each image its own GUID (as Sysmon for Linux)
    assert.equal(new Set(creates.map((e) => e.EventData.ParentProcessGuid)).size, 1);
    assert.equal(new Set(creates.map((e) => e.EventData.ProcessGuid)).size, 3);
    const [term] = await agent.waitFor((e) => e.EventID === 5 && e.EventData.ProcessId === pid, 15_000, 'ProcessTerminate');
    assert.equal(term!.EventData.ProcessGuid, printf.EventData.ProcessGuid, 'event 5 carries the GUID of the last image');
    assert.equal(term!.EventData.Image, '/usr/bin/printf');
    assert.equal(term!.EventData.User, 'root');
    assert.ok(term!.EventRecordID > printf.EventRecordID, 'terminate follows create');
  });

  it('Hashes of the image each exec ran: the first hashed, repeats from the caches, a rewritten file hashed anew', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-hash-')));
    const image = join(dir, 'hashme');
    const sha256 = () => `SHA256=${createHash('sha256').update(readFileSync(image)).digest('hex')}`;
    // one at a time: the first is hashed by a worker, the next ones find the result cached
    const execs = async (marker: string, n: number) => {
      const out: JsonEvent[] = [];
      for (let i = 0; i < n; i++) {
        await runCommand(image, [`${marker}-${i}`]);
        out.push(...(await agent.waitFor((e) => e.EventID === 1 && e.EventData.CommandLine === `${image} ${marker}-${i}`, 15_000, `exec ${i} of ${marker}`)));
      }
      return out;
    };
    copyFileSync('/usr/bin/true', image);
    const first = sha256();
    const m1 = `hash${process.hrtime.bigint()}`;
    for (const ev of await execs(m1, 4)) assert.equal(ev.EventData.Hashes, first, String(ev.EventData.CommandLine));
    // the same inode, rewritten with other bytes (another size and mtime): not the cached hash
    copyFileSync('/usr/bin/echo', image);
    const second = sha256();
    assert.notEqual(second, first);
    const m2 = `hash${process.hrtime.bigint()}`;
    for (const ev of await execs(m2, 4)) assert.equal(ev.EventData.Hashes, second, String(ev.EventData.CommandLine));
  });

  it('ProcessCreate UtcTime is the task start time (fork), as Sysmon for Linux writes it', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = await runCommand('/bin/sh', ['-c', 'sleep 0.4; exec /usr/bin/true utc-start-marker']);
    const creates = await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === r.pid, 15_000, 'sh and true', 2);
    const [sh, tru] = creates as [JsonEvent, JsonEvent];
    assert.equal(tru.EventData.CommandLine, '/usr/bin/true utc-start-marker');
    assert.equal(tru.EventData.UtcTime, sh.EventData.UtcTime, 'one task: one start time for both execs');
    const execMs = Date.parse(String(tru.TimeCreated));
    const startMs = Date.parse(`${String(tru.EventData.UtcTime).replace(' ', 'T')}Z`);
    assert.ok(execMs - startMs >= 350, `exec ${tru.TimeCreated} is >= 0.4 s after the start ${tru.EventData.UtcTime}`);
  });

  it('LogonGuid carries the controlling terminal the kernel saw (Sysmon for Linux: uid + tty index)', async (t) => {
    if (!requirePrereq(t, missing)) return;
    // script(1) gives the command a fresh pseudo-terminal; the shell prints which one
    const r = await runCommand('script', ['-qc', 'readlink /proc/$$/fd/0; exec /usr/bin/true tty-guid-marker', '/dev/null']);
    const pts = /\/dev\/pts\/(\d+)/.exec(r.stdout);
    assert.ok(pts, `script printed its terminal: ${JSON.stringify(r.stdout)}`);
    const [e] = await agent.waitFor((x) => x.EventID === 1 && x.EventData.CommandLine === '/usr/bin/true tty-guid-marker', 15_000, 'true under script');
    const index = Number(pts[1]);
    const le = [0, 8, 16, 24].map((s) => ((index >>> s) & 0xff).toString(16).padStart(2, '0')).join('');
    // root (uid 0) on pts/N without a utmp logon: time 0, Data4 = uid LE + tty index LE
    assert.equal(e!.EventData.LogonGuid, `{${machinePrefix}-0000-0000-0000-0000${le}}`);
  });

  it('gives a process that predates the monitor the same GUID as the kernel derives for it', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const elderPid = elder.pid!;
    elder.stdin!.end('go\n');
    const [child] = await agent.waitFor((e) => e.EventID === 1 && e.EventData.CommandLine === '/usr/bin/true elder-child-marker', 15_000, 'child of the elder');
    assert.equal(child!.EventData.ParentProcessId, elderPid);
    assert.equal(child!.EventData.ParentImage, realpathSync('/bin/sh'), 'parent seeded from /proc');
    const [gone] = await agent.waitFor((e) => e.EventID === 5 && e.EventData.ProcessId === elderPid, 15_000, 'elder terminate');
    assert.equal(gone!.EventData.ProcessGuid, child!.EventData.ParentProcessGuid);
  });

  it('logs hostile command lines faithfully: newlines, quotes, <, invalid UTF-8, 100 KB', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const marker = `m${process.hrtime.bigint()}`;
    const big = 'A'.repeat(100 * 1024);
    const hostile = `line1\nline2 "q" 'a' <Event> & \t end`;
    const r1 = await runCommand('/usr/bin/env', ['true', marker, hostile, big]);
    // invalid UTF-8 cannot pass through spawn's string arguments: let printf make the bytes
    const r2 = await runCommand('/bin/sh', ['-c', `exec /usr/bin/true ${marker}-bytes "$(printf '\\377\\376ok\\300')"`]);
    const [e1] = await agent.waitFor(
      (e) => e.EventID === 1 && e.EventData.ProcessId === r1.pid && e.EventData.Image === '/usr/bin/env',
      15_000,
      'hostile exec',
    );
    assert.equal(e1!.EventData.CommandLine, `/usr/bin/env true ${marker} ${hostile} ${big}`);
    const [e2] = await agent.waitFor(
      (e) => e.EventID === 1 && e.EventData.ProcessId === r2.pid && e.EventData.Image === '/usr/bin/true',
      15_000,
      'invalid utf-8 exec',
    );
    assert.equal(e2!.EventData.CommandLine, `/usr/bin/true ${marker}-bytes \udcff\udcfeok\udcc0`);
    // nothing a process writes can start a new JSONL record
    const lines = readFileSync(agent.jsonl, 'utf8')
      .split('\n')
      .filter((l) => l.includes(marker));
    assert.ok(lines.length >= 2);
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l));
  });

  it('names a fileless (memfd) exec as the kernel does: /memfd:NAME (deleted)', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-memfd-'));
    writeFileSync(
      join(dir, 'm.c'),
      `#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>
int main(void) {
  int src = open("/usr/bin/true", O_RDONLY), fd = memfd_create("sysmon-ts-fileless", 0);
  char b[65536]; ssize_t n;
  while ((n = read(src, b, sizeof b)) > 0) if (write(fd, b, n) != n) return 3;
  char *argv[] = { "true", 0 }, *envp[] = { 0 };
  fexecve(fd, argv, envp);
  return 2;
}
`,
    );
    execFileSync('cc', ['-o', join(dir, 'm'), join(dir, 'm.c')]);
    const r = await runCommand(join(dir, 'm'), []);
    assert.equal(r.code, 0);
    const [, fileless] = await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === r.pid, 15_000, 'two execs', 2);
    assert.equal(fileless!.EventData.Image, '/memfd:sysmon-ts-fileless (deleted)');
  });

  it('sees every one of 2,000 short processes, with no kernel drops', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const pids = new Set<number>();
    const marker = `storm${process.hrtime.bigint()}`;
    let next = 0;
    const worker = async () => {
      while (next < 2000) {
        next++;
        const r = await runCommand('/usr/bin/true', [marker]);
        pids.add(r.pid);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.equal(pids.size, 2000);
    const isOurs = (e: JsonEvent) => pids.has(Number(e.EventData.ProcessId)) && e.EventData.Image === '/usr/bin/true';
    const creates = await agent.waitFor(
      (e) => e.EventID === 1 && isOurs(e) && e.EventData.CommandLine === `/usr/bin/true ${marker}`,
      60_000,
      '2000 creates',
      2000,
    );
    const ends = await agent.waitFor((e) => e.EventID === 5 && isOurs(e), 60_000, '2000 terminates', 2000);
    assert.equal(new Set(creates.map((e) => e.EventData.ProcessId)).size, 2000);
    assert.equal(new Set(ends.map((e) => e.EventData.ProcessId)).size, 2000);
    const drops = agent.events().filter((e) => e.EventID === 255);
    assert.deepEqual(
      drops.map((e) => e.EventData.Description),
      [],
      'no event 255 (drops, bad records)',
    );
  });
});
