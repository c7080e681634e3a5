// The active config compiled for the kernel's file-record filter (driver/linux/filter.bpf.h):
// per slot (an event ID a file record can become) a mode, and one automaton over the path.
// decide() is the kernel's decision logic in TypeScript, on the same tables: the differential
// tests check it against the engine, and the live tests check the kernel against it.
import type { ParsedConfig } from '../parse.js';
import { DEFINES, STRUCTS } from '../../kernel/generated/events-h.js';
import { analyzeEvent, type EventRule } from './analysis.js';
import { buildDfa, DfaTooLarge, MARK_END, MARK_START, walkFlags, type Dfa, type FlaggedPattern } from './automaton.js';

/** Slots, in events.h order: the Sysmon event each can become. */
export const KF_SLOT_EVENTS = [11, 23, 26, 2] as const;
/** File record types (src/families/file/records.ts FileRecordType) -> the slots that must all drop. */
export const KF_RECORD_SLOTS: Readonly<Record<number, readonly number[]>> = {
  20: [0], // Create -> FileCreate 11
  21: [1, 2], // Delete -> FileDelete 23 or, when 23's rules do not keep it, FileDeleteDetected 26
  23: [3], // Time -> FileCreateTime 2
};
// events.h, through the generated constants (npm run gen)
export const KF_MODE_DROP_ON = DEFINES.KF_MODE_DROP_ON; // drop when a D pattern matches
export const KF_MODE_KEEP_ONLY = DEFINES.KF_MODE_KEEP_ONLY; // drop unless a K pattern matches
export const KF_MAX_CELLS = DEFINES.KF_MAX_CELLS;
export const KF_MAX_TEXT = DEFINES.KF_MAX_TEXT;
const H = STRUCTS.kf_head.fields;
export const KF_HEAD = {
  loaded: H.loaded[0],
  gen: H.gen[0],
  width: H.width[0],
  states: H.states[0],
  root_flags: H.root_flags[0],
  mode: H.mode[0],
  cls: H.cls[0],
  size: STRUCTS.kf_head.size,
} as const;
export const KF_TABLE_BYTES = STRUCTS.kf_table.size;

export const dropBit = (slot: number): number => 1 << (slot * 2);
export const keepBit = (slot: number): number => 1 << (slot * 2 + 1);

export interface KernelFilter {
  rules: EventRule[];
  /** per slot: KF_MODE_* bits (0: every record passes) */
  modes: number[];
  dfa: Dfa;
  /** why the filter is weaker than it could be (a table too large...) */
  notes: string[];
}

export function compileKernelFilter(p: ParsedConfig, maxCells: number = KF_MAX_CELLS): KernelFilter {
  const rules = KF_SLOT_EVENTS.map((id) => analyzeEvent(p, id));
  const patterns: FlaggedPattern[] = [];
  const modes = rules.map((r, slot) => {
    let m = 0;
    if (r.drop) {
      m |= KF_MODE_DROP_ON;
      for (const q of r.drop) patterns.push({ ...q, flag: dropBit(slot) });
    }
    if (r.keep) {
      m |= KF_MODE_KEEP_ONLY;
      for (const q of r.keep) patterns.push({ ...q, flag: keepBit(slot) });
    }
    return m;
  });
  const notes = rules.flatMap((r) => r.notes.map((n) => `event ${r.id}: ${n}`));
  try {
    return { rules, modes, dfa: buildDfa(patterns, maxCells), notes };
  } catch (e) {
    if (!(e instanceof DfaTooLarge)) throw e;
    // too many patterns for the table: nothing is decided in the kernel (everything passes up)
    return { rules, modes: modes.map(() => 0), dfa: buildDfa([], maxCells), notes: [...notes, e.message] };
  }
}

/** Can the kernel judge this path at all? Others always pass to user space. */
export function kernelJudgeable(path: string): boolean {
  // the kernel: components (or name, '/', components) plus one byte must fit KF_MAX_TEXT
  if (path.length < 2 || path.length + 1 > KF_MAX_TEXT || path.charCodeAt(0) !== 47) return false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** The text the kernel walks for a path: END, the lower-cased path reversed, START. */
export function kernelText(path: string): string {
  let t = String.fromCharCode(MARK_END);
  for (let i = path.length - 1; i >= 0; i--) {
    const c = path.charCodeAt(i);
    t += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return t + String.fromCharCode(MARK_START);
}

/** The kernel's verdict on a file record of this type with this TargetFilename: true = dropped. */
export function decide(kf: KernelFilter, recordType: number, path: string): boolean {
  const slots = KF_RECORD_SLOTS[recordType];
  if (!slots?.every((s) => kf.modes[s] !== 0) || !kernelJudgeable(path)) return false;
  const acc = walkFlags(kf.dfa, kernelText(path));
  return slots.every((s) => slotDrops(kf.modes[s]!, acc, s));
}

export function slotDrops(mode: number, acc: number, slot: number): boolean {
  return ((mode & KF_MODE_DROP_ON) !== 0 && (acc & dropBit(slot)) !== 0) || ((mode & KF_MODE_KEEP_ONLY) !== 0 && (acc & keepBit(slot)) === 0);
}

/** struct kf_table bytes (events.h) for generation `gen`. */
export function encodeTable(kf: KernelFilter, gen: number, ports?: Uint8Array): Buffer {
  const b = Buffer.alloc(KF_TABLE_BYTES);
  b.writeUInt32LE(1, KF_HEAD.loaded);
  b.writeUInt32LE(gen >>> 0, KF_HEAD.gen);
  b.writeUInt32LE(kf.dfa.width, KF_HEAD.width);
  b.writeUInt32LE(kf.dfa.states, KF_HEAD.states);
  b.writeUInt32LE(kf.dfa.rootFlags, KF_HEAD.root_flags);
  for (const [i, m] of kf.modes.entries()) b.writeUInt8(m, KF_HEAD.mode + i);
  Buffer.from(kf.dfa.cls.buffer, kf.dfa.cls.byteOffset, 128).copy(b, KF_HEAD.cls);
  Buffer.from(kf.dfa.cells.buffer, kf.dfa.cells.byteOffset, kf.dfa.cells.byteLength).copy(b, KF_HEAD.size);
  // the per-process verdicts' keep set (process-verdicts.ts), swapped with the table
  if (ports) Buffer.from(ports.buffer, ports.byteOffset, ports.byteLength).copy(b, STRUCTS.kf_table.fields.ports[0]);
  return b;
}

/** One line per slot for logs and `describe`. */
export function summarize(kf: KernelFilter): string[] {
  return kf.rules.map((r, slot) => {
    const m = kf.modes[slot]!;
    const parts: string[] = [];
    if (m & KF_MODE_DROP_ON) parts.push(`drop on ${r.drop!.length} pattern(s)`);
    if (m & KF_MODE_KEEP_ONLY) parts.push(r.keep!.length === 0 ? 'drop all' : `keep only ${r.keep!.length} pattern(s)`);
    return `event ${r.id}: ${parts.length ? parts.join(', ') : 'all pass to user space'}`;
  });
}

export { analyzeEvent, type EventRule } from './analysis.js';
