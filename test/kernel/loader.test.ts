// An optional event family this kernel cannot load costs only its own events: the driver
// still loads the process family and the ring, and names what failed (the agent reports it
// as event 255). Only the first object (process family) is required.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { Driver, DriverError } from '../../src/kernel/loader.js';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

it('loads the required family and reports an optional object that fails', (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  const bogus = join(mkdtempSync(join(tmpdir(), 'sysmon-ts-loader-')), 'broken.bpf.o');
  writeFileSync(bogus, 'not an ELF object');
  const driver = new Driver({ objects: [DRIVER_OBJECTS[0]!, bogus], wanted: () => true });
  try {
    assert.equal(driver.loadFailures.length, 1);
    assert.equal(driver.loadFailures[0]!.object, bogus);
    assert.ok(driver.attached.includes('process_exec'));
    assert.equal(typeof driver.ring.pending(), 'number');
  } finally {
    driver.close();
  }
});

it('refuses to start without the required process family', (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  assert.throws(() => new Driver({ objects: ['/nonexistent/process.bpf.o'] }), DriverError);
});

it('every program the event map names exists in the driver objects (no stale names)', async (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  const { LINUX_FAMILIES } = await import('../../src/families/linux.generated.js');
  const { programAttach } = await import('../../src/families/registry.js');
  const driver = new Driver({ objects: DRIVER_OBJECTS, wanted: () => false });
  try {
    const loaded = new Set(driver.programNames);
    const stale = [...programAttach(LINUX_FAMILIES).keys()].filter((p) => !loaded.has(p));
    assert.deepEqual(stale, [], 'programs a family descriptor (src/families/*/index.ts) names that no loaded object has');
  } finally {
    driver.close();
  }
});

it('Driver.open (objects loaded in parallel on the pool) gives the one-after-another result, sharing one ring', async (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  const { decodeRecord } = await import('../../src/families/decode.js');
  const { FileRecordType } = await import('../../src/families/file/records.js');
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-loader-'));
  const bogus = join(dir, 'broken.bpf.o');
  writeFileSync(bogus, 'not an ELF object');
  const objects = [...DRIVER_OBJECTS.slice(0, 3), bogus, ...DRIVER_OBJECTS.slice(3)];
  const wanted = (p: string) => p === 'process_exec' || p.startsWith('file_create_');
  const serial = new Driver({ objects, wanted: () => false });
  const serialNames = serial.programNames;
  serial.close();
  const driver = await Driver.open({ objects, wanted });
  try {
    assert.deepEqual(driver.programNames, serialNames, "the same programs, in the objects' order");
    assert.deepEqual(
      driver.loadFailures.map((f) => f.object),
      [bogus],
    );
    assert.ok(driver.attached.includes('process_exec') && driver.attached.some((p) => p.startsWith('file_create_')));
    assert.ok(driver.attached.every(wanted));
    // a record from an object loaded on the pool reaches the first object's ring
    const path = join(dir, `created-${process.pid}`);
    writeFileSync(path, 'x');
    let found = false;
    const until = Date.now() + 5000;
    while (!found && Date.now() < until) {
      driver.ring.drain((raw) => {
        const rec = decodeRecord(raw) as { type: number; path?: string };
        if (rec.type === FileRecordType.Create && rec.path === path) found = true;
      });
      if (!found) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(found, `file create record of ${path} in the shared ring`);
  } finally {
    driver.close();
  }
});

it('Driver.open refuses to start without the required process family', async (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  await assert.rejects(Driver.open({ objects: ['/nonexistent/process.bpf.o', ...DRIVER_OBJECTS.slice(1)] }), DriverError);
});
