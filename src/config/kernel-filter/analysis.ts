// Which events of one Sysmon event ID the kernel may drop, decided on TargetFilename alone.
//
// The kernel sees one field (the path) and nothing else (Image, User, ProcessGuid... are filled
// in user space). A drop is allowed only when the user-space engine drops the event whatever
// every other field holds. Each filter therefore gets a three-valued truth: true or false when
// the kernel can tell from the path, unknown otherwise; the block logic of rules.c (exclude
// blocks first, first matching block decides, AND/OR blocks, <Rule> groups, the lone-block and
// many-blocks defaults) is evaluated over those truths, and the kernel drops only on a result
// that holds for every value of the unknowns. Two shapes are compiled, both in that sense exact:
//   D: "a path matching pattern p makes some exclude block match": any D pattern -> drop.
//      Exclude blocks come before include blocks, so whichever block matches first, it drops.
//   K: "unless the path matches one of these patterns no include block can match, and the
//      no-match outcome is a drop": no K pattern -> drop.
// Patterns are under-approximations for D (pattern matches => filter true) and
// over-approximations for K (filter true => pattern matches); a filter without one is unknown.
import type { BlockDef, FilterDef, ParsedConfig } from '../parse.js';
import { eventDef } from '../../events/schema.js';
import { asciiLower, lower, splitTokens, substringTokens } from '../text.js';

/** The one field the kernel filter reads. */
export const KERNEL_FIELD = 'TargetFilename';

export type PatternKind = 'eq' | 'prefix' | 'suffix' | 'substring';
export interface Pattern {
  kind: PatternKind;
  text: string;
}

/** What the kernel does for one event ID. */
export interface EventRule {
  id: number;
  /** any of these matches -> the engine surely drops (null: no D test) */
  drop: Pattern[] | null;
  /** none of these matches -> the engine surely drops (null: no K test) */
  keep: Pattern[] | null;
  /** why the kernel cannot decide more (for docs/describe) */
  notes: string[];
}

type T3 = 0 | 1 | 2; // false, true, unknown
const F: T3 = 0,
  T: T3 = 1,
  U: T3 = 2;

function or3(a: T3, b: T3): T3 {
  return a === T || b === T ? T : a === U || b === U ? U : F;
}
function and3(a: T3, b: T3): T3 {
  return a === F || b === F ? F : a === U || b === U ? U : T;
}

/** One block as MatchFilterGroup decides it, over three-valued filter truths. */
export function evalBlock(b: BlockDef, truth: (f: FilterDef) => T3): T3 {
  if (b.filters.length === 0) return F; // an empty block is skipped: never "matches"
  if (b.combine === 'or') {
    let r: T3 = F;
    for (const f of b.filters) if (f.ruleIndex < 0) r = or3(r, truth(f));
    for (const rule of b.rules) if (rule.filters.length > 0) r = or3(r, evalRule(rule.combine, rule.filters, truth));
    return r;
  }
  // AND block: every top-level field (its filters OR'ed) and every <Rule> must hold
  const byField = new Map<string, T3>();
  for (const f of b.filters) if (f.ruleIndex < 0) byField.set(f.field, or3(byField.get(f.field) ?? F, truth(f)));
  let r: T3 = T;
  for (const v of byField.values()) r = and3(r, v);
  for (const rule of b.rules) if (rule.filters.length > 0) r = and3(r, evalRule(rule.combine, rule.filters, truth));
  return r;
}

function evalRule(combine: 'and' | 'or', filters: readonly FilterDef[], truth: (f: FilterDef) => T3): T3 {
  let r: T3 = combine === 'and' ? T : F;
  for (const f of filters) r = combine === 'and' ? and3(r, truth(f)) : or3(r, truth(f));
  return r;
}

/** Does the engine read this filter's field from the kernel-visible path? */
function onKernelField(f: FilterDef, id: number): boolean {
  // the engine resolves a filter's field by index in the event (rules.c): a mismatch never
  // matches, which we leave unknown rather than rely on
  return f.field === KERNEL_FIELD && eventDef(id).fields[f.fieldIndex]?.name === KERNEL_FIELD;
}

/** How the engine compares (src/config/engine.ts): its case folding and the image extension. */
export interface Matching {
  fold: (s: string) => string;
  imageBasename: boolean;
}

export function matchingOf(p: ParsedConfig): Matching {
  // Sysmon for Linux folds A-Z only, Windows Sysmon towlower(); on an ASCII path (the only
  // kind the kernel judges) both are the kernel's A-Z folding
  return { fold: p.matching.provider === 'linux' ? asciiLower : lower, imageBasename: p.matching.imageBasename };
}

/**
 * The conditions whose patterns say exactly when the filter matches: both an under- and an
 * over-approximation. undefined for the others.
 */
function exactPatterns(condition: string, lv: string): Pattern[] | undefined {
  switch (condition) {
    case 'is':
      return [{ kind: 'eq', text: lv }];
    case 'is any':
      return splitTokens(lv).map((t) => ({ kind: 'eq' as const, text: t.token }));
    case 'begin with':
      return [{ kind: 'prefix', text: lv }];
    case 'end with':
      return [{ kind: 'suffix', text: lv }];
    case 'contains':
      return [{ kind: 'substring', text: lv }];
    case 'contains any':
      return substringTokens(lv).map((t) => ({ kind: 'substring' as const, text: t }));
    default:
      return undefined;
  }
}

/** Patterns whose match implies the filter matches (D); null when there is none. */
export function underPatterns(f: FilterDef, m: Matching): Pattern[] | null {
  const lv = m.fold(f.value);
  const exact = exactPatterns(f.condition, lv);
  if (exact) return exact;
  if (f.condition !== 'image') return null;
  // the part after the last '\' equals the value: for a value without '\', a path equal to it;
  // with --image-basename also the part after the last '/': a path ending in "/value"
  if (lv.includes('\\')) return null;
  const ps: Pattern[] = [{ kind: 'eq', text: lv }];
  if (m.imageBasename && lv !== '' && !lv.includes('/')) ps.push({ kind: 'suffix', text: `/${lv}` });
  return ps;
}

/** Patterns one of which matches whenever the filter matches (K); null when there is none. */
export function overPatterns(f: FilterDef, m: Matching): Pattern[] | null {
  const lv = m.fold(f.value);
  const exact = exactPatterns(f.condition, lv);
  if (exact) return exact;
  switch (f.condition) {
    // contains all: every token is in the value, so in particular any one of them
    case 'contains all':
      return substringTokens(lv).map((t) => ({ kind: 'substring' as const, text: t }));
    // the part after the last '\' or '/', or the whole value, equals it: the value ends with it
    case 'image':
      return [{ kind: 'suffix', text: lv }];
    default:
      return null;
  }
}

/**
 * Patterns the kernel can test on an ASCII path. A pattern that is not ASCII after folding can
 * never match an ASCII path (the kernel passes every other path up), so an over-approximation
 * may leave it out; an under-approximation may always leave patterns out.
 */
function kernelSafe(ps: Pattern[] | null): Pattern[] | null {
  if (ps === null) return null;
  return ps.filter((p) => /^[\x20-\x7e]*$/.test(p.text));
}

export function analyzeEvent(p: ParsedConfig, id: number): EventRule {
  const def = eventDef(id);
  const mine = p.blocks.filter((b) => b.eventIds.includes(id));
  const notes: string[] = [];
  if (mine.length === 0) {
    // no rules: the per-event default decides, whatever the fields
    return def.ruleDefault === 'include'
      ? { id, drop: null, keep: null, notes: ['no rules: all kept'] }
      : { id, drop: null, keep: [], notes: ['no rules: none kept'] };
  }
  const excludes = mine.filter((b) => b.onmatch === 'exclude' && b.filters.length > 0);
  const includes = mine.filter((b) => b.onmatch === 'include' && b.filters.length > 0);
  const m = matchingOf(p);
  const under = new Map<FilterDef, Pattern[] | null>();
  const over = new Map<FilterDef, Pattern[] | null>();
  for (const b of mine)
    for (const f of b.filters) {
      under.set(f, onKernelField(f, id) ? kernelSafe(underPatterns(f, m)) : null);
      over.set(f, onKernelField(f, id) ? kernelSafe(overPatterns(f, m)) : null);
    }

  // D: a filter whose match alone makes its exclude block match whatever the rest holds
  const drop: Pattern[] = [];
  for (const b of excludes) {
    for (const f of b.filters) {
      const ps = under.get(f);
      if (!ps || ps.length === 0) continue;
      if (evalBlock(b, (g) => (g === f ? T : U)) === T) drop.push(...ps);
    }
  }

  // K: with every over-approximated include filter false, no include block can match
  let keep: Pattern[] | null = null;
  const noMatchDrops = mine.length >= 2 || mine[0]!.onmatch === 'include';
  if (noMatchDrops) {
    const truth = (g: FilterDef): T3 => (over.get(g) ? F : U);
    const open = includes.filter((b) => evalBlock(b, truth) !== F);
    if (open.length === 0) {
      keep = [];
      for (const b of includes)
        for (const f of b.filters) {
          const ps = over.get(f);
          if (ps) keep.push(...ps);
        }
    } else notes.push(`include block(s) at line ${open.map((b) => b.line).join(', ')} can match on fields the kernel does not see`);
  } else notes.push('a lone exclude block keeps what it does not match');
  return { id, drop: drop.length > 0 ? dedupe(drop) : null, keep: keep === null ? null : dedupe(keep), notes };
}

function dedupe(ps: Pattern[]): Pattern[] {
  const seen = new Set<string>();
  return ps.filter((p) => {
    const k = `${p.kind}\0${p.text}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
