// One Aho-Corasick DFA for every pattern of every slot, in the form the BPF program walks.
//
// The kernel holds a file record's path components leaf first ("c\0b\0a\0" for /a/b/c): each
// component read back to front, in that order, gives the path reversed ("c/b/a/") with no
// list of component offsets. So the automaton runs over
// the reversed, lower-cased path framed by two markers: END (it comes first) ... START, and
// every pattern is reversed too: prefix p -> rev(p) START, suffix p -> END rev(p),
// equality -> END rev(p) START, substring -> rev(p). One walk, one table lookup per byte.
// Each state carries the OR of the flag bits of every pattern ending there or on its fail
// chain; the walk ORs the flags of the states it visits.
import type { Pattern } from './analysis.js';

export const MARK_START = 1;
export const MARK_END = 2;

/** A pattern of one slot, with the flag bit it sets. */
export interface FlaggedPattern extends Pattern {
  flag: number;
}

export interface Dfa {
  /** byte (0..127) -> column; 0 for bytes no pattern uses */
  cls: Uint8Array;
  width: number;
  states: number;
  /** cells[state * width + column] = next state | flags(next) << 24 */
  cells: Uint32Array;
  /** flags of the root (an empty substring pattern: found in any text) */
  rootFlags: number;
}

export function reversedText(p: Pattern): string {
  const r = [...p.text].reverse().join('');
  const s = String.fromCharCode(MARK_START),
    e = String.fromCharCode(MARK_END);
  switch (p.kind) {
    case 'prefix':
      return r + s;
    case 'suffix':
      return e + r;
    case 'eq':
      return e + r + s;
    case 'substring':
      return r;
  }
}

export class DfaTooLarge extends Error {}

export function buildDfa(patterns: FlaggedPattern[], maxCells: number): Dfa {
  const next: Map<number, number>[] = [new Map()];
  const out: number[] = [0];
  for (const p of patterns) {
    const t = reversedText(p);
    let s = 0;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c >= 128) throw new Error(`kernel filter: non-ASCII pattern ${JSON.stringify(p.text)}`);
      let n = next[s]!.get(c);
      if (n === undefined) {
        n = next.length;
        next.push(new Map());
        out.push(0);
        next[s]!.set(c, n);
      }
      s = n;
    }
    out[s]! |= p.flag;
  }
  const cls = new Uint8Array(128);
  let width = 1;
  for (const m of next) for (const c of m.keys()) if (cls[c] === 0) cls[c] = width++;
  const states = next.length;
  if (states * width > maxCells || states >= 1 << 24)
    throw new DfaTooLarge(`kernel filter: ${states} states x ${width} columns exceed the table (${maxCells} cells)`);
  const fail = new Int32Array(states);
  const flags = Int32Array.from(out);
  const cells = new Uint32Array(states * width);
  const used: number[] = [];
  for (let c = 0; c < 128; c++) if (cls[c] !== 0) used.push(c);
  // BFS: a state's fail target is complete before the state itself
  const order: number[] = [0];
  for (let qi = 0; qi < order.length; qi++) {
    const s = order[qi]!;
    if (s !== 0) flags[s]! |= flags[fail[s]!]!;
    for (const c of used) {
      const k = cls[c]!;
      const t = next[s]!.get(c);
      if (t !== undefined) {
        fail[t] = s === 0 ? 0 : cells[fail[s]! * width + k]! & 0xffffff;
        order.push(t);
        cells[s * width + k] = t;
      } else cells[s * width + k] = s === 0 ? 0 : cells[fail[s]! * width + k]! & 0xffffff;
    }
  }
  // column 0 (a byte no pattern uses) goes back to the root, which may itself carry flags
  // (an empty substring pattern); then attach each target's flags to the cell
  for (let i = 0; i < cells.length; i++) {
    const t = cells[i]!;
    cells[i] = (t | (flags[t]! << 24)) >>> 0;
  }
  return { cls, width, states, cells, rootFlags: flags[0]! };
}

/** The flags a walk over `text` (already framed and reversed) collects. */
export function walkFlags(d: Dfa, text: string): number {
  let s = 0;
  let acc = d.rootFlags;
  for (let i = 0; i < text.length; i++) {
    const cell = d.cells[s * d.width + d.cls[text.charCodeAt(i)]!]!;
    s = cell & 0xffffff;
    acc |= cell >>> 24;
  }
  return acc;
}
