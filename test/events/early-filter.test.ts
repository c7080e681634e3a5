// The early filter (src/events/early-filter.ts) against the engine's verdict on the complete
// event: whatever Hashes and the container turn out to be, an event dropped early must be one
// the full evaluation drops too. Real configs and generated events (test/config/gen.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, type Config } from '../../src/config/index.js';
import { EarlyFilter, earlyFilter } from '../../src/events/early-filter.js';
import { Capture } from '../../src/capture.js';
import { containers } from '../../src/events/containers.js';
import { GuidMaker } from '../../src/events/guid.js';
import { UserNames } from '../../src/events/host.js';
import { ProcessTable } from '../../src/events/processes.js';
import { PROCESS_SIZES, ProcessRecordType } from '../../src/families/process/records.js';
import type { ContainerContext, SysmonEvent } from '../../src/events/event.js';
import { eventsFromConfig, rng } from '../config/gen.js';
import { cfg, ev } from '../config/helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/configs/', import.meta.url));
const DEFAULT = fileURLToPath(new URL('../../src/config/default.xml', import.meta.url));

const HASHES = ['-', 'SHA256=63E34CBC6B3B616662704738BDF57B2681D54CCAD5CF5CC1F86014EDF4CE598B', 'MD5=0123,SHA256=abcd,IMPHASH=-'];
const CONTAINERS: (ContainerContext | undefined)[] = [undefined, { id: 'a'.repeat(64), runtime: 'docker', cgroup: '/docker/x' }];

/** `e` as the handler builds it: late fields not known yet */
function early(e: SysmonEvent): SysmonEvent {
  const data = { ...e.data };
  if ('Hashes' in data) data.Hashes = '-';
  return { id: e.id, recordId: 0, timeNs: 0n, data };
}

/** every completion of `e`'s late fields */
function completions(e: SysmonEvent): SysmonEvent[] {
  const out: SysmonEvent[] = [];
  for (const h of 'Hashes' in e.data ? HASHES : [undefined]) {
    for (const c of CONTAINERS) {
      const data = { ...e.data };
      if (h !== undefined) data.Hashes = h;
      out.push({ id: e.id, recordId: 0, timeNs: 0n, data, ...(c ? { container: c } : {}) });
    }
  }
  return out;
}

function check(name: string, c: Config, events: SysmonEvent[]): { dropped: number; fullDrops: number } {
  const f = new EarlyFilter();
  f.configure(c);
  let dropped = 0,
    fullDrops = 0;
  for (const e of events) {
    const drops = f.drops(early(e));
    for (const full of completions(e)) {
      const keep = c.engine.evaluate(full).keep;
      if (!keep) fullDrops++;
      if (drops && keep)
        assert.fail(`${name}: dropped early but kept complete: ${JSON.stringify({ id: full.id, data: full.data, container: full.container })}`);
    }
    if (drops) dropped++;
  }
  assert.equal(f.dropped, dropped, 'the drop counter counts every early drop');
  return { dropped, fullDrops };
}

for (const file of ['sysmon-modular-sysmonconfig.xml', 'mstic-linux-main.xml', 'linux-small.xml']) {
  test(`early drops are a subset of the complete event's drops: ${file} (ProcessCreate, ImageLoad and every other ID)`, () => {
    const c = loadConfigFile(FIXTURES + file);
    const events = [...eventsFromConfig(c.parsed, 5_000, 11), ...eventsFromConfig(c.parsed, 5_000, 12, 0.6, [1, 7])];
    const { dropped } = check(file, c, events);
    // not a filter that never drops: these configs drop most generated events
    assert.ok(dropped > 1_000, `dropped early ${dropped}`);
  });
}

test('the bundled default config: only what it excludes is dropped early', () => {
  const c = loadConfigFile(DEFAULT);
  const events = eventsFromConfig(c.parsed, 5_000, 5);
  check('default.xml', c, events);
  const f = new EarlyFilter();
  f.configure(c);
  assert.equal(f.drops(ev(1, { Image: '/usr/bin/ls' })), false, 'every ProcessCreate is logged');
  assert.equal(f.drops(ev(11, { TargetFilename: '/proc/1/x' })), true, '/proc is excluded');
});

test('an event ID whose rules read Hashes or a container field is never decided early', () => {
  const byHash = cfg('<ProcessCreate onmatch="include"><Hashes condition="contains">SHA256=AB</Hashes></ProcessCreate>');
  const byContainer = cfg('<ImageLoad onmatch="include"><ContainerRuntime condition="is">docker</ContainerRuntime></ImageLoad>');
  for (const [c, id] of [
    [byHash, 1],
    [byContainer, 7],
  ] as const) {
    const f = new EarlyFilter();
    f.configure(c);
    const e = ev(id);
    assert.equal(c.engine.evaluate(e).keep, false, 'the engine drops the incomplete event');
    assert.equal(f.drops(e), false, 'but the early filter leaves it to the complete evaluation');
  }
  // other IDs of the same config are still decided early
  const f = new EarlyFilter();
  f.configure(
    cfg(
      '<ProcessCreate onmatch="include"><Hashes condition="contains">x</Hashes></ProcessCreate><NetworkConnect onmatch="include"><Image condition="is">/a</Image></NetworkConnect>',
    ),
  );
  assert.equal(f.drops(ev(3, { Image: '/b' })), true);
});

test('unconfigured, or configured with null, it drops nothing', () => {
  const f = new EarlyFilter();
  assert.equal(f.drops(ev(11)), false);
  f.configure(cfg('<FileCreate onmatch="include"><TargetFilename condition="is">/a</TargetFilename></FileCreate>'));
  assert.equal(f.drops(ev(11, { TargetFilename: '/b' })), true);
  f.configure(null);
  assert.equal(f.drops(ev(11, { TargetFilename: '/b' })), false);
});

test('random mutations of real events keep the subset property (sysmon-modular, 20,000 ProcessCreate)', () => {
  const c = loadConfigFile(FIXTURES + 'sysmon-modular-sysmonconfig.xml');
  const r = rng(99);
  const events = eventsFromConfig(c.parsed, 20_000, 13, 0.8, [1]).map((e) => (r() < 0.5 ? e : { ...e, data: { ...e.data, Hashes: HASHES[1]! } }));
  check('sysmon-modular ProcessCreate', c, events);
});

/** an exit record (src/families/process/records.ts layout) of a process the table never saw */
function exitRecord(pid: number): Buffer {
  const b = Buffer.alloc(PROCESS_SIZES.exit_record);
  b.writeUInt16LE(ProcessRecordType.Exit, 0);
  b.writeUInt32LE(b.length, 4);
  b.writeBigUInt64LE(123_000_000_000n, 8);
  b.writeUInt32LE(pid, 16);
  b.writeUInt32LE(pid, 20);
  return b;
}

test('Capture drops what the config surely drops before the container lookup (no /proc read), keeps the rest', () => {
  // a pid above any pid_max: /proc/PID/cgroup cannot exist, the lookup would walk to the parent
  const pid = 4_194_400;
  const run = (c: Config | null) => {
    earlyFilter.configure(c);
    try {
      const capture = new Capture(new ProcessTable(new GuidMaker(0x1234, 1_700_000_000), new UserNames()), 0n);
      const out: SysmonEvent[] = [];
      const reads = containers.stats.procReads;
      capture.onRecord(exitRecord(pid), out);
      return { out, reads: containers.stats.procReads - reads };
    } finally {
      earlyFilter.configure(null);
    }
  };
  const dropping = run(cfg('<ProcessTerminate onmatch="include"><Image condition="is">/usr/bin/never</Image></ProcessTerminate>'));
  assert.equal(dropping.out.length, 0);
  assert.equal(dropping.reads, 0, 'no /proc read for an event the config drops');
  const keeping = run(cfg('<ProcessTerminate onmatch="exclude"/>'));
  assert.deepEqual(
    keeping.out.map((e) => e.id),
    [5],
  );
  assert.ok(keeping.reads >= 1, 'a kept event still gets its container context');
  const unconfigured = run(null);
  assert.deepEqual(
    unconfigured.out.map((e) => e.id),
    [5],
  );
});
