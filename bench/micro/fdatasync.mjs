// fs.fdatasync(fd, cb) vs FileHandle.datasync(): main-thread time of the call and process CPU: node bench/micro/fdatasync.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
const dir = mkdtempSync(tmpdir() + '/sysmon-ts-fsync-');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
import * as fs from 'node:fs';
import { open } from 'node:fs/promises';
const fd = fs.openSync(dir + '/slot2', 'w+');
const b = Buffer.alloc(256, 65);
const N = 200;
let callMs = 0, waitMs = 0;
const cpu0 = process.cpuUsage();
for (let i = 0; i < N; i++) {
  fs.writeSync(fd, b, 0, 256, (i & 1) * 256);
  const t0 = performance.now();
  await new Promise((r) => { fs.fdatasync(fd, r); callMs += performance.now() - t0; });
  waitMs += performance.now() - t0;
}
const c = process.cpuUsage(cpu0);
console.log(`fs.fdatasync(cb): call returns in ${(callMs / N * 1000).toFixed(0)} us, completes in ${(waitMs / N * 1000).toFixed(0)} us, process CPU ${((c.user + c.system) / N).toFixed(0)} us/op`);
const fh = await open(dir + '/slot3', 'w+');
callMs = 0; waitMs = 0;
const cpu1 = process.cpuUsage();
for (let i = 0; i < N; i++) {
  await fh.write(b, 0, 256, (i & 1) * 256);
  const t0 = performance.now();
  const p = fh.datasync(); callMs += performance.now() - t0;
  await p; waitMs += performance.now() - t0;
}
const c1 = process.cpuUsage(cpu1);
console.log(`FileHandle.datasync: call returns in ${(callMs / N * 1000).toFixed(0)} us, completes in ${(waitMs / N * 1000).toFixed(0)} us, process CPU ${((c1.user + c1.system) / N).toFixed(0)} us/op`);
