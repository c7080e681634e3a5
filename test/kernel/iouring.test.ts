// Live io_uring FileCreate (11) from the real kernel: a small C program (raw io_uring
// syscalls, no liburing) submits IORING_OP_OPENAT; driver/linux/iouring.bpf.c reports the
// files it created, with the same fields as a FileCreate from open/openat.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { startUringFixture, URING_RUNTIME_C } from '../helpers/uring.js';
import { decodeRecord } from '../../src/families/decode.js';
import { IOURING_SIZES, type IouringFileRecord } from '../../src/families/iouring/records.js';
import { programWanted } from '../../src/families/programs.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';

const missing =
  missingKernelPrereq() ?? missingTool('cc') ?? (existsSync('/usr/include/linux/io_uring.h') ? null : 'no /usr/include/linux/io_uring.h (linux-libc-dev)');

const URING_OPEN_C = `/* IORING_OP_OPENAT through raw io_uring syscalls (no liburing).
 * usage: uring_open <path> <mode> [fixed:0|1]; mode 0: O_RDONLY, 1: O_CREAT|O_EXCL, 2: O_CREAT
 * (no O_EXCL). Prints the CQE res; exits 0 when res >= 0. */
${URING_RUNTIME_C}
struct open_args { const char *path; int mode; int fixed; };

static void fill_open(struct io_uring_sqe *e, void *arg)
{
	struct open_args *a = arg;
	e->opcode = IORING_OP_OPENAT;
	e->fd = AT_FDCWD;
	e->addr = (unsigned long)a->path;
	e->len = 0644;
	e->open_flags = a->mode == 1 ? (O_CREAT | O_EXCL | O_WRONLY) : a->mode == 2 ? (O_CREAT | O_WRONLY) : O_RDONLY;
	e->user_data = 0x5eed;
	if (a->fixed) e->file_index = IORING_FILE_INDEX_ALLOC;
}

int main(int argc, char **argv)
{
	if (argc < 3) return 2;
	struct open_args a = { argv[1], atoi(argv[2]), argc > 3 ? atoi(argv[3]) : 0 };
	int res = uring_run_one(fill_open, &a, a.fixed);
	if (res == -1000) return 3;
	printf("%d\\n", res);
	return res >= 0 ? 0 : 1;
}
`;

describe('io_uring FileCreate from the kernel', () => {
  let agent: AgentProcess;
  let work: string;
  let prog: string;

  before(async () => {
    if (missing) return;
    ({ agent, work, prog } = await startUringFixture('sysmon-ts-iouring-', 'uring_open', URING_OPEN_C, ['FileCreate']));
  });

  after(async () => {
    if (!agent) return;
    assert.equal(await agent.stop(), 0, agent.stderr);
  });

  const created = (path: string) => (e: JsonEvent) => e.EventID === 11 && e.EventData.TargetFilename === path;

  it("IORING_OP_OPENAT with O_CREAT: one FileCreate, absolute path from a relative name, the program's pid", async (t) => {
    if (!requirePrereq(t, missing)) return;
    const target = join(work, 'made-by-uring.txt');
    // a relative name against the cwd (AT_FDCWD): the kernel's dentry walk gives the absolute path
    const r = await runCommand(prog, ['made-by-uring.txt', '1'], { cwd: work });
    assert.equal(r.code, 0, `io_uring openat failed: ${r.stdout}`);
    assert.ok(existsSync(target));
    const [e] = await agent.waitFor(created(target), 15_000, `FileCreate ${target}`);
    const d = e!.EventData;
    assert.equal(e!.EventName, 'FileCreate');
    assert.deepEqual(Object.keys(d), ['RuleName', 'UtcTime', 'ProcessGuid', 'ProcessId', 'Image', 'TargetFilename', 'CreationUtcTime', 'User']);
    assert.equal(d.ProcessId, r.pid);
    assert.equal(d.Image, prog);
    assert.equal(d.User, 'root');
    assert.match(String(d.CreationUtcTime), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    // the ProcessGuid is the program's, as ProcessCreate reported it
    const [pc] = await agent.waitFor((x) => x.EventID === 1 && x.EventData.ProcessId === r.pid, 15_000, 'ProcessCreate of uring_open');
    assert.equal(d.ProcessGuid, pc!.EventData.ProcessGuid);
    assert.equal(agent.events().filter(created(target)).length, 1, 'exactly one FileCreate (io_uring opens never pass through openat(2))');
  });

  it('IORING_OP_OPENAT into a fixed-file slot (IORING_FILE_INDEX_ALLOC) that creates: one FileCreate', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const target = join(work, 'fixed-slot.txt');
    const r = await runCommand(prog, [target, '1', '1']);
    assert.equal(r.code, 0, `io_uring openat (fixed) failed: ${r.stdout}`);
    const [e] = await agent.waitFor(created(target), 15_000, `FileCreate ${target}`);
    assert.equal(e!.EventData.ProcessId, r.pid);
  });

  it('no event for IORING_OP_OPENAT of an existing file, with or without O_CREAT, nor for a failed create', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const existing = join(work, 'existing.txt');
    writeFileSync(existing, 'here before');
    const ro = await runCommand(prog, [existing, '0']);
    assert.equal(ro.code, 0, `read-only open failed: ${ro.stdout}`);
    const creat = await runCommand(prog, [existing, '2']);
    assert.equal(creat.code, 0, `O_CREAT open of an existing file failed: ${creat.stdout}`);
    const excl = await runCommand(prog, [existing, '1']);
    assert.equal(excl.code, 1, 'O_EXCL on an existing file fails (EEXIST)');
    const missingDir = join(work, 'no-such-dir', 'x.txt');
    assert.equal((await runCommand(prog, [missingDir, '1'])).code, 1);
    // a sentinel created after them by the same path: once it is in, the others would be too
    const sentinel = join(work, 'sentinel.txt');
    const s = await runCommand(prog, [sentinel, '1']);
    assert.equal(s.code, 0);
    await agent.waitFor(created(sentinel), 15_000, 'sentinel');
    assert.equal(agent.events().filter(created(existing)).length, 1, 'only writeFileSync created existing.txt');
    const byUring = agent.events().filter((e) => created(existing)(e) && [ro.pid, creat.pid, excl.pid].includes(Number(e.EventData.ProcessId)));
    assert.deepEqual(byUring, [], 'opening an existing file is not a creation');
    assert.equal(agent.events().filter(created(missingDir)).length, 0);
  });
});

it('decodes an io_uring file record (no kernel needed); its program attaches only with FileCreate', () => {
  const path = Buffer.from('f.txt\0tmp\0');
  const size = IOURING_SIZES.iouring_file_record + path.length;
  const b = Buffer.alloc(size);
  b.writeUInt16LE(90, 0);
  b.writeUInt32LE(size, 4);
  b.writeBigUInt64LE(5n, 8);
  b.writeUInt32LE(1234, 16);
  b.writeUInt32LE(1240, 20);
  b.writeUInt32LE(2, 24);
  b.writeUInt32LE(1, 28);
  b.writeUInt32LE(0o100644, 32);
  b.writeBigUInt64LE(77n, 40);
  b.writeUInt32LE(112, 80);
  b.writeUInt32LE(path.length, 84);
  b.writeUInt32LE(size, 88);
  b.writeUInt32LE(0, 92);
  b.writeBigUInt64LE(0x5eedn, 96);
  b.writeUInt32LE(18, 104);
  path.copy(b, 112);
  const r = decodeRecord(b) as IouringFileRecord;
  assert.equal(r.type, 90);
  assert.equal(r.path, '/tmp/f.txt');
  assert.equal(r.tgid, 1234);
  assert.equal(r.ino, 77n);
  assert.equal(r.userData, 0x5eedn);
  assert.equal(r.opcode, 18);
  assert.equal(programWanted('iouring_create_complete', new Set([11])), true);
  assert.equal(programWanted('iouring_create_complete', new Set([1, 23])), false);
});
