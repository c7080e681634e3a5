// Nothing of a record family can be left out of the central lists unnoticed: every program of
// every BPF object is either attached per event (PROGRAM_EVENTS) or always (ALWAYS_ATTACHED);
// every driver/linux/*.bpf.c is loaded (DRIVER_OBJECTS); every record type events.h declares has
// a decoder and a handler, and nothing decodes or handles a type events.h does not declare.
// Reads the built objects (llvm-readelf) and the sources: no root, no kernel.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { it } from 'node:test';
import { LINUX_RECORDS } from '../../src/capture.js';
import { DECODERS } from '../../src/families/decode.js';
import { ENUMS } from '../../src/kernel/generated/events-h.js';
import { ALWAYS_ATTACHED, PROGRAM_EVENTS } from '../../src/families/programs.js';
import { WINDOWS_DECODERS } from '../../src/kernel/windows/records.js';
import { DRIVER_OBJECTS, ROOT } from '../../src/paths.js';
import { missingDriverObjects, missingTool, requirePrereq } from '../helpers/prereq.js';

/** the BPF programs of an object: its global functions */
function programsOf(obj: string): string[] {
  const out = execFileSync('llvm-readelf', ['-s', obj], { encoding: 'utf8' });
  return [...out.matchAll(/^\s*\d+:\s+\S+\s+\d+\s+FUNC\s+GLOBAL\s+\S+\s+\S+\s+(\S+)$/gm)].map((m) => m[1]!);
}

it('every driver/linux/*.bpf.c is loaded by the agent', () => {
  const sources = readdirSync(join(ROOT, 'driver/linux')).filter((f) => f.endsWith('.bpf.c')).map((f) => f.replace(/\.c$/, '.o')).sort();
  assert.deepEqual(DRIVER_OBJECTS.map((o) => basename(o)).sort(), sources);
});

it('every program is attached per event or always, and every listed program exists', (t) => {
  if (!requirePrereq(t, missingDriverObjects() ?? missingTool('llvm-readelf'))) return;
  const programs = DRIVER_OBJECTS.flatMap((o) => programsOf(o));
  assert.ok(programs.length > 50, `found ${programs.length} programs`);
  const listed = new Set([...Object.keys(PROGRAM_EVENTS), ...ALWAYS_ATTACHED]);
  assert.deepEqual(programs.filter((p) => !listed.has(p)), [], 'programs in neither PROGRAM_EVENTS nor ALWAYS_ATTACHED (src/families/programs.ts)');
  const present = new Set(programs);
  assert.deepEqual([...listed].filter((p) => !present.has(p)), [], 'listed programs that no object has');
  assert.deepEqual(Object.keys(PROGRAM_EVENTS).filter((p) => ALWAYS_ATTACHED.includes(p)), [], 'a program in both lists');
});

it('every record type of events.h has a decoder and a handler, and nothing else has one', () => {
  const recordTypes = [
    ...Object.values(ENUMS.record_type), ...Object.values(ENUMS.image_record_type), ...Object.values(ENUMS.iouring_record_type),
  ] as number[];
  const linux = recordTypes.filter((t) => t < 200).sort((a, b) => a - b);
  const windows = recordTypes.filter((t) => t >= 200).sort((a, b) => a - b);
  const keys = (o: object) => Object.keys(o).map(Number).sort((a, b) => a - b);
  assert.deepEqual(keys(DECODERS), linux, 'Linux decoders (src/families/decode.ts) vs events.h');
  assert.deepEqual(keys(LINUX_RECORDS.handlers), linux, 'Linux handlers (src/capture.ts) vs events.h');
  assert.deepEqual(keys(WINDOWS_DECODERS), windows, 'Windows decoders (src/kernel/windows/records.ts) vs events.h');
});
