// Live io_uring name operations from the real kernel: IORING_OP_UNLINKAT (FileDelete),
// RENAMEAT and LINKAT (FileCreate of the new name). They run in io-wq workers, outside the
// syscalls file.bpf.c hooks; driver/linux/iouring.bpf.c reports them from the request's
// submission (names) and completion (result), joined in src/families/iouring/events.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { startUringFixture, URING_RUNTIME_C } from '../helpers/uring.js';
import { decodeRecord } from '../../src/families/decode.js';
import { IOURING_SIZES, type IouringNameRecord, type IouringResultRecord } from '../../src/families/iouring/records.js';
import { programWanted } from '../../src/families/programs.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';

const missing =
  missingKernelPrereq() ?? missingTool('cc') ?? (existsSync('/usr/include/linux/io_uring.h') ? null : 'no /usr/include/linux/io_uring.h (linux-libc-dev)');

const URING_NAMES_C = `/* IORING_OP_UNLINKAT / RENAMEAT / LINKAT through raw io_uring syscalls (no liburing).
 * usage: uring_names unlink|rmdir <dir> <name> | rename|link <dir> <old> <new>
 * Names are relative to <dir>, opened as a dirfd. Prints the CQE res; exits 0 when res == 0. */
${URING_RUNTIME_C}
struct name_args { char **argv; int argc; int dirfd; };

static void fill_name_op(struct io_uring_sqe *e, void *arg)
{
	struct name_args *a = arg;
	const char *op = a->argv[1];
	e->fd = a->dirfd;                          /* (old) dirfd */
	e->addr = (unsigned long)a->argv[3];       /* (old) name */
	e->user_data = 0x5eed;
	if (!strcmp(op, "unlink") || !strcmp(op, "rmdir")) {
		e->opcode = IORING_OP_UNLINKAT;
		e->unlink_flags = !strcmp(op, "rmdir") ? AT_REMOVEDIR : 0;
	} else {
		e->opcode = !strcmp(op, "rename") ? IORING_OP_RENAMEAT : IORING_OP_LINKAT;
		e->len = a->dirfd;                         /* new dirfd */
		e->addr2 = (unsigned long)a->argv[4];      /* new name */
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) return 2;
	int two_names = !strcmp(argv[1], "rename") || !strcmp(argv[1], "link");
	if (!two_names && strcmp(argv[1], "unlink") && strcmp(argv[1], "rmdir")) return 2;
	if (two_names && argc < 5) return 2;
	int dirfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	if (dirfd < 0) { perror("open dir"); return 3; }
	struct name_args a = { argv, argc, dirfd };
	int res = uring_run_one(fill_name_op, &a, 0);
	if (res == -1000) return 3;
	printf("%d\\n", res);
	return res == 0 ? 0 : 1;
}
`;

describe('io_uring UNLINKAT / RENAMEAT / LINKAT from the kernel', () => {
  let agent: AgentProcess;
  let work: string;
  let prog: string;

  before(async () => {
    if (missing) return;
    ({ agent, work, prog } = await startUringFixture('sysmon-ts-iouring-names-', 'uring_names', URING_NAMES_C, ['FileCreate', 'FileDelete']));
  });

  after(async () => {
    if (!agent) return;
    assert.equal(await agent.stop(), 0, agent.stderr);
  });

  const about = (id: number, path: string) => (e: JsonEvent) => e.EventID === id && e.EventData.TargetFilename === path;

  it("UNLINKAT: one FileDelete with the absolute path (dirfd-relative name), the submitter's pid and guid", async (t) => {
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
  b.writeUInt16LE(91, 0);
  b.writeUInt32LE(size, 4);
  b.writeBigUInt64LE(5n, 8);
  b.writeUInt32LE(1234, 16);
  b.writeUInt32LE(1240, 20);
  b.writeUInt32LE(8, 24); // FILE_OP_UNLINK
  b.writeUInt32LE(120 + 8, 80);
  b.writeUInt32LE(4, 84); // path: the directory ("tmp")
  b.writeUInt32LE(120, 88);
  b.writeUInt32LE(8, 92); // name: "gone.txt"
  b.writeBigUInt64LE(0x5eedn, 96);
  b.writeBigUInt64LE(0xffff888012345678n, 104);
  b.writeUInt32LE(36, 112);
  strings.copy(b, 120);
  const r = decodeRecord(b) as IouringNameRecord;
  assert.equal(r.type, 91);
  assert.equal(r.path, '/tmp/gone.txt');
  assert.equal(r.op, 8);
  assert.equal(r.request, 0xffff888012345678n);
  assert.equal(r.opcode, 36);

  const c = Buffer.alloc(IOURING_SIZES.iouring_result_record);
  c.writeUInt16LE(92, 0);
  c.writeUInt32LE(c.length, 4);
  c.writeBigUInt64LE(6n, 8);
  c.writeUInt32LE(1234, 16);
  c.writeBigUInt64LE(0x5eedn, 24);
  c.writeBigUInt64LE(0xffff888012345678n, 32);
  c.writeUInt32LE(36, 40);
  c.writeInt32LE(-2, 44);
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
