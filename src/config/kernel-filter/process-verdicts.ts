// Per-process verdicts: which events of one process the config surely drops, given what user
// space knows of the process once it has handled its exec record (its ProcessGuid, ProcessId,
// Image and User: the fields every event of the process takes from its process-table entry).
// The same three-valued block logic as the file filter (analysis.ts): the process's fields are
// true or false, every other field unknown; the kernel drops on a result that holds for every
// value of the unknowns. Two verdicts per event (events.h PV_*):
//   PV_DROP_ALL:    no include block can match and the no-match outcome is a drop.
//   PV_DROP_UNLESS: the same when, in addition, every include filter on a field the kernel
//                   tests per record is false; the kernel tests that exactly with the table's
//                   keep set (ports[]: every port some include filter on DestinationPort /
//                   SourcePort matches), so it drops unless the record's port is in the set.
// Exclude blocks never matter: when no include block can match, an exclude block that matches
// drops too.
import type { BlockDef, FilterDef, ParsedConfig } from '../parse.js';
import { eventDef } from '../../events/schema.js';
import { DEFINES } from '../../kernel/generated/events-h.js';
import { asciiUpper, splitTokens, substringTokens } from '../text.js';
import { evalBlock, matchingOf, type Matching } from './analysis.js';

const { PV_DROP_ALL, PV_DROP_UNLESS, KF_PORT_DST, KF_PORT_SRC } = DEFINES;

/** The events a verdict covers, in events.h order (PV_NET, PV_IMAGE). */
export const PV_EVENT_IDS = [3, 7] as const;

/** What an event takes from its process's table entry (src/events/build.ts ACTOR_PROPERTY). */
export interface ProcessFacts {
  readonly guid: string;
  readonly pid: number;
  readonly image: string;
  readonly user: string;
}

/** The process fields, by index into factsText(). */
const PROCESS_FIELDS: Readonly<Record<string, number>> = { ProcessGuid: 0, ProcessId: 1, Image: 2, User: 3 };

/** The process's fields as the engine reads them (ProcessId in decimal). */
function factsText(p: ProcessFacts): string[] {
  return [p.guid, String(p.pid), p.image, p.user];
}

/**
 * Per event: the fields the kernel tests per record (NetworkConnect: their bit in the keep set
 * of ports; ImageLoad: the loaded path, looked up in pv_quiet_paths).
 */
const KERNEL_FIELDS: Readonly<Record<number, Readonly<Record<string, number>>>> = {
  3: { DestinationPort: KF_PORT_DST, SourcePort: KF_PORT_SRC },
  7: { ImageLoaded: 1 },
};

/**
 * Fields an event always holds with the same text on Linux (src/families/image/events.ts: the
 * PE version resource and Authenticode fields have no Linux source), known to every verdict.
 */
const CONSTANT_FIELDS: Readonly<Record<number, Readonly<Record<string, string>>>> = {
  7: { FileVersion: '-', Description: '-', Product: '-', Company: '-', OriginalFileName: '-', Signed: '-', Signature: '-', SignatureStatus: '-' },
};

/** How the engine compares: its folding, the image extension, and less/more than's provider rule. */
export type EngineMatching = Matching & { linux: boolean };

export function engineMatching(p: ParsedConfig): EngineMatching {
  return { ...matchingOf(p), linux: p.matching.provider === 'linux' };
}

type T3 = 0 | 1 | 2;
const F: T3 = 0,
  T: T3 = 1,
  U: T3 = 2;

/** Does the engine read this filter's field from the event (rules.c resolves it by index)? */
function resolves(f: FilterDef, id: number): boolean {
  return eventDef(id).fields[f.fieldIndex]?.name === f.field;
}

function contains(text: string, pat: string): boolean {
  // Sysmon's FindSubString never finds anything in an empty value, not even ""
  return text.length > 0 && text.includes(pat);
}

/** Whether `f` matches a field holding `v`, exactly as src/config/engine.ts decides it. */
export function filterMatches(f: FilterDef, v: string, m: EngineMatching): boolean {
  return matcher(f, m)(v, m.fold(v));
}

/** `f` compiled: a test of the field's text and its folded text (the value folded once, here). */
function matcher(f: FilterDef, m: EngineMatching): (v: string, lv: string) => boolean {
  const pv = m.fold(f.value);
  switch (f.condition) {
    case 'is':
      return (_v, lv) => lv === pv;
    case 'is any': {
      const toks = new Set(splitTokens(pv).map((t) => t.token));
      return (_v, lv) => toks.has(lv);
    }
    case 'image': {
      if (pv.includes('\\')) return (_v, lv) => lv === pv;
      return (_v, lv) => lv.slice(lv.lastIndexOf('\\') + 1) === pv || (m.imageBasename && lv.slice(lv.lastIndexOf('/') + 1) === pv);
    }
    case 'begin with':
      return (_v, lv) => lv.startsWith(pv);
    case 'end with':
      return (_v, lv) => lv.endsWith(pv);
    case 'contains':
      return (_v, lv) => contains(lv, pv);
    case 'contains any': {
      const toks = substringTokens(pv);
      return (_v, lv) => toks.some((t) => contains(lv, t));
    }
    case 'contains all': {
      const toks = substringTokens(pv);
      return (_v, lv) => toks.every((t) => contains(lv, t));
    }
    case 'is not':
      return (_v, lv) => lv !== pv;
    case 'excludes':
      return (_v, lv) => !contains(lv, pv);
    case 'excludes any': {
      const toks = substringTokens(pv);
      return (_v, lv) => !toks.some((t) => contains(lv, t));
    }
    case 'excludes all': {
      const toks = substringTokens(pv);
      return (_v, lv) => !toks.every((t) => contains(lv, t));
    }
    case 'not begin with':
      return (_v, lv) => !lv.startsWith(pv);
    case 'not end with':
      return (_v, lv) => !lv.endsWith(pv);
    case 'less than': {
      if (!m.linux) return (_v, lv) => lv < pv;
      const up = asciiUpper(f.value);
      return (v) => asciiUpper(v) < up;
    }
    case 'more than': {
      if (!m.linux) return (_v, lv) => lv > pv;
      const up = asciiUpper(f.value);
      return (v) => asciiUpper(v) > up;
    }
  }
}

interface EventPlan {
  id: number;
  /** the per-event default with no rules: every record dropped (PV_DROP_ALL for every process) */
  noRulesDrop: boolean;
  /** false: a lone exclude block keeps what it does not match, no verdict is possible */
  noMatchDrops: boolean;
  includes: BlockDef[];
  /** include filters on a process field the engine reads: the field and the compiled test */
  processFilters: Map<FilterDef, { field: number; test: (v: string, lv: string) => boolean }>;
  /** include filters on a kernel-tested field (their matches are all in the keep set) */
  kernelFilters: Set<FilterDef>;
  /** include filters on a field that is constant on Linux: their truth */
  constants: Map<FilterDef, T3>;
  /** ImageLoad: the include filters on ImageLoaded, compiled (pathQuiet) */
  pathTests: ((v: string, lv: string) => boolean)[];
}

/** The active config compiled for per-process verdicts. */
export interface VerdictPlan {
  matching: EngineMatching;
  events: EventPlan[];
  /** events.h kf_table.ports: the keep set of the kernel-tested fields */
  ports: Uint8Array;
  /** one line per event, for the log */
  summary: string[];
}

export function compileProcessVerdicts(p: ParsedConfig): VerdictPlan {
  const matching = engineMatching(p);
  const ports = new Uint8Array(65536);
  const events = PV_EVENT_IDS.map((id): EventPlan => {
    const mine = p.blocks.filter((b) => b.eventIds.includes(id));
    const includes = mine.filter((b) => b.onmatch === 'include' && b.filters.length > 0);
    const processFilters = new Map<FilterDef, { field: number; test: (v: string, lv: string) => boolean }>();
    const kernelFilters = new Set<FilterDef>();
    const constants = new Map<FilterDef, T3>();
    const pathTests: ((v: string, lv: string) => boolean)[] = [];
    const kernel = KERNEL_FIELDS[id] ?? {};
    const constant = CONSTANT_FIELDS[id] ?? {};
    for (const b of includes)
      for (const f of b.filters) {
        if (!resolves(f, id)) continue; // never matches in the engine; left unknown, as analysis.ts does
        const field = PROCESS_FIELDS[f.field];
        if (field !== undefined) processFilters.set(f, { field, test: matcher(f, matching) });
        const text = constant[f.field];
        if (text !== undefined) constants.set(f, filterMatches(f, text, matching) ? T : F);
        const bit = kernel[f.field];
        if (bit === undefined) continue;
        kernelFilters.add(f);
        if (id === 3) markPorts(ports, f, bit, matching);
        else pathTests.push(matcher(f, matching));
      }
    return {
      id,
      noRulesDrop: mine.length === 0 && eventDef(id).ruleDefault !== 'include',
      noMatchDrops: mine.length >= 2 || (mine.length === 1 && mine[0]!.onmatch === 'include'),
      includes,
      processFilters,
      kernelFilters,
      constants,
      pathTests,
    };
  });
  const summary = events.map((e) => {
    if (e.noRulesDrop) return `event ${e.id}: no rules, every process dropped`;
    if (!e.noMatchDrops) return `event ${e.id}: a lone exclude block, no per-process verdict`;
    const kernel = e.id === 3 ? `${e.kernelFilters.size} port filter(s) in the keep set` : `${e.kernelFilters.size} ImageLoaded filter(s) (quiet paths)`;
    return `event ${e.id}: per-process verdicts on ${e.processFilters.size} process filter(s), ${e.constants.size} constant, ${kernel}`;
  });
  return { matching, events, ports, summary };
}

/** Every port whose text the filter matches gets `bit` (is/is any directly, others by trying each port). */
function markPorts(ports: Uint8Array, f: FilterDef, bit: number, m: EngineMatching): void {
  if (f.condition === 'is' || f.condition === 'is any') {
    const tokens = f.condition === 'is' ? [m.fold(f.value)] : splitTokens(m.fold(f.value)).map((t) => t.token);
    for (const t of tokens) {
      const n = Number(t);
      // the engine compares text: only the port's own decimal text equals it
      if (/^\d+$/.test(t) && n <= 65535 && String(n) === t) ports[n]! |= bit;
    }
    return;
  }
  for (let port = 0; port < 65536; port++) if (filterMatches(f, String(port), m)) ports[port]! |= bit;
}

/**
 * The verdict bits (PV_* << 2*event) for a process, 0 when the config may keep any of its events.
 * byImage: the verdict of every process of this Image and User (ProcessGuid and ProcessId
 * unknown), for pv_image_verdicts.
 */
export function verdictBits(plan: VerdictPlan, proc: ProcessFacts, byImage = false): number {
  let bits = 0;
  const text = factsText(proc);
  const folded = text.map(plan.matching.fold);
  const known = new Map<FilterDef, T3>();
  const processTruth = (e: EventPlan, g: FilterDef): T3 | undefined => {
    const c = e.constants.get(g);
    if (c !== undefined) return c;
    const pf = e.processFilters.get(g);
    // by image: ProcessGuid (0) and ProcessId (1) stay unknown, Image and User are known
    if (!pf || (byImage && pf.field < PROCESS_FIELDS.Image!)) return undefined;
    let t = known.get(g);
    if (t === undefined) {
      t = pf.test(text[pf.field]!, folded[pf.field]!) ? T : F;
      known.set(g, t);
    }
    return t;
  };
  plan.events.forEach((e, slot) => {
    if (e.noRulesDrop) {
      bits |= PV_DROP_ALL << (2 * slot);
      return;
    }
    if (!e.noMatchDrops) return;
    const all = (g: FilterDef): T3 => processTruth(e, g) ?? U;
    if (e.includes.every((b) => evalBlock(b, all) === F)) {
      bits |= PV_DROP_ALL << (2 * slot);
      return;
    }
    if (e.kernelFilters.size === 0) return;
    const unless = (g: FilterDef): T3 => processTruth(e, g) ?? (e.kernelFilters.has(g) ? F : U);
    if (e.includes.every((b) => evalBlock(b, unless) === F)) bits |= PV_DROP_UNLESS << (2 * slot);
  });
  return bits;
}

/**
 * ImageLoad's PV_DROP_UNLESS: no include filter on ImageLoaded matches `path` (written to
 * pv_quiet_paths, for the kernel to drop that path's records of a process with the verdict).
 */
export function pathQuiet(plan: VerdictPlan, path: string): boolean {
  const tests = plan.events[1]!.pathTests;
  const lv = plan.matching.fold(path);
  for (let i = 0; i < tests.length; i++) if (tests[i]!(path, lv)) return false;
  return true;
}

/** Does any process get ImageLoad's PV_DROP_UNLESS under this plan (are quiet paths of use)? */
export function usesQuietPaths(plan: VerdictPlan): boolean {
  const e = plan.events[1]!;
  return !e.noRulesDrop && e.noMatchDrops && e.kernelFilters.size > 0;
}

/**
 * The kernel's decision on an ImageLoad record of a process with these verdict bits (TS model
 * of image.bpf.c emit_image, for the differential tests): true = dropped.
 */
export function imageDropped(plan: VerdictPlan, bits: number, path: string): boolean {
  const b = (bits >> 2) & 3; // PV_IMAGE = slot 1
  if (b & PV_DROP_ALL) return true;
  return (b & PV_DROP_UNLESS) !== 0 && pathQuiet(plan, path);
}

/**
 * The kernel's decision on a NetworkConnect record of a process with these verdict bits (TS
 * model of network.bpf.c net_verdict_drops, for the differential tests): true = dropped.
 */
export function netDropped(plan: VerdictPlan, bits: number, destinationPort: number, sourcePort: number): boolean {
  const b = bits & 3; // PV_NET = slot 0
  if (b & PV_DROP_ALL) return true;
  if (!(b & PV_DROP_UNLESS)) return false;
  return (plan.ports[destinationPort]! & KF_PORT_DST) === 0 && (plan.ports[sourcePort]! & KF_PORT_SRC) === 0;
}
