// The exec record's facts that spare the agent a syscall per exec: the executable's inode
// (the hash cache key, no stat), the cgroup v2 id (the container lookup, once per cgroup) and
// whether it runs in exactly its parent's cgroups (the parent's container context is its own).
// Checked against stat() of the real binary and of the process's real cgroup directory.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Driver } from '../../src/kernel/loader.js';
import { decodeRecord } from '../../src/families/decode.js';
import { ProcessRecordType, readExecKeptFacts, type ExecKeptFacts, type ExecRecord } from '../../src/families/process/records.js';
import { userDev } from '../../src/families/file/records.js';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';
import { RecordFlag } from '../../src/kernel/records/common.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';
import { runCommand } from '../helpers/agent.js';

it('an exec record carries the inode the kernel ran and the cgroup v2 id it ran in', async (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  // a private copy: a unique path and inode that only this test execs
  const bin = join(mkdtempSync(join(tmpdir(), 'sysmon-ts-exec-')), 'true-copy');
  copyFileSync('/bin/true', bin);
  const st = statSync(bin, { bigint: true });
  let cgroup = '';
  const driver = new Driver({ objects: [DRIVER_OBJECTS[0]!], wanted: () => true });
  try {
    // a cgroup of its own, so the id is not the root's (1) by chance
    const mount = /^\S+ (\S+) cgroup2 /m.exec(readFileSync('/proc/mounts', 'utf8'))?.[1];
    assert.ok(mount, 'a cgroup2 mount (hybrid hosts mount it at /sys/fs/cgroup/unified)');
    cgroup = join(mount, `sysmon-ts-test-${process.pid}`);
    mkdirSync(cgroup);
    const r = await runCommand('/bin/sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ${bin} marker`]);
    // and one that stays where its parent (this test) is
    const stay = await runCommand('/bin/sh', ['-c', `exec ${bin} marker`]);
    const seen = new Map<number, ExecRecord & ExecKeptFacts>();
    const until = Date.now() + 5000;
    while (seen.size < 2 && Date.now() < until) {
      driver.ring.drain((raw) => {
        const rec = decodeRecord(raw);
        // the facts a kept ProcessCreate reads from the record, read while the view is valid
        if (rec.type === ProcessRecordType.Exec && (rec.tgid === r.pid || rec.tgid === stay.pid) && rec.exe === bin)
          seen.set(rec.tgid, { ...rec, ...readExecKeptFacts(raw) });
      });
      if (seen.size < 2) await new Promise((res) => setTimeout(res, 20));
    }
    const found = seen.get(r.pid);
    assert.ok(found, `exec record of ${bin} (pid ${r.pid})`);
    const stayed = seen.get(stay.pid);
    assert.ok(stayed, `exec record of ${bin} (pid ${stay.pid})`);
    assert.equal(stayed.flags & RecordFlag.ParentCgroups, RecordFlag.ParentCgroups, "in its parent's cgroups: flagged");
    assert.equal(found.flags & RecordFlag.ParentCgroups, 0, 'moved to a cgroup of its own: not flagged');
    assert.equal(userDev(found.exeFile.dev), Number(st.dev), 'device, in stat st_dev form');
    assert.equal(found.exeFile.ino, st.ino);
    assert.equal(found.exeFile.size, st.size);
    assert.equal(found.exeFile.mtimeNs, st.mtimeNs);
    assert.equal(r.code, 0);
    assert.equal(found.cgroupId, statSync(cgroup, { bigint: true }).ino, 'the cgroup v2 id is its directory inode');
    assert.notEqual(found.cgroupId, 1n);
  } finally {
    driver.close();
    if (cgroup) rmdirSync(cgroup);
  }
});
