// Generates src/kernel/generated/events-h.ts from driver/include/events.h: every struct's size
// and member offsets, every enum, every integer #define. The compiler computes them (clang
// compiles the header for BPF with BTF; bpftool dumps the BTF), so the TypeScript side never
// copies a number by hand. `npm run gen` writes the file; test/kernel/events-h.test.ts fails when
// the committed file differs from a fresh generation, or the decoders from the generated file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const HEADER = join(ROOT, 'driver/include/events.h');
export const OUTPUT = join(ROOT, 'src/kernel/generated/events-h.ts');

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: { name: string; type_id: number; bits_offset: number }[];
  values?: { name: string }[];
}

export interface HeaderFacts {
  structs: Record<string, { size: number; fields: Record<string, [number, number]> }>;
  enums: Record<string, Record<string, number>>;
  defines: Record<string, number>;
}

/** Names declared in the header, in their order: what the probe program must reference. */
function declared(text: string): { structs: string[]; enums: string[]; defines: string[] } {
  const structs = [...text.matchAll(/^struct (\w+) \{/gm)].map((m) => m[1]!);
  const enums = [...text.matchAll(/^enum (\w+) \{/gm)].map((m) => m[1]!);
  // object-like macros with a value (not the include guard, not function-like)
  const defines = [...text.matchAll(/^#define (\w+)[ \t]+\S/gm)].map((m) => m[1]!);
  return { structs, enums, defines };
}

/** Compiles a probe that uses every declared name and reads the layout back from its BTF. */
export function readHeaderFacts(header = HEADER): HeaderFacts {
  const text = readFileSync(header, 'utf8');
  const names = declared(text);
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-gen-'));
  try {
    const probe = [
      // the fixed-width types as vmlinux.h gives them, so no system header is needed
      '#define __VMLINUX_H__',
      'typedef unsigned char __u8; typedef unsigned short __u16; typedef unsigned int __u32; typedef unsigned long long __u64;',
      'typedef signed char __s8; typedef short __s16; typedef int __s32; typedef long long __s64;',
      `#include "${header}"`,
      ...names.structs.map((s) => `struct ${s} *__gen_struct_${s};`),
      ...names.enums.map((e) => `enum ${e} __gen_enum_${e};`),
      // each macro as enum values, so BTF carries it with the compiler's arithmetic; BTF enum
      // values are 32-bit, so the high and low halves go separately
      `enum __gen_lo : unsigned long long { ${names.defines.map((d) => `__gen_lo_${d} = ((unsigned long long)(${d}) & 0xffffffffull)`).join(', ')} };`,
      `enum __gen_hi : unsigned long long { ${names.defines.map((d) => `__gen_hi_${d} = ((unsigned long long)(${d}) >> 32)`).join(', ')} };`,
      'enum __gen_lo __gen_lo_use; enum __gen_hi __gen_hi_use;',
    ].join('\n');
    writeFileSync(join(dir, 'probe.c'), probe + '\n');
    execFileSync('clang', ['-g', '-O0', '-target', 'bpf', '-std=gnu2x', '-c', join(dir, 'probe.c'), '-o', join(dir, 'probe.o')], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const obj = join(dir, 'probe.o');
    const btf = JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', obj, 'format', 'raw', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as {
      types: BtfType[];
    };
    // enum values from the text dump: bpftool's JSON sign-extends them and JSON numbers lose bits
    const enumValues = new Map<string, number>();
    for (const m of execFileSync('bpftool', ['btf', 'dump', 'file', obj, 'format', 'raw'], { encoding: 'utf8', maxBuffer: 64 << 20 }).matchAll(
      /^\t'(\w+)' val=(-?\d+)$/gm,
    )) {
      enumValues.set(m[1]!, Number(m[2]));
    }
    return factsFromBtf(btf.types, names, enumValues);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function factsFromBtf(types: BtfType[], names: ReturnType<typeof declared>, enumValues: Map<string, number>): HeaderFacts {
  const byId = new Map(types.map((t) => [t.id, t]));
  const sizeOf = (id: number): number => {
    const t = byId.get(id)!;
    if (t.kind === 'ARRAY') return sizeOf(t.type_id!) * t.nr_elems!;
    if (t.size !== undefined) return t.size;
    return sizeOf(t.type_id!);
  };
  const named = (kind: string[], name: string) => types.find((t) => kind.includes(t.kind) && t.name === name);
  const facts: HeaderFacts = { structs: {}, enums: {}, defines: {} };
  for (const s of names.structs) {
    const t = named(['STRUCT'], s);
    if (!t) throw new Error(`struct ${s} is not in the probe's BTF`);
    const fields: Record<string, [number, number]> = {};
    for (const m of t.members ?? []) fields[m.name] = [m.bits_offset / 8, sizeOf(m.type_id)];
    facts.structs[s] = { size: t.size!, fields };
  }
  for (const e of names.enums) {
    const t = named(['ENUM', 'ENUM64'], e);
    if (!t) throw new Error(`enum ${e} is not in the probe's BTF`);
    facts.enums[e] = Object.fromEntries((t.values ?? []).map((v) => [v.name, enumValues.get(v.name)!]));
  }
  for (const d of names.defines) {
    const value = enumValues.get(`__gen_hi_${d}`)! * 2 ** 32 + enumValues.get(`__gen_lo_${d}`)!;
    if (!Number.isSafeInteger(value)) throw new Error(`#define ${d} (${value}) is beyond a JavaScript number's exact range`);
    facts.defines[d] = value;
  }
  return facts;
}

export function render(f: HeaderFacts): string {
  const lines = [
    '// GENERATED from driver/include/events.h by `npm run gen` (driver/gen/events-ts.ts): do not edit.',
    "// Sizes and offsets are the compiler's (clang -target bpf, read back from BTF).",
    '',
    '/** sizeof and [offset, size] of every member, per struct */',
    'export const STRUCTS = {',
    ...Object.entries(f.structs).map(
      ([n, s]) =>
        `  ${n}: { size: ${s.size}, fields: { ${Object.entries(s.fields)
          .map(([k, [o, z]]) => `${k}: [${o}, ${z}]`)
          .join(', ')} } },`,
    ),
    '} as const;',
    '',
    '/** every enum of the header, by enum name */',
    'export const ENUMS = {',
    ...Object.entries(f.enums).map(
      ([n, vs]) =>
        `  ${n}: { ${Object.entries(vs)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')} },`,
    ),
    '} as const;',
    '',
    '/** every integer #define of the header, evaluated */',
    'export const DEFINES = {',
    ...Object.entries(f.defines).map(([k, v]) => `  ${k}: ${v},`),
    '} as const;',
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = render(readHeaderFacts());
  writeFileSync(OUTPUT, out);
  process.stderr.write(`gen: wrote ${OUTPUT}\n`);
}
