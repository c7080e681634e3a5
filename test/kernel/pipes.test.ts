// The pipes family stands alone: its object (pipes.bpf.o, with its own pending map) loaded
// next to the process family's only, without image.bpf.o, whose map it used to share. A FIFO
// made with mknodat (relative to a directory fd, the name resolved in user space) and one
// opened for reading and writing give records 71 and 72 with the FIFO's absolute path, and a
// regular file made by mknod gives none. The live events (17/18 through the agent) are in
// test/kernel/image.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Driver } from '../../src/kernel/loader.js';
import { decodeRecord } from '../../src/families/decode.js';
import { family as pipes } from '../../src/families/pipes/index.js';
import { PipeOp, PipeRecordType, type PipeRecord } from '../../src/families/pipes/records.js';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';
import { runCommand } from '../helpers/agent.js';

it('pipes.bpf.o alone (no image.bpf.o): mknodat of a FIFO -> record 71, its opens -> 72, a regular file -> none', async (t) => {
  if (!requirePrereq(t, missingKernelPrereq() ?? missingTool('python3'))) return;
  const objects = [DRIVER_OBJECTS[0]!, ...DRIVER_OBJECTS.filter((o) => pipes.objects.some((p) => o.endsWith(`/${p}`)))];
  assert.equal(objects.length, 2);
  assert.ok(!objects.some((o) => o.endsWith('/image.bpf.o')));
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-pipes-')));
  const driver = new Driver({ objects, wanted: (p) => p in pipes.programs });
  try {
    assert.deepEqual(driver.loadFailures, []);
    assert.deepEqual(driver.attached.sort(), Object.keys(pipes.programs).sort());
    // mknodat(dirfd, "fifo", S_IFIFO) and mknodat(dirfd, "plain", S_IFREG), then both ends of the FIFO
    const script = `
import os, stat
d = os.open(${JSON.stringify(dir)}, os.O_RDONLY | os.O_DIRECTORY)
os.mknod("fifo", 0o600 | stat.S_IFIFO, dir_fd=d)
os.mknod("plain", 0o600 | stat.S_IFREG, dir_fd=d)
r = os.open("fifo", os.O_RDONLY | os.O_NONBLOCK, dir_fd=d)
w = os.open("fifo", os.O_WRONLY, dir_fd=d)
`;
    const py = await runCommand('python3', ['-c', script]);
    assert.equal(py.code, 0);
    const mine: PipeRecord[] = [];
    const until = Date.now() + 5000;
    while (mine.filter((r) => r.type === PipeRecordType.PipeOpen).length < 2 && Date.now() < until) {
      driver.ring.drain((raw) => {
        const rec = decodeRecord(raw);
        if ((rec.type === PipeRecordType.PipeCreate || rec.type === PipeRecordType.PipeOpen) && rec.tgid === py.pid) mine.push(rec);
      });
      await new Promise((res) => setTimeout(res, 20));
    }
    const fifo = join(dir, 'fifo');
    assert.deepEqual(
      mine.map((r) => [r.type, r.op, r.path]),
      [
        [PipeRecordType.PipeCreate, PipeOp.Mknod, fifo],
        [PipeRecordType.PipeOpen, PipeOp.Open, fifo],
        [PipeRecordType.PipeOpen, PipeOp.Open, fifo],
      ],
    );
    assert.equal(driver.drops(), 0n);
  } finally {
    driver.close();
  }
});
