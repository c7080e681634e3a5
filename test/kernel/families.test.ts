// Nothing of a record family can be left out unnoticed. Each family declares itself in
// src/families/<family>/index.ts (src/families/descriptor.ts) and `npm run gen` lists them in
// src/families/linux.generated.ts and windows.generated.ts; these tests fail when:
// - a folder of src/families/ is not in the generated lists (gen forgotten), or has no index.ts;
// - a driver/linux/*.bpf.c belongs to no family (it would never be loaded), or a family names
//   an object with no source;
// - a program of an object is not declared by its family (it would be attached whatever the
//   config logs), or a family declares a program its objects do not have;
// - a record type of events.h has no decoder and handler, or one is claimed twice, or a family
//   decodes a type events.h does not declare.
// Reads the sources and the built objects (llvm-readelf): no root, no kernel.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FAMILIES_OUTPUTS, renderFamilies, scanFamilies } from '../../driver/gen/families-ts.js';
import { ALWAYS, linuxFamily, type Decoder } from '../../src/families/descriptor.js';
import { LINUX_FAMILIES } from '../../src/families/linux.generated.js';
import { WINDOWS_FAMILIES } from '../../src/families/windows.generated.js';
import { LINUX_RECORD_TABLE } from '../../src/families/decode.js';
import { programAttach, programChooser, recordTable } from '../../src/families/registry.js';
import { DeviceMap } from '../../src/families/windows/paths.js';
import { ENUMS } from '../../src/kernel/generated/events-h.js';
import { DRIVER_OBJECTS_DIR, ROOT } from '../../src/paths.js';
import { missingDriverObjects, missingTool, requirePrereq } from '../helpers/prereq.js';

/** the BPF programs of an object: its global functions */
function programsOf(obj: string): string[] {
  const out = execFileSync('llvm-readelf', ['-s', obj], { encoding: 'utf8' });
  return [...out.matchAll(/^\s*\d+:\s+\S+\s+\d+\s+FUNC\s+GLOBAL\s+\S+\s+\S+\s+(\S+)$/gm)].map((m) => m[1]!);
}

/** every record type events.h declares: the values of `enum record_type` and every `enum *_record_type` */
function eventsHRecordTypes(): number[] {
  return Object.entries(ENUMS)
    .filter(([name]) => name === 'record_type' || name.endsWith('_record_type'))
    .flatMap(([, values]) => Object.values(values) as number[])
    .sort((a, b) => a - b);
}

const numbers = (o: object): number[] =>
  Object.keys(o)
    .map(Number)
    .sort((a, b) => a - b);

it('the generated family lists name every folder of src/families/ (what `npm run gen` makes now)', async () => {
  const fresh = renderFamilies(await scanFamilies());
  for (const platform of ['linux', 'win32'] as const) {
    assert.equal(readFileSync(FAMILIES_OUTPUTS[platform], 'utf8'), fresh[platform], 'a family folder changed: run `npm run gen` and commit the result');
  }
  const folders = readdirSync(join(ROOT, 'src/families'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  assert.deepEqual([...LINUX_FAMILIES, ...WINDOWS_FAMILIES].map((f) => f.name).sort(), folders);
  assert.equal(LINUX_FAMILIES[0].required, true, 'the required family (it makes the ring) is loaded first');
});

it('every driver/linux/*.bpf.c is the object of exactly one Linux family, and every family object has a source', () => {
  const sources = readdirSync(join(ROOT, 'driver/linux'))
    .filter((f) => f.endsWith('.bpf.c'))
    .map((f) => f.replace(/\.c$/, '.o'))
    .sort();
  const objects = LINUX_FAMILIES.flatMap((f) => f.objects).sort();
  assert.deepEqual(objects, sources);
});

it("every program of a family's objects is declared by that family, and every declared program exists", (t) => {
  if (!requirePrereq(t, missingDriverObjects() ?? missingTool('llvm-readelf'))) return;
  let total = 0;
  for (const f of LINUX_FAMILIES) {
    const programs = f.objects.flatMap((o) => programsOf(join(DRIVER_OBJECTS_DIR, o)));
    total += programs.length;
    const declared = Object.keys(f.programs);
    assert.deepEqual(
      programs.filter((p) => !declared.includes(p)),
      [],
      `programs of ${f.objects.join(', ')} that src/families/${f.name}/index.ts does not declare (they would be attached whatever the config logs)`,
    );
    assert.deepEqual(
      declared.filter((p) => !programs.includes(p)),
      [],
      `programs src/families/${f.name}/index.ts declares that its objects do not have`,
    );
    for (const [p, a] of Object.entries(f.programs)) assert.ok(a === ALWAYS || a.length > 0, `${p}: no event and not ALWAYS`);
  }
  assert.ok(total > 50, `found ${total} programs`);
  programAttach(LINUX_FAMILIES); // throws on a program two families declare
});

it('every Linux record type of events.h has one decoder and one handler, and nothing else has one', () => {
  const linux = eventsHRecordTypes().filter((t) => t < 200);
  const decoded = LINUX_FAMILIES.flatMap((f) => numbers(f.decoders)).sort((a, b) => a - b);
  assert.deepEqual(decoded, linux, "Linux families' decoders vs events.h (a type decoded twice shows twice)");
  for (const t of linux) {
    assert.equal(typeof LINUX_RECORD_TABLE.decoders[t], 'function', `decoder of ${t}`);
    assert.equal(typeof LINUX_RECORD_TABLE.handlers[t], 'function', `handler of ${t}`);
  }
  assert.deepEqual(
    LINUX_RECORD_TABLE.handlers.map((h, t) => (h ? t : -1)).filter((t) => t >= 0),
    linux,
  );
});

it('the Windows family decodes and handles its own records (200-239) and the Linux ones its driver writes', () => {
  const windows = eventsHRecordTypes().filter((t) => t >= 200);
  const [family] = WINDOWS_FAMILIES;
  const types = numbers(family.decoders);
  assert.deepEqual(
    types.filter((t) => t >= 200),
    windows,
    'Windows decoders vs events.h',
  );
  assert.deepEqual(
    types.filter((t) => t < 200),
    [3, 40, 41, 44],
    'the shared records events.h says the Windows driver writes',
  );
  const bound = family.bind({ machineGuid: '00000000-0000-0000-0000-000000000000', devices: new DeviceMap([], 'C:\\Windows'), accountName: (s) => s });
  assert.deepEqual(numbers(bound.handlers), types);
  recordTable([{ ...family, handlers: bound.handlers }]);
});

describe('the checks fail when a piece is missing', () => {
  const decodeA: Decoder<{ type: 1; tgid: number; a: string }> = () => ({ type: 1, tgid: 0, a: '' });
  const decodeB: Decoder<{ type: 2; tgid: number; b: number }> = () => ({ type: 2, tgid: 0, b: 0 });

  it('a record type without a handler does not compile, nor a handler given the wrong record, nor a decoder under another type', () => {
    const base = { name: 'x', platform: 'linux', objects: [], programs: {}, structs: [] } as const;
    // @ts-expect-error record type 2 has a decoder and no handler
    linuxFamily({ ...base, decoders: { 1: decodeA, 2: decodeB }, handlers: { 1: () => {} } });
    // @ts-expect-error the handler of 2 receives what decodeB returns, which has no `a`
    linuxFamily({ ...base, decoders: { 1: decodeA, 2: decodeB }, handlers: { 1: (r) => r.a, 2: (r) => r.a } });
    // @ts-expect-error decodeA returns records of type 1: it cannot be the decoder of type 3 (renumbered in events.h)
    linuxFamily({ ...base, decoders: { 3: decodeA }, handlers: { 3: () => {} } });
    linuxFamily({ ...base, decoders: { 1: decodeA, 2: decodeB }, handlers: { 1: (r) => void r.a, 2: (r) => void r.b } });
  });

  it('the table refuses a decoder without handler, a handler without decoder, a type claimed twice', () => {
    const f = (name: string, decoders: object, handlers: object) => ({ name, structs: [], decoders, handlers }) as Parameters<typeof recordTable>[0][number];
    assert.throws(() => recordTable([f('x', { 1: decodeA, 2: decodeB }, { 1: () => {} })]), /record type 2 has a decoder and no handler/);
    assert.throws(() => recordTable([f('x', { 1: decodeA }, { 1: () => {}, 2: () => {} })]), /record type 2 has a handler and no decoder/);
    assert.throws(() => recordTable([f('x', { 1: decodeA }, { 1: () => {} }), f('y', { 1: decodeA }, { 1: () => {} })]), /claimed by both x and y/);
  });

  it('a program declared by two families is refused', () => {
    const f = (name: string) => ({ ...LINUX_FAMILIES[0], name, programs: { same_prog: [1] } });
    assert.throws(() => programAttach([f('x'), f('y')]), /same_prog is declared by both x and y/);
  });

  it('a program no family declares is attached; a declared one only for its events', () => {
    const wanted = programChooser(LINUX_FAMILIES);
    assert.equal(wanted('no_family_declares_this', new Set()), true);
    assert.equal(wanted('pipe_x_open', new Set([1])), false);
    assert.equal(wanted('pipe_x_open', new Set([18])), true);
    assert.equal(wanted('container_attach', new Set()), true);
  });

  it('the generator refuses a folder without index.ts', async (t) => {
    const { mkdtempSync, mkdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-families-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'stray'));
    await assert.rejects(scanFamilies(dir), /src\/families\/stray\/ has no index.ts/);
  });
});
