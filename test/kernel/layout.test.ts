// driver/include/events.h is the one definition of the record layout. The decoders take every
// size, offset, record number and flag from src/kernel/generated/events-h.ts, generated from
// the header by `npm run gen`. These tests need neither root nor the kernel:
// - the committed generated file is what a fresh generation gives (edit events.h without
//   running `npm run gen` and the first test fails);
// - every struct as compiled into each BPF object (its BTF, via bpftool) has the generated
//   size and offsets (a driver built against another header fails the second);
// - every struct a family declares (src/families/<family>/index.ts `structs`) is in its BPF
//   objects' BTF with that layout, and every struct of events.h is declared by some family.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { OUTPUT, readHeaderFacts, render } from '../../driver/gen/events-ts.js';
import { STRUCTS } from '../../src/kernel/generated/events-h.js';
import { LINUX_FAMILIES } from '../../src/families/linux.generated.js';
import { WINDOWS_FAMILIES } from '../../src/families/windows.generated.js';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';
import { DRIVER_OBJECTS_DIR } from '../../src/paths.js';
import { join } from 'node:path';
import { missingDriverObjects, missingTool, requirePrereq } from '../helpers/prereq.js';

interface BtfType {
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
  id: number;
}

function btfStructs(obj: string): Map<string, { size: number; fields: Record<string, [number, number]> }> {
  const json = JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', obj, 'format', 'raw', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as {
    types: BtfType[];
  };
  const byId = new Map(json.types.map((t) => [t.id, t]));
  const sizeOf = (id: number): number => {
    const t = byId.get(id)!;
    if (t.kind === 'ARRAY') return sizeOf(t.type_id!) * t.nr_elems!;
    if (t.size !== undefined) return t.size;
    return sizeOf(t.type_id!);
  };
  const out = new Map<string, { size: number; fields: Record<string, [number, number]> }>();
  for (const t of json.types) {
    if (t.kind !== 'STRUCT' || !(t.name in STRUCTS)) continue;
    out.set(t.name, { size: t.size!, fields: Object.fromEntries((t.members ?? []).map((m) => [m.name, [m.bits_offset / 8, sizeOf(m.type_id)]])) });
  }
  return out;
}

it('src/kernel/generated/events-h.ts is what `npm run gen` makes of events.h now', (t) => {
  if (!requirePrereq(t, missingTool('clang', 'bpftool'))) return;
  assert.equal(readFileSync(OUTPUT, 'utf8'), render(readHeaderFacts()), 'events.h changed: run `npm run gen` and commit the result');
});

it('every BPF object carries the generated layout of each record it uses', (t) => {
  if (!requirePrereq(t, missingDriverObjects() ?? missingTool('bpftool'))) return;
  let seen = 0;
  for (const obj of DRIVER_OBJECTS) {
    for (const [name, got] of btfStructs(obj)) {
      const want = STRUCTS[name as keyof typeof STRUCTS];
      assert.deepEqual(got, { size: want.size, fields: want.fields }, `${obj}: struct ${name}`);
      seen++;
    }
    if (obj.endsWith('process.bpf.o')) assert.ok(btfStructs(obj).has('exec_record'), 'process.bpf.o carries its record layouts in BTF');
  }
  assert.ok(seen > 10, `compared ${seen} structs`);
});

it("every struct a Linux family declares is in its objects' BTF, with the generated layout", (t) => {
  if (!requirePrereq(t, missingDriverObjects() ?? missingTool('bpftool'))) return;
  for (const f of LINUX_FAMILIES) {
    const inObjects = new Map(f.objects.flatMap((o) => [...btfStructs(join(DRIVER_OBJECTS_DIR, o))]));
    for (const name of f.structs) {
      const want = STRUCTS[name];
      assert.deepEqual(inObjects.get(name), { size: want.size, fields: want.fields }, `src/families/${f.name}: struct ${name} in ${f.objects.join(', ')}`);
    }
  }
});

it('every struct of events.h is declared by a family', () => {
  const declared = new Set([...LINUX_FAMILIES, ...WINDOWS_FAMILIES].flatMap((f) => f.structs));
  assert.deepEqual(
    Object.keys(STRUCTS).filter((s) => !declared.has(s as keyof typeof STRUCTS)),
    [],
  );
});
