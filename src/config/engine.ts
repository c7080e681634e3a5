// The compiled rule engine. Built once per config load; per event its cost follows the
// number of filters that *match* (plus the few negated/lexical filters of that event type),
// not the number of filters in the config:
//   is / is any / image   -> hash lookups;   begin with / end with -> prefix / suffix tries;
//   contains / contains any / contains all -> one Aho-Corasick pass over the lower-cased value;
//   is not, excludes*, not begin/end with, less/more than -> evaluated directly (rare in configs).
// The block logic then reproduces Sysmon's rules.c exactly (FilterEventRules, MatchFilterGroup,
// CombineGroupDone), including which filters would have been *evaluated*, because that decides
// RuleName: every evaluated named filter that matches overwrites it, across blocks.
import type { SysmonEvent } from '../events/event.js';
import { EVENTS, eventDef, type Condition, type EventDef } from '../events/schema.js';
import { AffixTrie, AhoCorasick, ExactIndex, type HitSink } from './matchers.js';
import type { BlockDef, FilterDef, ParsedConfig } from './parse.js';
import { asciiLower, asciiUpper, lower, substringTokens, splitTokens, utf8Prefix, valueText } from './text.js';
import { extensionValue, isExtensionField } from './extensions.js';

export interface Decision {
  keep: boolean;
  /** the RuleName to write when kept ('-' when none) */
  ruleName: string;
}

export type DecidedBy = 'no-rules-default' | 'always' | 'not-filterable' | 'block' | 'lone-block-default' | 'multiple-blocks-no-match';

export interface Explanation extends Decision {
  decidedBy: DecidedBy;
  /** the block that matched (decidedBy 'block') or whose default applied ('lone-block-default') */
  block?: BlockDef;
  /** the filter that made the block match (for an AND block: the one that set RuleName, else the last match) */
  filter?: FilterDef;
  /** how many blocks were evaluated */
  blocksEvaluated: number;
}

interface CFilter {
  def: FilterDef;
  blk: number; // index into plan.blocks
  named: boolean;
  /** term index (AND blocks: top-level field term or rule term) */
  term: number;
}

interface CRule {
  /** global rule id (for per-evaluation caches) */
  id: number;
  combine: 'and' | 'or';
  start: number; // order of its first filter
  filters: number[]; // global filter ids, document order
}

interface CBlock {
  def: BlockDef;
  combine: 'and' | 'or';
  empty: boolean;
  rules: CRule[];
  /** AND blocks: terms sorted by the position where their failure stops evaluation */
  termsByFatal: { term: number; fatal: number; rule: number }[];
}

type Direct = (v: string, lv: string) => boolean;

interface FieldPlan {
  field: string;
  exact: ExactIndex | null;
  imageBase: ExactIndex | null;
  imageFull: ExactIndex | null;
  prefix: AffixTrie | null;
  suffix: AffixTrie | null;
  ac: AhoCorasick | null;
  /** contains all: filter id -> number of distinct patterns required */
  allNeed: Map<number, number>;
  /** AC pattern id -> [filter id, isAll] pairs */
  acOwners: { fid: number; all: boolean }[][];
  direct: { fid: number; test: Direct }[];
  /** field value -> ids of this field's filters that match it (a pure function of the value) */
  cache: Map<string, number[]>;
  /** lookups and hits in the current probe window; lookups left while caching is off */
  probes: number;
  hits: number;
  off: number;
}

const CACHE_MAX = 2048;
/** long values (command lines) are rarely repeated: not worth caching */
const CACHE_VALUE_MAX = 100;
/**
 * A field whose values rarely repeat (file names of a file storm) gains nothing from the cache
 * and pays for it: a Map insert per value, and every cached value survives a young-generation
 * GC and is promoted, which grows the old space. Every PROBE_WINDOW lookups the hit rate is
 * checked; below 1/4 the field is not cached for the next OFF_SPAN lookups, then probed again.
 */
const PROBE_WINDOW = 1024;
const OFF_SPAN = 32768;

interface EventPlan {
  id: number;
  blocks: CBlock[];
  fields: FieldPlan[];
  /** the outcome when no block matched (the same object every time: most events end here) */
  noMatch: Readonly<Explanation>;
}

const NO_BLOCK: readonly CBlock[] = [];

export class RuleEngine implements HitSink {
  private readonly filters: CFilter[] = [];
  private readonly plans = new Map<number, EventPlan>();
  private readonly stamp: Uint32Array;
  private readonly count: Uint32Array;
  private readonly countGen: Uint32Array;
  private readonly termStamp: Uint32Array;
  private readonly order: Float64Array;
  private readonly ruleGen: Uint32Array;
  private readonly ruleVal: Uint8Array;
  private readonly termSeen: Uint32Array;
  private readonly ruleSeen: Uint32Array;
  private ruleTotal = 0;
  private gen = 0;
  private bgen = 0;
  // per evaluation scratch: hits per block, hits[b][0, hitCount[b]) (a count, not length = 0:
  // setting an array's length is a runtime call)
  private hits: number[][] = [];
  private hitCount = new Int32Array(0);
  private hitGen: Uint32Array = new Uint32Array(0);

  private readonly useCache: boolean;
  /** case folding of the provider: ASCII-only for Sysmon for Linux, towlower for Windows Sysmon */
  private readonly fold: (s: string) => string;
  private readonly linux: boolean;
  private readonly imageBasename: boolean;

  /** opts.resultCache (default true): remember per field value which filters matched */
  constructor(
    readonly parsed: ParsedConfig,
    opts: { resultCache?: boolean } = {},
  ) {
    this.useCache = opts.resultCache ?? true;
    this.linux = parsed.matching.provider === 'linux';
    this.fold = this.linux ? asciiLower : lower;
    this.imageBasename = parsed.matching.imageBasename;
    let terms = 0;
    for (const def of EVENTS) {
      if (def.ruleName === null) continue;
      const plan = this.compileEvent(def, terms);
      terms += plan.terms;
      this.plans.set(def.id, plan.plan);
    }
    const n = this.filters.length;
    this.stamp = new Uint32Array(n);
    this.count = new Uint32Array(n);
    this.countGen = new Uint32Array(n);
    this.termStamp = new Uint32Array(terms);
    this.termSeen = new Uint32Array(terms);
    this.order = Float64Array.from(this.filters, (f) => f.def.order);
    this.ruleGen = new Uint32Array(this.ruleTotal);
    this.ruleVal = new Uint8Array(this.ruleTotal);
    this.ruleSeen = new Uint32Array(this.ruleTotal);
    let maxBlocks = 0;
    for (const p of this.plans.values()) maxBlocks = Math.max(maxBlocks, p.blocks.length);
    this.hits = Array.from({ length: maxBlocks }, () => []);
    this.hitCount = new Int32Array(maxBlocks);
    this.hitGen = new Uint32Array(maxBlocks);
  }

  /** Blocks that apply to an event ID, in Sysmon's evaluation order. */
  blocksFor(id: number): readonly BlockDef[] {
    return (this.plans.get(id)?.blocks ?? NO_BLOCK).map((b) => b.def);
  }

  private compileEvent(def: EventDef, termBase: number): { plan: EventPlan; terms: number } {
    const mine = this.parsed.blocks.filter((b) => b.eventIds.includes(def.id));
    // rules.c ComputeQuickAccessTables: onmatch=exclude blocks first, then onmatch=include;
    // each kind filled back to front, so later blocks of a kind come first.
    const ordered = [...mine.filter((b) => b.onmatch === 'exclude').reverse(), ...mine.filter((b) => b.onmatch === 'include').reverse()];
    const fields = new Map<string, FieldPlan>();
    const fieldPlan = (name: string): FieldPlan => {
      let p = fields.get(name);
      if (!p) {
        p = {
          field: name,
          exact: null,
          imageBase: null,
          imageFull: null,
          prefix: null,
          suffix: null,
          ac: null,
          allNeed: new Map(),
          acOwners: [],
          direct: [],
          cache: new Map(),
          probes: 0,
          hits: 0,
          off: 0,
        };
        fields.set(name, p);
      }
      return p;
    };
    let terms = 0;
    const blocks: CBlock[] = [];
    ordered.forEach((b, bi) => {
      const cb: CBlock = { def: b, combine: b.combine, empty: b.filters.length === 0, rules: [], termsByFatal: [] };
      const fieldTerm = new Map<string, number>();
      const lastOrder = new Map<number, number>();
      // a <Rule> is one term; a <Rule> without filters does not exist for Sysmon (no filter carries it)
      const ruleTerm: number[] = b.rules.map((r) => (r.filters.length > 0 ? termBase + terms++ : -1));
      for (const r of b.rules) cb.rules.push({ id: this.ruleTotal++, combine: r.combine, start: r.filters[0]?.order ?? Infinity, filters: [] });
      for (const f of b.filters) {
        let term: number;
        if (f.ruleIndex >= 0) term = ruleTerm[f.ruleIndex]!;
        else {
          let t = fieldTerm.get(f.field);
          if (t === undefined) {
            t = termBase + terms++;
            fieldTerm.set(f.field, t);
          }
          term = t;
          lastOrder.set(t, f.order);
        }
        const fid = this.filters.length;
        this.filters.push({ def: f, blk: bi, named: f.name !== '', term });
        if (f.ruleIndex >= 0) cb.rules[f.ruleIndex]!.filters.push(fid);
        // Sysmon resolves the filter's field by index in the block's base event and checks the
        // name hash: a field the actual event has at another index (or not at all) is NoMatch.
        if (def.fields[f.fieldIndex]?.name !== f.field && !isExtensionField(f.field)) continue;
        this.index(fieldPlan(f.field), fid, f.condition, f.value);
      }
      if (b.combine === 'and') {
        for (const [t, last] of lastOrder) cb.termsByFatal.push({ term: t, fatal: last, rule: -1 });
        cb.rules.forEach((r, ri) => {
          if (r.filters.length > 0) cb.termsByFatal.push({ term: ruleTerm[ri]!, fatal: r.start, rule: ri });
        });
        cb.termsByFatal.sort((x, y) => x.fatal - y.fatal);
      }
      blocks.push(cb);
    });
    for (const p of fields.values()) {
      p.ac?.build();
      p.prefix?.build();
      p.suffix?.build();
    }
    const noMatch: Explanation =
      blocks.length === 1
        ? { keep: blocks[0]!.def.onmatch === 'exclude', ruleName: '-', decidedBy: 'lone-block-default', block: blocks[0]!.def, blocksEvaluated: 1 }
        : { keep: false, ruleName: '-', decidedBy: 'multiple-blocks-no-match', blocksEvaluated: blocks.length };
    return { plan: { id: def.id, blocks, fields: [...fields.values()], noMatch: Object.freeze(noMatch) }, terms };
  }

  private index(p: FieldPlan, fid: number, cond: Condition, value: string): void {
    const lv = this.fold(value);
    switch (cond) {
      case 'is':
        (p.exact ??= new ExactIndex()).add(lv, fid);
        break;
      case 'is any':
        for (const t of splitTokens(lv)) (p.exact ??= new ExactIndex()).add(t.token, fid);
        break;
      case 'image':
        if (lv.includes('\\')) (p.imageFull ??= new ExactIndex()).add(lv, fid);
        else (p.imageBase ??= new ExactIndex()).add(lv, fid);
        break;
      case 'begin with':
        (p.prefix ??= new AffixTrie(false)).add(lv, fid);
        break;
      case 'end with':
        (p.suffix ??= new AffixTrie(true)).add(lv, fid);
        break;
      case 'contains':
        this.addPattern(p, lv, fid, false);
        break;
      case 'contains any':
        for (const t of substringTokens(lv)) this.addPattern(p, t, fid, false);
        break;
      case 'contains all': {
        const toks = [...new Set(substringTokens(lv))];
        for (const t of toks) this.addPattern(p, t, fid, true);
        p.allNeed.set(fid, toks.length);
        break;
      }
      case 'is not':
        p.direct.push({ fid, test: (_v, l) => l !== lv });
        break;
      case 'excludes':
        p.direct.push({ fid, test: (_v, l) => !contains(l, lv) });
        break;
      case 'excludes any': {
        const toks = substringTokens(lv);
        p.direct.push({ fid, test: (_v, l) => !toks.some((t) => contains(l, t)) });
        break;
      }
      case 'excludes all': {
        const toks = substringTokens(lv);
        p.direct.push({ fid, test: (_v, l) => !toks.every((t) => contains(l, t)) });
        break;
      }
      case 'not begin with':
        p.direct.push({ fid, test: (_v, l) => !l.startsWith(lv) });
        break;
      case 'not end with':
        p.direct.push({ fid, test: (_v, l) => !l.endsWith(lv) });
        break;
      // SFL's WideStrcasecmp upper-cases both sides (so `_` sorts after letters), Windows'
      // _wcsicmp lower-cases them (`_` before letters)
      case 'less than': {
        if (!this.linux) {
          p.direct.push({ fid, test: (_v, l) => l < lv });
          break;
        }
        const uv = asciiUpper(value);
        p.direct.push({ fid, test: (v) => asciiUpper(v) < uv });
        break;
      }
      case 'more than': {
        if (!this.linux) {
          p.direct.push({ fid, test: (_v, l) => l > lv });
          break;
        }
        const uv = asciiUpper(value);
        p.direct.push({ fid, test: (v) => asciiUpper(v) > uv });
        break;
      }
    }
  }

  private addPattern(p: FieldPlan, pattern: string, fid: number, all: boolean): void {
    const ac = (p.ac ??= new AhoCorasick());
    const id = ac.add(pattern, fid);
    const list = (p.acOwners[id] ??= []);
    if (!list.some((o) => o.fid === fid)) list.push({ fid, all });
  }

  /** Keep or drop, and the RuleName Sysmon would write. */
  evaluate(ev: SysmonEvent): Decision {
    const e = this.run(ev, false);
    return { keep: e.keep, ruleName: e.ruleName };
  }

  /** Like evaluate, plus which block and filter decided. */
  explain(ev: SysmonEvent): Explanation {
    const e = this.run(ev, true);
    return Object.isFrozen(e) ? { ...e } : e;
  }

  /** Evaluate, and when kept set RuleName and apply FieldSizes truncation in place. */
  apply(ev: SysmonEvent): boolean {
    const d = this.run(ev, false);
    if (!d.keep) return false;
    finishEvent(ev, d.ruleName, this.parsed.options.fieldSizes);
    return true;
  }

  private run(ev: SysmonEvent, explain: boolean): Readonly<Explanation> {
    const plan = this.plans.get(ev.id);
    if (!plan) {
      const def = eventDef(ev.id);
      if (def.ruleDefault === 'always') return { keep: true, ruleName: '-', decidedBy: 'always', blocksEvaluated: 0 };
      return { keep: false, ruleName: '-', decidedBy: 'not-filterable', blocksEvaluated: 0 };
    }
    const blocks = plan.blocks;
    if (blocks.length === 0) {
      const def = eventDef(ev.id);
      return { keep: def.ruleDefault === 'include', ruleName: '-', decidedBy: 'no-rules-default', blocksEvaluated: 0 };
    }
    if (++this.gen === 0xffffffff) this.resetGen();
    const gen = this.gen;
    this.mark(plan, ev, gen);
    let ruleName: string | null = null;
    for (let bi = 0; bi < blocks.length; bi++) {
      const b = blocks[bi]!;
      const n = this.hitGen[bi] === gen ? this.hitCount[bi]! : 0;
      if (b.empty) continue;
      const match = this.matchBlock(b, this.hits[bi]!, n, gen);
      if (this.contributed !== null) ruleName = this.contributed;
      if (match) {
        const keep = b.def.onmatch === 'include';
        const out: Explanation = { keep, ruleName: keep ? (ruleName ?? '-') : '-', decidedBy: 'block', block: b.def, blocksEvaluated: bi + 1 };
        if (explain && this.decider >= 0) out.filter = this.filters[this.decider]!.def;
        return out;
      }
    }
    return plan.noMatch;
  }

  private resetGen(): void {
    this.stamp.fill(0);
    this.countGen.fill(0);
    this.termStamp.fill(0);
    this.hitGen.fill(0);
    this.ruleGen.fill(0);
    this.termSeen.fill(0);
    this.ruleSeen.fill(0);
    this.gen = 1;
    this.bgen = 0;
  }

  // ---- marking: HitSink for the tries and the automaton (no closures on the hot path) ----
  private curGen = 0;
  private curField: FieldPlan | null = null;

  onHit(fid: number): void {
    const gen = this.curGen;
    if (this.stamp[fid] === gen) return;
    this.stamp[fid] = gen;
    const f = this.filters[fid]!;
    if (this.hitGen[f.blk] !== gen) {
      this.hitGen[f.blk] = gen;
      this.hitCount[f.blk] = 0;
    }
    this.hits[f.blk]![this.hitCount[f.blk]!++] = fid;
    this.termStamp[f.term] = gen;
    if (this.collecting) this.collected.push(fid);
  }

  private collecting = false;
  private collected: number[] = [];

  onPattern(pid: number): void {
    const p = this.curField!;
    const owners = p.acOwners[pid]!;
    const gen = this.curGen;
    for (let i = 0; i < owners.length; i++) {
      const o = owners[i]!;
      if (!o.all) {
        this.onHit(o.fid);
        continue;
      }
      if (this.countGen[o.fid] !== gen) {
        this.countGen[o.fid] = gen;
        this.count[o.fid] = 0;
      }
      if (++this.count[o.fid]! === p.allNeed.get(o.fid)) this.onHit(o.fid);
    }
  }

  /** Mark every filter of this event type that matches (stamp[fid] = gen) and list hits per block. */
  private mark(plan: EventPlan, ev: SysmonEvent, gen: number): void {
    this.curGen = gen;
    const fields = plan.fields;
    for (let fi = 0; fi < fields.length; fi++) {
      const p = fields[fi]!;
      const v = valueText(ev.data[p.field] ?? extensionValue(ev, p.field));
      let cacheable = this.useCache && v.length <= CACHE_VALUE_MAX;
      if (cacheable && p.off > 0) {
        p.off--;
        cacheable = false;
      }
      const cached = cacheable ? p.cache.get(v) : undefined;
      if (cacheable) {
        if (cached !== undefined) p.hits++;
        if (++p.probes === PROBE_WINDOW) cacheable = this.judgeCache(p);
      }
      if (cached !== undefined) {
        for (let i = 0; i < cached.length; i++) this.onHit(cached[i]!);
        continue;
      }
      const lv = this.fold(v);
      this.collecting = cacheable;
      if (cacheable) this.collected = [];
      if (p.exact) {
        const l = p.exact.map.get(lv);
        if (l) for (let i = 0; i < l.length; i++) this.onHit(l[i]!);
      }
      if (p.imageFull) {
        const l = p.imageFull.map.get(lv);
        if (l) for (let i = 0; i < l.length; i++) this.onHit(l[i]!);
      }
      if (p.imageBase) {
        const a = lv.slice(lv.lastIndexOf('\\') + 1);
        const la = p.imageBase.map.get(a);
        if (la) for (let i = 0; i < la.length; i++) this.onHit(la[i]!);
        // Sysmon compares the part after the last `\` only (on Linux paths: the whole path);
        // the part after the last `/` is the --image-basename extension
        const b = this.imageBasename ? lv.slice(lv.lastIndexOf('/') + 1) : a;
        if (b !== a) {
          const lb = p.imageBase.map.get(b);
          if (lb) for (let i = 0; i < lb.length; i++) this.onHit(lb[i]!);
        }
      }
      if (p.prefix) p.prefix.walk(lv, this);
      if (p.suffix) p.suffix.walk(lv, this);
      if (p.ac) {
        this.curField = p;
        p.ac.search(lv, this);
      }
      const d = p.direct;
      for (let i = 0; i < d.length; i++) if (d[i]!.test(v, lv)) this.onHit(d[i]!.fid);
      if (cacheable) {
        this.collecting = false;
        if (p.cache.size >= CACHE_MAX) p.cache.clear();
        p.cache.set(v, this.collected);
      }
    }
  }

  /** end of a probe window: keep caching this field, or switch it off for a while */
  private judgeCache(p: FieldPlan): boolean {
    const keep = p.hits * 4 >= PROBE_WINDOW;
    if (!keep) {
      p.off = OFF_SPAN;
      p.cache.clear();
    }
    p.probes = 0;
    p.hits = 0;
    return keep;
  }

  /** Does a <Rule> match? Cached per evaluation (ruleGen). */
  private okRule(r: CRule, gen: number): boolean {
    if (this.ruleGen[r.id] === gen) return this.ruleVal[r.id] === 1;
    let ok: boolean;
    if (r.combine === 'or') {
      ok = false;
      for (const f of r.filters)
        if (this.stamp[f] === gen) {
          ok = true;
          break;
        }
    } else {
      ok = true;
      for (const f of r.filters)
        if (this.stamp[f] !== gen) {
          ok = false;
          break;
        }
    }
    this.ruleGen[r.id] = gen;
    this.ruleVal[r.id] = ok ? 1 : 0;
    return ok;
  }

  /** Order of the first filter of an AND rule that does not match (Infinity if all match). */
  private firstMiss(r: CRule, gen: number): number {
    for (const f of r.filters) if (this.stamp[f] !== gen) return this.order[f]!;
    return Infinity;
  }

  // results of matchBlock
  private contributed: string | null = null;
  private decider = -1;

  /**
   * One block, as MatchFilterGroup evaluates it. Returns whether it matched; leaves the RuleName
   * the evaluated filters set (null = untouched) in this.contributed and the deciding filter id
   * in this.decider.
   */
  private matchBlock(b: CBlock, sorted: number[], n: number, gen: number): boolean {
    const filters = this.filters,
      order = this.order;
    // the block's hits, sorted[0, n): insertion sort by document order (hit lists are short)
    for (let i = 1; i < n; i++) {
      const x = sorted[i]!,
        ox = order[x]!;
      let j = i - 1;
      while (j >= 0 && order[sorted[j]!]! > ox) {
        sorted[j + 1] = sorted[j]!;
        j--;
      }
      sorted[j + 1] = x;
    }
    let stop = Infinity;
    let match: boolean;
    let decider = -1;
    if (b.combine === 'or') {
      for (let i = 0; i < n; i++) {
        const fid = sorted[i]!;
        const d = filters[fid]!.def;
        if (d.ruleIndex < 0) {
          stop = d.order;
          decider = fid;
          break;
        }
        const r = b.rules[d.ruleIndex]!;
        if (this.okRule(r, gen)) {
          stop = r.start;
          decider = fid;
          break;
        }
      }
      match = stop !== Infinity;
    } else {
      const terms = b.termsByFatal;
      for (let i = 0; i < terms.length; i++) {
        const t = terms[i]!;
        const ok = t.rule < 0 ? this.termStamp[t.term] === gen : this.okRule(b.rules[t.rule]!, gen);
        if (!ok) {
          stop = t.fatal;
          break;
        }
      }
      match = stop === Infinity;
    }
    // RuleName: replay the evaluated matches in document order
    if (++this.bgen === 0xffffffff) {
      this.termSeen.fill(0);
      this.ruleSeen.fill(0);
      this.bgen = 1;
    }
    const bgen = this.bgen;
    let name: string | null = null;
    let last = -1;
    let namedFid = -1;
    for (let i = 0; i < n; i++) {
      const fid = sorted[i]!;
      const f = filters[fid]!;
      const d = f.def;
      let counts = false;
      if (d.ruleIndex < 0) {
        if (b.combine === 'or') counts = d.order === stop;
        else if (this.termSeen[f.term] !== bgen) {
          this.termSeen[f.term] = bgen;
          counts = d.order < stop;
        }
      } else {
        const r = b.rules[d.ruleIndex]!;
        if (r.start < stop || (r.start === stop && (match || b.combine === 'and'))) {
          const ok = this.okRule(r, gen);
          if (r.combine === 'or') {
            if (ok && this.ruleSeen[r.id] !== bgen) {
              this.ruleSeen[r.id] = bgen;
              counts = true;
            }
          } else if (ok) counts = true;
          else counts = d.order < this.firstMiss(r, gen);
        }
      }
      if (!counts) continue;
      last = fid;
      if (f.named) {
        name = d.name;
        namedFid = fid;
      }
    }
    if (match && b.combine === 'and') decider = namedFid >= 0 ? namedFid : last;
    this.contributed = name;
    this.decider = decider;
    return match;
  }

  /** Event IDs this config can ever log (for switching kernel hooks off). */
  capturedEvents(): Set<number> {
    const out = new Set<number>();
    for (const def of EVENTS) {
      if (def.ruleDefault === 'always') {
        out.add(def.id);
        continue;
      }
      const plan = this.plans.get(def.id);
      if (!plan) continue;
      const bs = plan.blocks;
      if (bs.length === 0) {
        if (def.ruleDefault === 'include') out.add(def.id);
        continue;
      }
      // logged only through a matching include block, or as the default of a lone exclude block
      const canInclude = bs.some((b) => b.def.onmatch === 'include' && !b.empty);
      const loneExclude = bs.length === 1 && bs[0]!.def.onmatch === 'exclude';
      if (canInclude || loneExclude) out.add(def.id);
    }
    return out;
  }

  /** Per event ID and field: values in the result cache and whether caching is switched off now. */
  resultCacheStats(): { id: number; field: string; entries: number; off: boolean }[] {
    const out: { id: number; field: string; entries: number; off: boolean }[] = [];
    for (const plan of this.plans.values()) for (const p of plan.fields) out.push({ id: plan.id, field: p.field, entries: p.cache.size, off: p.off > 0 });
    return out;
  }

  /** Number of compiled filter entries (a filter of a multi-ID tag counts once per event ID). */
  get compiledFilterCount(): number {
    return this.filters.length;
  }
}

function contains(text: string, pat: string): boolean {
  // Sysmon's FindSubString never finds anything in an empty value, not even ""
  return text.length > 0 && text.includes(pat);
}

/** Set RuleName (when the event has that field) and apply FieldSizes truncation. */
export function finishEvent(ev: SysmonEvent, ruleName: string, sizes: ReadonlyMap<string, number>): void {
  if ('RuleName' in ev.data) ev.data.RuleName = ruleName;
  if (sizes.size === 0) return;
  for (const [field, max] of sizes) {
    const v = ev.data[field];
    if (typeof v === 'string') ev.data[field] = trimToSize(v, max);
  }
}

/**
 * FieldSizes as Sysmon for Linux cuts (SysmonCommon TrimStringToNChars, counting UTF-8 bytes on
 * Linux): a longer value keeps its first max-3 bytes (whole characters) and ends in `...`; a
 * size below 3 leaves only `-`.
 */
export function trimToSize(v: string, max: number): string {
  if (v.length <= max && Buffer.byteLength(v, 'utf8') <= max) return v;
  if (max < 3) return '-';
  return `${utf8Prefix(v, max - 3)}...`;
}
