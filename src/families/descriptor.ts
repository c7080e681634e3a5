// What a record family is, in one declaration (the way falcosecurity/libs' event table and
// tetragon's sensor registration describe theirs): its BPF objects and programs with the
// Sysmon events each exists for, the structs of driver/include/events.h it reads, and per
// record type a decoder and the handler of what that decoder returns. Each family's
// src/families/<family>/index.ts exports one as `family`; `npm run gen` lists them in
// src/families/linux.generated.ts, and the loader, program choice, layout check and capture take
// that list (src/families/registry.ts). Types only, apart from the two identity helpers.
import type { SysmonEvent } from '../events/event.js';
import type { ProcessTable } from '../events/processes.js';
import type { STRUCTS } from '../kernel/generated/events-h.js';

export interface CaptureContext {
  readonly processes: ProcessTable;
  /** kernel boot-clock ns -> Unix ns */
  timeNs(bootNs: bigint): bigint;
  /**
   * Holds back the current batch of events until `work` settles (e.g. hashing a file off
   * the main thread fills a field of an event already in `out`). Batches stay in order;
   * `work` must settle in bounded time and must not reject (fill '-' on failure instead).
   */
  defer(work: Promise<unknown>): void;
  /**
   * The raw record being handled (a view into the ring, valid during the handler call only):
   * fields only a kept event needs are read from it then, not decoded for every record.
   */
  readonly record: Buffer;
}

/** What every decoded record carries, whatever its family. */
export interface RecordBase {
  readonly type: number;
  readonly tgid: number;
}

/** A record type's decoder: one whole record (length prefix removed, header checked) -> its fields. */
export type Decoder<R extends RecordBase = RecordBase> = (raw: Buffer) => R;
export type Decoders = { readonly [type: number]: Decoder };

export type Handler<R, C = CaptureContext> = (rec: R, ctx: C, out: SysmonEvent[]) => void;

/**
 * A handler for each decoder, receiving exactly what that decoder returns: a record type
 * without a handler, or a handler for a type with no decoder, does not compile.
 */
export type HandlersFor<D extends Decoders, C = CaptureContext> = {
  readonly [K in keyof D]: Handler<D[K] extends Decoder<infer R> ? R : never, C>;
};

/** The records the decoders return, as a union (of several families' decoders, too). */
export type RecordsOf<D extends Decoders> = D extends Decoders ? { [K in keyof D]: D[K] extends Decoder<infer R> ? R : never }[keyof D] : never;

/** A program attached whatever the config logs (the process state needs it). */
export const ALWAYS = 'always';
/**
 * The Sysmon events a program exists for: attached only while the config can log one of
 * them (an event with no rules and default off costs nothing in the kernel), or ALWAYS.
 */
export type Attach = readonly number[] | typeof ALWAYS;

/** A struct of driver/include/events.h (src/kernel/generated/events-h.ts). */
export type StructName = keyof typeof STRUCTS;

interface FamilyBase<D extends Decoders> {
  /** the folder under src/families/ */
  readonly name: string;
  /** the events.h structs its records are laid out by (checked against each object's BTF) */
  readonly structs: readonly StructName[];
  /** by record type (the numbers of events.h, from the generated file) */
  readonly decoders: D;
}

export interface LinuxFamily<D extends Decoders = Decoders> extends FamilyBase<D> {
  readonly platform: 'linux';
  /**
   * The agent cannot run without it (it creates the ring and the process state); any other
   * family this kernel cannot load costs only its own events (reported as event 255).
   */
  readonly required?: boolean;
  /** its BPF objects, file names in driver/linux/.output (one per driver/linux/<name>.bpf.c) */
  readonly objects: readonly string[];
  /** every program of its objects -> the Sysmon events it exists for */
  readonly programs: Readonly<Record<string, Attach>>;
  readonly handlers: HandlersFor<D>;
}

/** Handlers made per capture, over the host facts and the state they keep (Windows). */
export interface BoundHandlers<D extends Decoders, S> {
  readonly state: S;
  readonly handlers: HandlersFor<D>;
}

/**
 * A family of the Windows driver: one driver registers every callback at load, so there are
 * no objects or programs to choose; its handlers keep their own process table and are made
 * per capture over the host facts (`bind`).
 */
export interface WindowsFamily<D extends Decoders = Decoders, F = never, S = unknown> extends FamilyBase<D> {
  readonly platform: 'win32';
  bind(facts: F): BoundHandlers<D, S>;
}

/**
 * Each decoder under the record type it decodes: the key (a number of the generated events.h)
 * must be one of the `type`s the decoder returns, else the decoder's slot is `never` and the
 * family does not compile (a record renumbered in events.h without its record type following).
 */
export type KeyedByType<D extends Decoders> = {
  readonly [K in keyof D]: D[K] extends Decoder<infer R> ? (K extends R['type'] ? D[K] : never) : never;
};

/** Declares a Linux family; the type parameter pairs each decoder with its handler. */
export function linuxFamily<const D extends Decoders>(f: LinuxFamily<D> & { readonly decoders: KeyedByType<D> }): LinuxFamily<D> {
  return f;
}

export function windowsFamily<const D extends Decoders, F, S>(f: WindowsFamily<D, F, S> & { readonly decoders: KeyedByType<D> }): WindowsFamily<D, F, S> {
  return f;
}
