// What the agent needs of a list of family descriptors (src/families/descriptor.ts), derived
// once at start: the BPF objects to load, which program serves which events, the record
// tables the capture indexes by record type. The lists themselves are
// src/families/linux.generated.ts and windows.generated.ts (`npm run gen`); these functions take a list as
// an argument, and the kernel layer is handed what they derive (objects, program choice).
import { join } from 'node:path';
import { COMMON_LAYOUT, DecodeError, HEADER_SIZE } from '../kernel/records/common.js';
import { ALWAYS, type Attach, type Decoder, type Handler, type RecordBase, type StructName } from './descriptor.js';
import { u16, u32 } from '../kernel/records/le.js';

/** Any family, its decoders and handlers erased to what a table holds (a handler takes `never`). */
export interface FamilyRecords {
  readonly name: string;
  readonly structs: readonly StructName[];
  readonly decoders: { readonly [type: number]: Decoder };
}

export interface AnyLinuxFamily extends FamilyRecords {
  readonly platform: 'linux';
  readonly required?: boolean;
  readonly objects: readonly string[];
  readonly programs: Readonly<Record<string, Attach>>;
  readonly handlers: { readonly [type: number]: Handler<never> };
}

/**
 * Decoders and handlers by record type, in plain arrays: the capture path is one indexed
 * read per record, no walk over families.
 */
export interface RecordTable {
  readonly decoders: readonly (Decoder | undefined)[];
  readonly handlers: readonly (Handler<never> | undefined)[];
}

/** One table over the families' records; a type claimed twice, or decoded but not handled, throws. */
export function recordTable(families: readonly (FamilyRecords & { readonly handlers: { readonly [type: number]: Handler<never> } })[]): RecordTable {
  const byType = new Map<number, { family: string; decode: Decoder; handle: Handler<never> }>();
  for (const f of families) {
    for (const key of Object.keys(f.decoders)) {
      const type = Number(key);
      const claimed = byType.get(type);
      if (claimed) throw new Error(`record type ${type} is claimed by both ${claimed.family} and ${f.name}`);
      const handle = f.handlers[type];
      if (!handle) throw new Error(`family ${f.name}: record type ${type} has a decoder and no handler`);
      byType.set(type, { family: f.name, decode: f.decoders[type]!, handle });
    }
    for (const key of Object.keys(f.handlers)) {
      if (!(key in f.decoders)) throw new Error(`family ${f.name}: record type ${key} has a handler and no decoder`);
    }
  }
  return {
    decoders: indexed(Object.fromEntries([...byType].map(([t, r]) => [t, r.decode]))),
    handlers: indexed(Object.fromEntries([...byType].map(([t, r]) => [t, r.handle]))),
  };
}

/**
 * A table keyed by record type as a packed array, every slot present up to the highest type:
 * a lookup reads an element, never a hole or a dictionary.
 */
export function indexed<T>(byType: { readonly [type: number]: T }): readonly (T | undefined)[] {
  const len = Math.max(-1, ...Object.keys(byType).map(Number)) + 1;
  return Array.from({ length: len }, (_, t) => byType[t]);
}

/**
 * A decoder of whole records over `decoders`: checks the header (length, declared size), then
 * hands the record to its type's decoder. A record that does not fit is rejected with
 * DecodeError: the caller counts it, reports event 255 and skips it.
 */
export function recordReader(decoders: readonly (Decoder | undefined)[]): (raw: Buffer) => RecordBase {
  const typeAt = COMMON_LAYOUT.record_header.type[0];
  const sizeAt = COMMON_LAYOUT.record_header.size[0];
  return (rec) => {
    if (rec.length < HEADER_SIZE) throw new DecodeError(`record of ${rec.length} bytes is shorter than its header`);
    const type = u16(rec, typeAt);
    const size = u32(rec, sizeAt);
    if (size !== rec.length) throw new DecodeError(`record type ${type} says ${size} bytes but the ring holds ${rec.length}`);
    const decode = decoders[type];
    if (!decode) throw new DecodeError(`unknown record type ${type} (${rec.length} bytes)`);
    return decode(rec);
  };
}

/** The BPF objects to load, in `dir`: the required families' first (the loader needs the first). */
export function driverObjects(families: readonly AnyLinuxFamily[], dir: string): string[] {
  const ordered = [...families.filter((f) => f.required), ...families.filter((f) => !f.required)];
  return ordered.flatMap((f) => f.objects.map((o) => join(dir, o)));
}

/** Every program of every family -> what it is attached for; a program declared twice throws. */
export function programAttach(families: readonly AnyLinuxFamily[]): ReadonlyMap<string, Attach> {
  const all = new Map<string, Attach>();
  const owner = new Map<string, string>();
  for (const f of families) {
    for (const [program, attach] of Object.entries(f.programs)) {
      const first = owner.get(program);
      if (first !== undefined) throw new Error(`program ${program} is declared by both ${first} and ${f.name}`);
      owner.set(program, f.name);
      all.set(program, attach);
    }
  }
  return all;
}

/**
 * Whether a program is wanted while the config captures `captured` events. A program no
 * family declares is attached (no event is lost), but test/kernel/families.test.ts fails
 * until its family declares it.
 */
export function programChooser(families: readonly AnyLinuxFamily[]): (program: string, captured: ReadonlySet<number>) => boolean {
  const attach = programAttach(families);
  return (program, captured) => {
    const a = attach.get(program);
    return a === undefined || a === ALWAYS || a.some((id) => captured.has(id));
  };
}
