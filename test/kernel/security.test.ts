// Live security events from the real kernel: ProcessAccess (10) from ptrace, process_vm_readv/
// writev and /proc/PID/mem; CreateRemoteThread (8) from ptrace POKETEXT/SETREGS; eBPFEvent
// (100) from bpftool loading a program; DriverLoad (6): the attempt (ENOSYS on this kernel,
// which has no module support) logs nothing, and the success path is fed a synthetic record;
// ProcessTampering (25) from memfd exec and images deleted or replaced while running. Each
// with a near miss that must not be logged.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';
import { decodeRecord, type KernelRecord } from '../../src/families/decode.js';
import { SECURITY_LAYOUT, SECURITY_SIZES, type ModuleRecord } from '../../src/families/security/records.js';
import { programWanted } from '../../src/families/programs.js';
import { SECURITY_HANDLERS, parseModuleFile, pkcs7Signer, moduleAt, bpfProgTypeName } from '../../src/families/security/events.js';
import type { CaptureContext } from '../../src/families/descriptor.js';
import type { SysmonEvent } from '../../src/events/event.js';
import { GuidMaker } from '../../src/events/guid.js';
import { UserNames } from '../../src/events/host.js';
import { ProcessTable } from '../../src/events/processes.js';
import { hashes } from '../../src/events/hashes.js';

const missing = missingKernelPrereq() ?? missingTool('cc', 'clang', 'bpftool');
const GUID = /^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$/;

const HELPER_C = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/* usage: helper MODE [args]; prints "child=<pid> addr=<hex>" lines the test parses */
static volatile long victim_word = 0x1122334455667788;
static volatile long pad[16];

static pid_t spawn_victim(void)
{
	pid_t c = fork();
	if (c == 0) {
		for (;;) pause();
	}
	usleep(50000);
	return c;
}

static int attach(pid_t c, int seize)
{
	if (seize) {
		if (ptrace(PTRACE_SEIZE, c, 0, 0) != 0) return -1;
		if (ptrace(PTRACE_INTERRUPT, c, 0, 0) != 0) return -1;
	} else if (ptrace(PTRACE_ATTACH, c, 0, 0) != 0) return -1;
	int st;
	waitpid(c, &st, 0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(mode, "attach") || !strcmp(mode, "seize")) {
		pid_t c = spawn_victim();
		if (attach(c, !strcmp(mode, "seize"))) { perror("attach"); return 1; }
		errno = 0;
		long v = ptrace(PTRACE_PEEKDATA, c, (void *)&victim_word, 0);
		printf("child=%d peek=%lx errno=%d\\n", c, v, errno);
		ptrace(PTRACE_DETACH, c, 0, 0);
		kill(c, SIGKILL);
		waitpid(c, 0, 0);
		return 0;
	}
	if (!strcmp(mode, "attach-self")) {
		/* attaching to oneself fails (EPERM): nothing may be logged */
		long r = ptrace(PTRACE_ATTACH, getpid(), 0, 0);
		printf("self=%d r=%ld errno=%d\\n", getpid(), r, errno);
		return 0;
	}
	if (!strcmp(mode, "traceme")) {
		pid_t c = fork();
		if (c == 0) {
			ptrace(PTRACE_TRACEME, 0, 0, 0);
			raise(SIGSTOP);
			_exit(0);
		}
		int st;
		waitpid(c, &st, 0);
		errno = 0;
		long v = ptrace(PTRACE_PEEKDATA, c, (void *)&victim_word, 0);
		printf("child=%d peek=%lx errno=%d\\n", c, v, errno);
		ptrace(PTRACE_CONT, c, 0, 0);
		waitpid(c, &st, 0);
		return 0;
	}
	if (!strcmp(mode, "poke") || !strcmp(mode, "setregs")) {
		pid_t c = spawn_victim();
		if (attach(c, 0)) { perror("attach"); return 1; }
		/* write 4 words of "code" over a page of the victim's stack-independent data */
		uintptr_t addr = (uintptr_t)&victim_word;
		if (!strcmp(mode, "poke")) {
			/* four consecutive words (one run: one event), then one word elsewhere */
			addr = (uintptr_t)&pad[0];
			for (int i = 0; i < 4; i++)
				if (ptrace(PTRACE_POKETEXT, c, (void *)(addr + 8 * i), (void *)0x9090909090909090)) { perror("poke"); return 1; }
			if (ptrace(PTRACE_POKEDATA, c, (void *)(addr + 96), (void *)0xcc)) { perror("poke"); return 1; }
			printf("child=%d addr=%lx addr2=%lx\\n", c, (unsigned long)addr, (unsigned long)addr + 96);
		} else {
			struct user_regs_struct regs;
			ptrace(PTRACE_GETREGS, c, 0, &regs);
			unsigned long old = regs.rip;
			regs.rip = (unsigned long)&main;
			if (ptrace(PTRACE_SETREGS, c, 0, &regs)) { perror("setregs"); return 1; }
			printf("child=%d addr=%lx old=%lx\\n", c, (unsigned long)&main, old);
			/* setting the same registers again changes nothing: no event */
			ptrace(PTRACE_SETREGS, c, 0, &regs);
		}
		/* the target stays (stopped) a moment so the monitor can read its maps */
		usleep(500000);
		kill(c, SIGKILL);
		ptrace(PTRACE_DETACH, c, 0, 0);
		waitpid(c, 0, 0);
		return 0;
	}
	if (!strcmp(mode, "vmread") || !strcmp(mode, "vmwrite")) {
		pid_t c = spawn_victim();
		long buf = 0;
		struct iovec l = { &buf, sizeof(buf) }, r = { (void *)&victim_word, sizeof(buf) };
		ssize_t n = !strcmp(mode, "vmread") ? process_vm_readv(c, &l, 1, &r, 1, 0) : process_vm_writev(c, &l, 1, &r, 1, 0);
		/* own memory: no event */
		long mine = 0;
		struct iovec l2 = { &mine, sizeof(mine) };
		process_vm_readv(getpid(), &l2, 1, &r, 1, 0);
		printf("child=%d n=%zd val=%lx\\n", c, n, buf);
		kill(c, SIGKILL);
		waitpid(c, 0, 0);
		return 0;
	}
	if (!strcmp(mode, "procmem")) {
		pid_t c = spawn_victim();
		char p[64];
		snprintf(p, sizeof p, "/proc/%d/mem", c);
		int fd = open(p, O_RDONLY);
		long v = 0;
		pread(fd, &v, sizeof v, (off_t)(uintptr_t)&victim_word);
		/* own memory: no event */
		int self = open("/proc/self/mem", O_RDONLY);
		printf("child=%d fd=%d val=%lx self=%d\\n", c, fd, v, self);
		kill(c, SIGKILL);
		waitpid(c, 0, 0);
		return 0;
	}
	if (!strcmp(mode, "finit")) {
		int fd = open(argv[2], O_RDONLY);
		long r = syscall(SYS_finit_module, fd, "", 0);
		printf("finit=%ld errno=%d\\n", r, errno);
		r = syscall(SYS_init_module, "\\177ELF", 4, "");
		printf("init=%ld errno=%d\\n", r, errno);
		return 0;
	}
	if (!strcmp(mode, "memfd")) {
		int src = open(argv[2], O_RDONLY);
		int m = memfd_create("sysmon-ts-fileless", MFD_CLOEXEC);
		char buf[65536];
		ssize_t n;
		while ((n = read(src, buf, sizeof buf)) > 0) write(m, buf, n);
		char *args[] = { "fileless", "0", NULL };
		char *env[] = { NULL };
		fexecve(m, args, env);
		perror("fexecve");
		return 1;
	}
	fprintf(stderr, "unknown mode %s\\n", mode);
	return 2;
}
`;

const BPF_OK = `
#define SEC(n) __attribute__((section(n), used))
SEC("socket") int sysmon_ts_probe(void *ctx) { return 0; }
char _license[] SEC("license") = "GPL";
`;
// reads far outside the context: the verifier refuses it, so the load fails
const BPF_BAD = `
#define SEC(n) __attribute__((section(n), used))
SEC("socket") int sysmon_ts_bad(void *ctx) { return ((volatile int *)ctx)[100000]; }
char _license[] SEC("license") = "GPL";
`;

const CONFIG = `<Sysmon schemaversion="4.91">
  <EventFiltering>
    <ProcessAccess onmatch="exclude"/>
    <CreateRemoteThread onmatch="exclude"/>
    <DriverLoad onmatch="exclude"/>
    <ProcessTampering onmatch="exclude"/>
    <eBPFEvent onmatch="exclude"/>
  </EventFiltering>
</Sysmon>
`;

function kv(out: string): Record<string, string> {
  return Object.fromEntries(
    out
      .trim()
      .split(/\s+/)
      .map((p) => p.split('=') as [string, string]),
  );
}

const settle = () => new Promise((r) => setTimeout(r, 1500));

describe('security events from the kernel', () => {
  let agent: AgentProcess;
  let dir: string;
  let helper: string;

  before(async () => {
    if (missing) return;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-sec-')));
    writeFileSync(join(dir, 'helper.c'), HELPER_C);
    execFileSync('cc', ['-O0', '-o', join(dir, 'helper'), join(dir, 'helper.c')]);
    helper = join(dir, 'helper');
    writeFileSync(join(dir, 'config.xml'), CONFIG);
    agent = new AgentProcess(['-c', join(dir, 'config.xml')]);
    await agent.start();
  });

  after(async () => {
    if (!agent) return;
    const code = await agent.stop();
    assert.equal(code, 0, `agent exit code, stderr:\n${agent.stderr}`);
    const bad = agent.events().filter((e) => e.EventID === 255);
    assert.deepEqual(
      bad.map((e) => e.EventData.Description),
      [],
      'no event 255',
    );
  });

  async function run(...args: string[]): Promise<{ pid: number; out: Record<string, string> }> {
    const r = await runCommand(helper, args);
    assert.equal(r.code, 0, `helper ${args.join(' ')}: ${r.stdout}`);
    return { pid: r.pid, out: kv(r.stdout) };
  }

  function accessFrom(pid: number): JsonEvent[] {
    return agent.events().filter((e) => e.EventID === 10 && e.EventData.SourceProcessId === pid);
  }

  it('logs PTRACE_ATTACH and PTRACE_SEIZE of another process as ProcessAccess 0x1fffff, once per attach', async (t) => {
    if (!requirePrereq(t, missing)) return;
    for (const mode of ['attach', 'seize']) {
      const { pid, out } = await run(mode);
      const child = Number(out.child);
      assert.equal(out.peek, '1122334455667788', 'the helper really read the child');
      const [ev] = await agent.waitFor(
        (e) => e.EventID === 10 && e.EventData.SourceProcessId === pid && e.EventData.TargetProcessId === child,
        15_000,
        `${mode} access`,
      );
      const d = ev!.EventData;
      assert.equal(ev!.EventName, 'ProcessAccess');
      assert.equal(ev!.Version, 3);
      assert.deepEqual(Object.keys(d), [
        'RuleName',
        'UtcTime',
        'SourceProcessGUID',
        'SourceProcessId',
        'SourceThreadId',
        'SourceImage',
        'TargetProcessGUID',
        'TargetProcessId',
        'TargetImage',
        'GrantedAccess',
        'CallTrace',
        'SourceUser',
        'TargetUser',
      ]);
      assert.equal(d.GrantedAccess, '0x1fffff');
      assert.equal(d.SourceThreadId, pid);
      assert.equal(d.SourceImage, helper);
      assert.equal(d.TargetImage, helper, 'the forked child runs the same image');
      assert.equal(d.CallTrace, '-');
      assert.equal(d.SourceUser, 'root');
      assert.equal(d.TargetUser, 'root');
      assert.match(String(d.SourceProcessGUID), GUID);
      assert.match(String(d.TargetProcessGUID), GUID);
      assert.notEqual(d.SourceProcessGUID, d.TargetProcessGUID);
      // the source GUID is the one ProcessCreate gave the helper
      const [create] = await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === pid, 15_000, 'helper create');
      assert.equal(d.SourceProcessGUID, create!.EventData.ProcessGuid);
      await settle();
      // PEEKDATA (0x10) and INTERRUPT after the attach add nothing: the attach already granted all
      assert.equal(accessFrom(pid).length, 1, `${mode}: one event for attach + peek + detach`);
    }
  });

  it('logs nothing for a failed ptrace of oneself', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const { pid, out } = await run('attach-self');
    assert.equal(out.r, '-1');
    assert.equal(out.errno, '1', 'EPERM');
    await settle();
    assert.deepEqual(accessFrom(pid), []);
  });

  it("PTRACE_TRACEME is not logged; the parent's later requests on the child are (0x10 read, 0x800 resume)", async (t) => {
    if (!requirePrereq(t, missing)) return;
    const { pid, out } = await run('traceme');
    const child = Number(out.child);
    const evs = await agent.waitFor((e) => e.EventID === 10 && e.EventData.SourceProcessId === pid, 15_000, 'parent access', 2);
    assert.deepEqual(
      evs.map((e) => [e.EventData.TargetProcessId, e.EventData.GrantedAccess]),
      [
        [child, '0x10'],
        [child, '0x800'],
      ],
    );
    await settle();
    assert.deepEqual(accessFrom(child), [], 'the tracee offering itself is not an access');
  });

  it('logs POKETEXT into another process as CreateRemoteThread, one event per run of consecutive words', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const { pid, out } = await run('poke');
    const child = Number(out.child);
    const evs = await agent.waitFor((e) => e.EventID === 8 && e.EventData.SourceProcessId === pid, 15_000, 'remote thread', 2);
    assert.deepEqual(
      evs.map((e) => e.EventData.StartAddress),
      [out.addr!, out.addr2!].map((a) => `0x${a.toUpperCase().padStart(16, '0')}`),
    );
    const d = evs[0]!.EventData;
    assert.deepEqual(Object.keys(d), [
      'RuleName',
      'UtcTime',
      'SourceProcessGuid',
      'SourceProcessId',
      'SourceImage',
      'TargetProcessGuid',
      'TargetProcessId',
      'TargetImage',
      'NewThreadId',
      'StartAddress',
      'StartModule',
      'StartFunction',
      'SourceUser',
      'TargetUser',
    ]);
    assert.equal(d.TargetProcessId, child);
    assert.equal(d.NewThreadId, child);
    assert.equal(d.SourceImage, helper);
    assert.equal(d.TargetImage, helper);
    assert.equal(d.StartModule, helper, "the written address lies in the helper's data mapping");
    assert.equal(d.StartFunction, '-');
    assert.equal(d.SourceUser, 'root');
    await settle();
    assert.equal(agent.events().filter((e) => e.EventID === 8 && e.EventData.SourceProcessId === pid).length, 2);
    // the pokes need write access: attach (all) already covered it, so one ProcessAccess
    assert.deepEqual(
      accessFrom(pid).map((e) => e.EventData.GrantedAccess),
      ['0x1fffff'],
    );
  });

  it("logs SETREGS that moves another process's instruction pointer as CreateRemoteThread; the same registers again are not", async (t) => {
    if (!requirePrereq(t, missing)) return;
    const { pid, out } = await run('setregs');
    const [ev] = await agent.waitFor((e) => e.EventID === 8 && e.EventData.SourceProcessId === pid, 15_000, 'setregs');
    assert.equal(ev!.EventData.StartAddress, `0x${out.addr!.toUpperCase().padStart(16, '0')}`);
    assert.equal(ev!.EventData.StartModule, helper, "main() is in the helper's text");
    assert.equal(ev!.EventData.TargetProcessId, Number(out.child));
    await settle();
    assert.equal(agent.events().filter((e) => e.EventID === 8 && e.EventData.SourceProcessId === pid).length, 1);
  });

  it('attach and peek without writing is no CreateRemoteThread', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const { pid } = await run('attach');
    await agent.waitFor((e) => e.EventID === 10 && e.EventData.SourceProcessId === pid, 15_000, 'access');
    await settle();
    assert.deepEqual(
      agent.events().filter((e) => e.EventID === 8 && e.EventData.SourceProcessId === pid),
      [],
    );
  });

  it('logs process_vm_readv (0x10) and process_vm_writev (0x28) on another process, not on itself', async (t) => {
    if (!requirePrereq(t, missing)) return;
    for (const [mode, mask] of [
      ['vmread', '0x10'],
      ['vmwrite', '0x28'],
    ] as const) {
      const { pid, out } = await run(mode);
      assert.equal(out.n, '8');
      const [ev] = await agent.waitFor((e) => e.EventID === 10 && e.EventData.SourceProcessId === pid, 15_000, mode);
      assert.equal(ev!.EventData.GrantedAccess, mask);
      assert.equal(ev!.EventData.TargetProcessId, Number(out.child));
      assert.equal(ev!.EventData.TargetImage, helper);
      await settle();
      assert.equal(accessFrom(pid).length, 1, `${mode}: the read of its own memory is not logged`);
    }
  });

  it("logs an open of another process's /proc/PID/mem (0x10), not of /proc/self/mem", async (t) => {
    if (!requirePrereq(t, missing)) return;
    const { pid, out } = await run('procmem');
    assert.equal(out.val, '1122334455667788');
    assert.notEqual(out.self, '-1');
    const [ev] = await agent.waitFor((e) => e.EventID === 10 && e.EventData.SourceProcessId === pid, 15_000, 'proc mem');
    assert.equal(ev!.EventData.GrantedAccess, '0x10');
    assert.equal(ev!.EventData.TargetProcessId, Number(out.child));
    await settle();
    assert.equal(accessFrom(pid).length, 1);
  });

  it('logs a BPF program load (bpftool) with its name, type and id; not a load the verifier refused; not its own', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const pin = `/sys/fs/bpf/sysmon_ts_test_${process.pid}`;
    for (const [name, src] of [
      ['ok', BPF_OK],
      ['bad', BPF_BAD],
    ] as const) {
      writeFileSync(join(dir, `${name}.c`), src);
      execFileSync('clang', ['-O2', '-target', 'bpf', '-c', join(dir, `${name}.c`), '-o', join(dir, `${name}.o`)]);
    }
    const bad = spawnSync('bpftool', ['prog', 'load', join(dir, 'bad.o'), `${pin}_bad`], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0, 'the verifier refuses the bad program');
    execFileSync('bpftool', ['prog', 'load', join(dir, 'ok.o'), pin]);
    try {
      const info = JSON.parse(execFileSync('bpftool', ['prog', 'show', 'pinned', pin, '-j'], { encoding: 'utf8' })) as { id: number; name: string };
      const [ev] = await agent.waitFor((e) => e.EventID === 100 && e.EventData.BpfProgramId === info.id, 15_000, 'eBPF event');
      const d = ev!.EventData;
      assert.deepEqual(Object.keys(d), [
        'RuleName',
        'UtcTime',
        'ProcessGuid',
        'ProcessId',
        'Image',
        'User',
        'BpfCommand',
        'BpfProgramType',
        'BpfProgramId',
        'BpfProgramName',
      ]);
      assert.equal(d.BpfProgramName, 'sysmon_ts_probe');
      assert.equal(d.BpfProgramType, 'SOCKET_FILTER', 'as Sysmon for Linux names it');
      assert.equal(d.BpfCommand, 'BPF_PROG_LOAD');
      assert.equal(d.Image, realpathSync('/usr/sbin/bpftool'));
      assert.equal(d.User, 'root');
      assert.match(String(d.ProcessGuid), GUID);
      await settle();
      assert.deepEqual(
        agent.events().filter((e) => e.EventID === 100 && e.EventData.BpfProgramName === 'sysmon_ts_bad'),
        [],
      );
      // the monitor loads its own programs before attaching its hooks: none of them is logged
      assert.deepEqual(
        agent.events().filter((e) => e.EventID === 100 && e.EventData.ProcessId === agent.child.pid),
        [],
      );
    } finally {
      try {
        unlinkSync(pin);
      } catch {
        /* already gone */
      }
    }
  });

  it('logs no DriverLoad for a module load that failed (no module support here: ENOSYS)', async (t) => {
    if (!requirePrereq(t, missing)) return;
    // the hook that would see a successful load is live (attached: the config logs DriverLoad)
    // bpftool can trip over a program another BPF user unloads while it lists: ask again
    const listing = <T>(what: string): T => {
      for (let i = 0; ; i++) {
        try {
          return JSON.parse(execFileSync('bpftool', [what, 'show', '-j'], { encoding: 'utf8' })) as T;
        } catch (e) {
          if (i >= 4) throw e;
        }
      }
    };
    const progs = listing<{ id: number; name?: string }[]>('prog');
    const links = listing<{ prog_id: number; tp_name?: string }[]>('link');
    const exitIds = new Set(progs.filter((p) => p.name === 'security_sys_exit').map((p) => p.id));
    assert.ok(
      links.some((l) => exitIds.has(l.prog_id) && l.tp_name === 'sys_exit'),
      'security_sys_exit attached to sys_exit',
    );
    const ko = join(dir, 'fake.ko');
    writeFileSync(ko, Buffer.from('\x7fELF not a module'));
    const { out } = await run('finit', ko);
    assert.equal(out.finit, '-1');
    assert.equal(out.errno, '38', 'ENOSYS: this kernel cannot load modules');
    await settle();
    assert.deepEqual(
      agent.events().filter((e) => e.EventID === 6),
      [],
    );
  });

  it('logs a memfd exec (fileless) as ProcessTampering', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = await runCommand(helper, ['memfd', '/usr/bin/true']);
    assert.equal(r.code, 0);
    const [ev] = await agent.waitFor((e) => e.EventID === 25 && e.EventData.ProcessId === r.pid, 15_000, 'fileless');
    const d = ev!.EventData;
    assert.deepEqual(Object.keys(d), ['RuleName', 'UtcTime', 'ProcessGuid', 'ProcessId', 'Image', 'Type', 'User']);
    assert.equal(d.Type, 'Image is fileless (memfd)');
    assert.match(String(d.Image), /memfd:sysmon-ts-fileless/);
    assert.equal(d.User, 'root');
    await settle();
    assert.equal(agent.events().filter((e) => e.EventID === 25 && e.EventData.ProcessId === r.pid).length, 1, 'its exit is not reported again');
  });

  it('logs an image deleted or replaced while running (at exit); not one left alone', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const cases = [
      ['deleted', 'Image is deleted (removed while running)'],
      ['replaced', 'Image is replaced'],
      ['untouched', null],
    ] as const;
    for (const [what, type] of cases) {
      const bin = join(dir, `sleep-${what}`);
      copyFileSync('/usr/bin/sleep', bin);
      const c = spawn(bin, ['30'], { stdio: 'ignore' });
      const pid = c.pid!;
      await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === pid, 15_000, `${what} started`);
      if (what === 'deleted') unlinkSync(bin);
      if (what === 'replaced') {
        copyFileSync('/usr/bin/true', `${bin}.new`);
        renameSync(`${bin}.new`, bin);
      }
      await new Promise((r) => setTimeout(r, 200));
      c.kill('SIGKILL');
      await agent.waitFor((e) => e.EventID === 5 && e.EventData.ProcessId === pid, 15_000, `${what} exit`);
      await settle();
      const evs = agent.events().filter((e) => e.EventID === 25 && e.EventData.ProcessId === pid);
      if (type === null) {
        assert.deepEqual(evs, [], 'an image left alone is no tampering');
        continue;
      }
      assert.equal(evs.length, 1, what);
      assert.equal(evs[0]!.EventData.Type, type);
      assert.equal(evs[0]!.EventData.Image, bin);
    }
  });
});

// ---- without a live kernel: DriverLoad's success path, from a synthetic record ----

function derTLV(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...b: Buffer[]) => derTLV(0x30, Buffer.concat(b));
const set = (...b: Buffer[]) => derTLV(0x31, Buffer.concat(b));

/** A minimal PKCS#7 SignedData as sign-file writes it (no certificates), issuer CN given. */
function pkcs7(cn: string): Buffer {
  const oid = (hex: string) => derTLV(0x06, Buffer.from(hex, 'hex'));
  const issuer = seq(set(seq(oid('55040a'), derTLV(0x0c, Buffer.from('Example Org')))), set(seq(oid('550403'), derTLV(0x0c, Buffer.from(cn)))));
  const signerInfo = seq(
    derTLV(0x02, Buffer.from([1])),
    seq(issuer, derTLV(0x02, Buffer.from([0x12, 0x34]))),
    seq(oid('608648016503040201')),
    seq(oid('2a864886f70d010101')),
    derTLV(0x04, Buffer.alloc(32, 7)),
  );
  const signedData = seq(derTLV(0x02, Buffer.from([1])), set(seq(oid('608648016503040201'))), seq(oid('2a864886f70d010701')), set(signerInfo));
  return seq(oid('2a864886f70d010702'), derTLV(0xa0, signedData));
}

function signedModule(cn: string): Buffer {
  const body = Buffer.concat([Buffer.from('\x7fELF....'), Buffer.from('\0license=GPL\0name=sysmon_ts_fake\0vermagic=6.18\0')]);
  const sig = pkcs7(cn);
  const info = Buffer.alloc(12);
  info[2] = 2; // PKEY_ID_PKCS7
  info.writeUInt32BE(sig.length, 8);
  return Buffer.concat([body, sig, info, Buffer.from('~Module signature appended~\n')]);
}

function moduleRecord(path: string, params: string): Buffer {
  const M = SECURITY_LAYOUT.module_record;
  const comps = Buffer.from(
    path
      .split('/')
      .filter(Boolean)
      .reverse()
      .map((c) => `${c}\0`)
      .join(''),
  );
  const p = Buffer.from(params);
  const size = SECURITY_SIZES.module_record + comps.length + p.length;
  const b = Buffer.alloc(size);
  b.writeUInt16LE(43, 0);
  b.writeUInt32LE(size, 4);
  b.writeBigUInt64LE(1_000_000_000n, 8);
  b.writeUInt32LE(4242, 16);
  b.writeUInt32LE(4242, 20);
  b.writeUInt32LE(1, M.finit[0]);
  b.writeInt32LE(3, M.fd[0]);
  b.writeUInt32LE(SECURITY_SIZES.module_record, M.path[0]);
  b.writeUInt32LE(comps.length, M.path[0] + 4);
  comps.copy(b, SECURITY_SIZES.module_record);
  b.writeUInt32LE(SECURITY_SIZES.module_record + comps.length, M.params[0]);
  b.writeUInt32LE(p.length, M.params[0] + 4);
  p.copy(b, SECURITY_SIZES.module_record + comps.length);
  return b;
}

describe('DriverLoad from a synthetic finit_module record', () => {
  it('decodes and normalizes: ImageLoaded, Hashes, Signed, Signature, SignatureStatus', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-ko-')));
    const ko = join(dir, 'sysmon_ts_fake.ko');
    writeFileSync(ko, signedModule('Build time autogenerated kernel key'));
    const rec = decodeRecord(moduleRecord(ko, 'debug=1')) as KernelRecord & { path: string; params: string; finit: boolean };
    assert.equal(rec.type, 43);
    assert.equal(rec.path, ko);
    assert.equal(rec.params, 'debug=1');
    assert.equal(rec.finit, true);

    hashes.configure(['SHA256']);
    const deferred: Promise<unknown>[] = [];
    const ctx: CaptureContext = {
      processes: new ProcessTable(new GuidMaker(0x12345678, 1_700_000_000), new UserNames()),
      timeNs: (ns) => 1_800_000_000_000_000_000n + ns,
      defer: (p) => {
        deferred.push(p);
      },
      record: Buffer.alloc(0), // the module handler reads nothing more of its record
    };
    const out: SysmonEvent[] = [];
    SECURITY_HANDLERS[43]!(rec, ctx, out);
    await Promise.all(deferred);
    hashes.configure(null);
    await hashes.close();
    assert.equal(out.length, 1);
    const ev = out[0]!;
    assert.equal(ev.id, 6);
    const sha = execFileSync('sha256sum', [ko], { encoding: 'utf8' }).split(' ')[0];
    assert.deepEqual(ev.data, {
      RuleName: '-',
      UtcTime: '2027-01-15 08:00:01.000',
      ImageLoaded: ko,
      Hashes: `SHA256=${sha}`,
      Signed: 'true',
      Signature: 'Build time autogenerated kernel key',
      // the module is not loaded here, so the kernel's verdict (/sys/module/NAME/taint) is unknown
      SignatureStatus: 'Unverified',
    });
  });

  it('an unsigned module: Signed false, Signature -, SignatureStatus Unavailable; init_module (no file): ImageLoaded -', async () => {
    const sig = parseModuleFile(Buffer.from('\x7fELF\0name=plain\0'));
    assert.deepEqual(sig, { signed: false, signer: '', name: 'plain' });
    assert.equal(pkcs7Signer(Buffer.from('garbage')), '');
    const rec = decodeRecord(moduleRecord('/x', '')) as ModuleRecord;
    rec.path = '';
    const out: SysmonEvent[] = [];
    const ctx = { processes: undefined as never, timeNs: (ns: bigint) => ns, defer: () => {} } as unknown as CaptureContext;
    SECURITY_HANDLERS[43]!(rec, ctx, out);
    assert.equal(out[0]!.data.ImageLoaded, '-');
    assert.equal(out[0]!.data.Signed, '-');
  });
});

describe('security helpers', () => {
  it('attaches the security hooks only for the events that need them', () => {
    assert.equal(programWanted('security_x_ptrace', new Set([1, 5])), false);
    assert.equal(programWanted('security_x_ptrace', new Set([10])), true);
    assert.equal(programWanted('security_x_openat', new Set([10])), true);
    assert.equal(programWanted('security_x_bpf', new Set([100])), true);
    assert.equal(programWanted('security_x_bpf', new Set([10])), false);
    // the every-syscall tp_btf hooks only for DriverLoad (6)
    assert.equal(programWanted('security_sys_exit', new Set([1, 3, 5, 8, 9, 10, 11, 23, 100])), false);
    assert.equal(programWanted('security_sys_enter', new Set([6])), true);
    assert.equal(programWanted('tamper_exec', new Set([10])), false);
    assert.equal(programWanted('tamper_exit', new Set([25])), true);
  });

  it('names program types and finds the mapping holding an address', () => {
    assert.equal(bpfProgTypeName(26), 'TRACING');
    assert.equal(bpfProgTypeName(2), 'KPROBE');
    assert.equal(bpfProgTypeName(0), 'UNKNOWN');
    assert.equal(bpfProgTypeName(999), 'UNKNOWN');
    const maps = '55d0a0000000-55d0a0001000 r-xp 00000000 fe:00 123 /usr/bin/x\n7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]\n';
    assert.equal(moduleAt(1, 0x55d0a0000010n, maps), '/usr/bin/x');
    assert.equal(moduleAt(1, 0x7ffd00000100n, maps), '[stack]');
    assert.equal(moduleAt(1, 0x10n, maps), '-');
  });
});
