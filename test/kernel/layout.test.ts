// driver/include/events.h is the one definition of the record layout. This test reads the
// layout of the compiled BPF object (its BTF, via bpftool) and compares every struct the
// decoder knows with src/kernel/layout.ts: change one side only and it fails.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { it } from 'node:test';
import { LAYOUT, STRUCT_SIZES } from '../../src/kernel/layout.js';
import { DRIVER_OBJECTS } from '../../src/paths.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';

interface BtfType { kind: string; name: string; size?: number; type_id?: number; members?: { name: string; type_id: number; bits_offset: number }[]; id: number }

function btfStructs(obj: string): Map<string, BtfType> {
  const json = JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', obj, 'format', 'raw', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as { types: BtfType[] };
  const byId = new Map(json.types.map((t) => [t.id, t]));
  const structs = new Map<string, BtfType>();
  for (const t of json.types) if (t.kind === 'STRUCT' && t.name in STRUCT_SIZES) structs.set(t.name, t);
  // resolve member sizes through typedefs
  const sizeOf = (id: number): number => {
    const t = byId.get(id)!;
    if (t.size !== undefined) return t.size;
    return sizeOf(t.type_id!);
  };
  for (const s of structs.values()) for (const m of s.members ?? []) (m as { size?: number }).size = sizeOf(m.type_id);
  return structs;
}

it('the decoder layout matches events.h as compiled into every BPF object', (t) => {
  if (!requirePrereq(t, missingKernelPrereq() ?? missingTool('bpftool'))) return;
  for (const obj of DRIVER_OBJECTS) {
    const structs = btfStructs(obj);
    for (const [name, fields] of Object.entries(LAYOUT)) {
      const s = structs.get(name);
      if (!s) continue; // an object need not use every record type
      assert.equal(s.size, STRUCT_SIZES[name], `${obj}: sizeof(struct ${name})`);
      const members = new Map((s.members ?? []).map((m) => [m.name, m as typeof m & { size: number }]));
      assert.deepEqual([...members.keys()].sort(), Object.keys(fields).sort(), `${obj}: members of struct ${name}`);
      for (const [field, [off, size]] of Object.entries(fields)) {
        const m = members.get(field)!;
        assert.equal(m.bits_offset / 8, off, `${obj}: offsetof(${name}, ${field})`);
        assert.equal(m.size, size, `${obj}: sizeof(${name}.${field})`);
      }
    }
    assert.ok(structs.has('exec_record') || !obj.endsWith('process.bpf.o'), 'process.bpf.o carries its record layouts in BTF');
  }
});
