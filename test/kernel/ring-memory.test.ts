// The ring's data pages are mapped once (a page mapped twice counts twice in RSS: a 16 MiB
// ring showed as 32 MB of the agent's RSS), and records that wrap past the end of the data
// area still arrive whole: a real kernel ring, small enough that a burst of execs wraps it
// several times, every exec record of the burst decoded with its argv (CommandLine) intact.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { Driver } from '../../src/kernel/loader.js';
import { decodeRecord } from '../../src/families/decode.js';
import { ProcessRecordType, type ExecRecord } from '../../src/families/process/records.js';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';
import { runCommand } from '../helpers/agent.js';

const PAGE = 4096;
const RING = 64 * 1024;
const EXECS = 1500; // ~210 bytes each: ~5 times round the ring

/** lengths of this process's mappings of BPF maps (/proc/self/maps) */
function bpfMappings(): number[] {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('anon_inode:bpf-map'))
    .map((l) => {
      const [a, b] = l
        .split(' ')[0]!
        .split('-')
        .map((x) => Number.parseInt(x, 16));
      return b! - a!;
    });
}

it('maps the ring data once and hands on wrapped records whole', async (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  const before = bpfMappings().length;
  const driver = new Driver({ objects: [DRIVER_OBJECTS[0]!], ringBytes: RING, wanted: (p) => p === 'process_exec' });
  try {
    const mine = bpfMappings().slice(before);
    assert.ok(mine.includes(PAGE + RING), `producer page + data area mapped (${mine.join(', ')})`);
    assert.ok(
      mine.every((len) => len < 2 * RING),
      `no mapping holds the data area twice (${mine.join(', ')})`,
    );

    const marker = `ringwrap${process.pid}x`;
    const burst = runCommand('/bin/sh', ['-c', `i=0; while [ $i -lt ${EXECS} ]; do /bin/true ${marker}$i; i=$((i+1)); done`]);
    let done = false;
    void burst.then(() => {
      done = true;
    });
    const seen = new Set<number>();
    let bytes = 0;
    let joined = 0;
    let ringBuffer: ArrayBufferLike | null = null;
    const drain = () =>
      driver.ring.drain((raw) => {
        bytes += raw.length;
        // records read in place share the mapping's buffer; a wrapped one is a copy of its own
        ringBuffer ??= raw.buffer;
        if (raw.buffer !== ringBuffer) joined++;
        const rec = decodeRecord(raw);
        if (rec.type !== ProcessRecordType.Exec) return;
        const e = rec as ExecRecord;
        const arg = e.commandLine.split(' ')[1] ?? '';
        if (e.exe === '/usr/bin/true' || e.exe === '/bin/true') {
          if (arg.startsWith(marker)) {
            assert.equal(e.commandLine, `/bin/true ${arg}`, 'argv intact');
            seen.add(Number(arg.slice(marker.length)));
          }
        }
      });
    const until = Date.now() + 60_000;
    while ((!done || seen.size < EXECS) && Date.now() < until) {
      drain();
      await new Promise((r) => setTimeout(r, 2));
    }
    drain();
    assert.equal((await burst).code, 0);
    assert.equal(driver.drops(), 0n, 'nothing lost in the kernel (the test drains fast enough)');
    assert.ok(bytes > 2 * RING, `the burst wrapped the ring (${bytes} bytes through a ${RING}-byte ring)`);
    assert.equal(seen.size, EXECS, 'every exec of the burst arrived, decoded');
    assert.ok(joined > 0, 'some records wrapped past the end and were joined');
  } finally {
    driver.close();
  }
});
