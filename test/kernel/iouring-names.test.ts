// Live io_uring name operations from the real kernel: IORING_OP_UNLINKAT (FileDelete),
// RENAMEAT and LINKAT (FileCreate of the new name). They run in io-wq workers, outside the
// syscalls file.bpf.c hooks; driver/linux/iouring.bpf.c reports them from the request's
// submission (names) and completion (result), joined in src/events/iouring-events.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { decodeRecord } from '../../src/kernel/decode.js';
import { IOURING_SIZES, type IouringNameRecord, type IouringResultRecord } from '../../src/kernel/records/iouring.js';
import { programWanted } from '../../src/kernel/programs.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';

const missing = missingKernelPrereq() ?? missingTool('cc') ?? (existsSync('/usr/include/linux/io_uring.h') ? null : 'no /usr/include/linux/io_uring.h (linux-libc-dev)');

const URING_NAMES_C = `/* IORING_OP_UNLINKAT / RENAMEAT / LINKAT through raw io_uring syscalls (no liburing).
 * usage: uring_names unlink|rmdir <dir> <name> | rename|link <dir> <old> <new>
 * Names are relative to <dir>, opened as a dirfd. Prints the CQE res; exits 0 when res == 0. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) return 2;
	int dirfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (dirfd < 0) { perror("open dir"); return 3; }
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0) { perror("io_uring_setup"); return 3; }
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	char *sq = mmap(0, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	char *cq = mmap(0, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) { perror("mmap"); return 3; }
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail);
	unsigned mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	unsigned *array = (unsigned *)(sq + p.sq_off.array);
	unsigned t = *tail;
	struct io_uring_sqe *e = &sqes[t & mask];
	memset(e, 0, sizeof(*e));
	if (!strcmp(argv[1], "unlink") || !strcmp(argv[1], "rmdir")) {
		e->opcode = IORING_OP_UNLINKAT;
		e->fd = dirfd;
		e->addr = (unsigned long)argv[3];
		e->unlink_flags = !strcmp(argv[1], "rmdir") ? AT_REMOVEDIR : 0;
	} else if (argc > 4 && (!strcmp(argv[1], "rename") || !strcmp(argv[1], "link"))) {
		e->opcode = !strcmp(argv[1], "rename") ? IORING_OP_RENAMEAT : IORING_OP_LINKAT;
		e->fd = dirfd;                       /* old dirfd */
		e->addr = (unsigned long)argv[3];    /* old name */
		e->len = dirfd;                      /* new dirfd */
		e->addr2 = (unsigned long)argv[4];   /* new name */
	} else {
		return 2;
	}
	e->user_data = 0x5eed;
	array[t & mask] = t & mask;
	__atomic_store_n(tail, t + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS, 0, 0) < 0) { perror("io_uring_enter"); return 3; }
	unsigned *head = (unsigned *)(cq + p.cq_off.head);
	unsigned cmask = *(unsigned *)(cq + p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	unsigned h = __atomic_load_n(head, __ATOMIC_ACQUIRE);
	struct io_uring_cqe *c = &cqes[h & cmask];
	printf("%d\\n", c->res);
	__atomic_store_n(head, h + 1, __ATOMIC_RELEASE);
	return c->res == 0 ? 0 : 1;
}
`;

// Only this test's directory and programs: other activity on the machine (a file or exec
// storm of another job) must not bury these events behind a backlog.
function config(dir: string): string {
  const path = join(dir, 'config.xml');
  writeFileSync(path, `<Sysmon schemaversion="4.90">
  <EventFiltering>
    <RuleGroup name="" groupRelation="or"><FileCreate onmatch="include"><TargetFilename condition="begin with">${dir}/</TargetFilename></FileCreate></RuleGroup>
    <RuleGroup name="" groupRelation="or"><FileDelete onmatch="include"><TargetFilename condition="begin with">${dir}/</TargetFilename></FileDelete></RuleGroup>
    <RuleGroup name="" groupRelation="or"><ProcessCreate onmatch="include"><Image condition="begin with">${dir}/</Image></ProcessCreate></RuleGroup>
  </EventFiltering>
</Sysmon>
`);
  return path;
}

describe('io_uring UNLINKAT / RENAMEAT / LINKAT from the kernel', () => {
  let agent: AgentProcess;
  let dir: string;
  let work: string;
  let prog: string;

  before(async () => {
    if (missing) return;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-iouring-names-')));
    work = join(dir, 'work');
    mkdirSync(work);
    writeFileSync(join(dir, 'uring_names.c'), URING_NAMES_C);
    prog = join(dir, 'uring_names');
    execFileSync('cc', ['-O2', '-o', prog, join(dir, 'uring_names.c')]);
    agent = new AgentProcess(['-c', config(dir)], dir);
    await agent.start();
  });

  after(async () => {
    if (!agent) return;
    assert.equal(await agent.stop(), 0, agent.stderr);
  });

  const about = (id: number, path: string) => (e: JsonEvent) => e.EventID === id && e.EventData.TargetFilename === path;

  it('UNLINKAT: one FileDelete with the absolute path (dirfd-relative name), the submitter\'s pid and guid', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const target = join(work, 'doomed.txt');
    writeFileSync(target, 'x');
    const r = await runCommand(prog, ['unlink', work, 'doomed.txt']);
    assert.equal(r.code, 0, `io_uring unlinkat failed: ${r.stdout}`);
    assert.ok(!existsSync(target));
    const [e] = await agent.waitFor(about(23, target), 15_000, `FileDelete ${target}`);
    const d = e!.EventData;
    assert.equal(e!.EventName, 'FileDelete');
    assert.equal(d.ProcessId, r.pid);
    assert.equal(d.Image, prog);
    assert.equal(d.User, 'root');
    const [pc] = await agent.waitFor((x) => x.EventID === 1 && x.EventData.ProcessId === r.pid, 15_000, 'ProcessCreate of uring_names');
    assert.equal(d.ProcessGuid, pc!.EventData.ProcessGuid);
    assert.equal(agent.events().filter(about(23, target)).length, 1, 'exactly one FileDelete');
  });

  it('RENAMEAT and LINKAT: FileCreate of the new name; rmdir: FileDelete of the directory', async (t) => {
    if (!requirePrereq(t, missing)) return;
    writeFileSync(join(work, 'old.txt'), 'x');
    const ren = await runCommand(prog, ['rename', work, 'old.txt', 'renamed.txt']);
    assert.equal(ren.code, 0, `io_uring renameat failed: ${ren.stdout}`);
    const lnk = await runCommand(prog, ['link', work, 'renamed.txt', 'hardlink.txt']);
    assert.equal(lnk.code, 0, `io_uring linkat failed: ${lnk.stdout}`);
    mkdirSync(join(work, 'subdir'));
    const rm = await runCommand(prog, ['rmdir', work, 'subdir']);
    assert.equal(rm.code, 0, `io_uring unlinkat(AT_REMOVEDIR) failed: ${rm.stdout}`);
    const [a] = await agent.waitFor(about(11, join(work, 'renamed.txt')), 15_000, 'FileCreate of the rename target');
    assert.equal(a!.EventData.ProcessId, ren.pid);
    const [b] = await agent.waitFor(about(11, join(work, 'hardlink.txt')), 15_000, 'FileCreate of the link');
    assert.equal(b!.EventData.ProcessId, lnk.pid);
    const [c] = await agent.waitFor(about(23, join(work, 'subdir')), 15_000, 'FileDelete of the directory');
    assert.equal(c!.EventData.ProcessId, rm.pid);
  });

  it('failed requests give no event', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const ghost = join(work, 'never-existed.txt');
    const r = await runCommand(prog, ['unlink', work, 'never-existed.txt']);
    assert.equal(r.code, 1, 'unlinkat of a missing file fails (ENOENT)');
    const r2 = await runCommand(prog, ['rename', work, 'never-existed.txt', 'never-renamed.txt']);
    assert.equal(r2.code, 1);
    // a sentinel by the same path after them: once it is in, the failures would be too
    writeFileSync(join(work, 'sentinel.txt'), 'x');
    const s = await runCommand(prog, ['unlink', work, 'sentinel.txt']);
    assert.equal(s.code, 0);
    await agent.waitFor(about(23, join(work, 'sentinel.txt')), 15_000, 'sentinel');
    assert.equal(agent.events().filter(about(23, ghost)).length, 0);
    assert.equal(agent.events().filter(about(11, join(work, 'never-renamed.txt'))).length, 0);
  });
});

it('decodes io_uring name-operation and result records (no kernel needed); their programs attach with 11, 23 or 26', () => {
  const strings = Buffer.from('gone.txt' + 'tmp\0');
  const size = IOURING_SIZES.iouring_name_record + strings.length;
  const b = Buffer.alloc(size);
  b.writeUInt16LE(91, 0); b.writeUInt32LE(size, 4); b.writeBigUInt64LE(5n, 8); b.writeUInt32LE(1234, 16); b.writeUInt32LE(1240, 20);
  b.writeUInt32LE(8, 24); // FILE_OP_UNLINK
  b.writeUInt32LE(120 + 8, 80); b.writeUInt32LE(4, 84); // path: the directory ("tmp")
  b.writeUInt32LE(120, 88); b.writeUInt32LE(8, 92);     // name: "gone.txt"
  b.writeBigUInt64LE(0x5eedn, 96); b.writeBigUInt64LE(0xffff888012345678n, 104); b.writeUInt32LE(36, 112);
  strings.copy(b, 120);
  const r = decodeRecord(b) as IouringNameRecord;
  assert.equal(r.type, 91);
  assert.equal(r.path, '/tmp/gone.txt');
  assert.equal(r.op, 8);
  assert.equal(r.request, 0xffff888012345678n);
  assert.equal(r.opcode, 36);

  const c = Buffer.alloc(IOURING_SIZES.iouring_result_record);
  c.writeUInt16LE(92, 0); c.writeUInt32LE(c.length, 4); c.writeBigUInt64LE(6n, 8); c.writeUInt32LE(1234, 16);
  c.writeBigUInt64LE(0x5eedn, 24); c.writeBigUInt64LE(0xffff888012345678n, 32); c.writeUInt32LE(36, 40); c.writeInt32LE(-2, 44);
  const res = decodeRecord(c) as IouringResultRecord;
  assert.equal(res.type, 92);
  assert.equal(res.res, -2);
  assert.equal(res.request, 0xffff888012345678n);
  for (const prog of ['iouring_names_submit', 'iouring_names_complete']) {
    assert.equal(programWanted(prog, new Set([23])), true);
    assert.equal(programWanted(prog, new Set([11])), true);
    assert.equal(programWanted(prog, new Set([1, 3])), false);
  }
});
