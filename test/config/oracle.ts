// Reference evaluator for differential tests and the benchmark: a straightforward, linear
// re-statement of Sysmon's rules.c (FilterEventRules / MatchFilterGroup / CombineGroupDone /
// MatchFilterOnSpecificRule) over the parsed config. Every filter is scanned for every event.
// Deliberately shares nothing with src/config/engine.ts except the parsed model.
import type { SysmonEvent } from '../../src/events/event.js';
import { eventDef } from '../../src/events/schema.js';
import type { BlockDef, FilterDef, ParsedConfig } from '../../src/config/parse.js';

type Status = 'match' | 'nomatch';

/** the provider of the config being checked (set by LinearEngine before each evaluation) */
let provider: 'linux' | 'windows' = 'linux';
let imageBasename = false;

function low(s: string): string {
  // Sysmon for Linux's WideTolower folds A-Z only
  if (provider === 'linux') return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
  let out = '';
  for (const ch of s) {
    // per UTF-16 unit, no context rules (TOWLOWER)
    for (let i = 0; i < ch.length; i++) {
      const c = ch.charCodeAt(i);
      const t = String.fromCharCode(c).toLowerCase();
      out += t.length === 1 ? t : c === 0x130 ? 'i' : String.fromCharCode(c);
    }
  }
  return out;
}

/** WideToupper: a-z only */
function up(s: string): string {
  return s.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 32));
}

function text(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

/** FindSubString: `sub` is the rule text from `at`; `max` chars (0 = up to the end of the rule text). */
function findSub(field: string, rule: string, at: number, max: number): boolean {
  const end = max === 0 ? rule.length : at + max;
  for (let pos = 0; pos < field.length; pos++) {
    let i = pos,
      j = at;
    for (;;) {
      if (j === end) return true;
      if (i === field.length) return false;
      if (low(field[i]!) !== rule[j]) break;
      i++;
      j++;
    }
  }
  return false;
}

function* items(rule: string): Generator<[number, number]> {
  let start = 0;
  for (;;) {
    const end = rule.indexOf(';', start);
    if (end === -1) {
      yield [start, rule.length - start];
      return;
    }
    yield [start, end - start];
    start = end + 1;
  }
}

function tailAfter(v: string, sep: string): string {
  const i = v.lastIndexOf(sep);
  return i === -1 ? v : v.slice(i + 1);
}

export function matchCondition(
  cond: FilterDef['condition'],
  ruleRaw: string,
  field: string,
  how: { provider: 'linux' | 'windows'; imageBasename: boolean } = { provider, imageBasename },
): boolean {
  provider = how.provider;
  imageBasename = how.imageBasename;
  const rule = low(ruleRaw);
  const lf = low(field);
  switch (cond) {
    case 'image':
      if (!rule.includes('\\')) return low(tailAfter(field, '\\')) === rule || (imageBasename && low(tailAfter(field, '/')) === rule);
      return lf === rule;
    case 'is':
      return lf === rule;
    case 'is not':
      return lf !== rule;
    case 'contains':
      return findSub(field, rule, 0, 0);
    case 'excludes':
      return !findSub(field, rule, 0, 0);
    case 'contains any':
      for (const [s, n] of items(rule)) if (findSub(field, rule, s, n)) return true;
      return false;
    case 'excludes any':
      for (const [s, n] of items(rule)) if (findSub(field, rule, s, n)) return false;
      return true;
    case 'contains all':
      for (const [s, n] of items(rule)) if (!findSub(field, rule, s, n)) return false;
      return true;
    case 'excludes all':
      for (const [s, n] of items(rule)) if (!findSub(field, rule, s, n)) return true;
      return false;
    case 'is any':
      for (const [s, n] of items(rule)) if (n === lf.length && lf === rule.slice(s, s + n)) return true;
      return false;
    case 'begin with':
      return lf.slice(0, rule.length) === rule;
    case 'not begin with':
      return lf.slice(0, rule.length) !== rule;
    case 'end with':
      return rule.length <= lf.length && lf.slice(lf.length - rule.length) === rule;
    case 'not end with':
      return !(rule.length <= lf.length && lf.slice(lf.length - rule.length) === rule);
    case 'less than':
      return provider === 'linux' ? up(field) < up(ruleRaw) : lf < rule;
    case 'more than':
      return provider === 'linux' ? up(field) > up(ruleRaw) : lf > rule;
  }
}

interface Ctx {
  ev: SysmonEvent;
  name: { v: string | null };
}

export class LinearEngine {
  constructor(readonly parsed: ParsedConfig) {}

  private blocksFor(id: number): BlockDef[] {
    const mine = this.parsed.blocks.filter((b) => b.eventIds.includes(id));
    // back-to-front fill: exclude-kind blocks (later first), then include-kind (later first)
    const out: BlockDef[] = [];
    for (let i = mine.length - 1; i >= 0; i--) if (mine[i]!.onmatch === 'exclude') out.push(mine[i]!);
    for (let i = mine.length - 1; i >= 0; i--) if (mine[i]!.onmatch === 'include') out.push(mine[i]!);
    return out;
  }

  private filterStatus(f: FilterDef, ctx: Ctx): Status {
    const def = eventDef(ctx.ev.id);
    if (def.fields[f.fieldIndex]?.name !== f.field) return 'nomatch';
    return matchCondition(f.condition, f.value, text(ctx.ev.data[f.field])) ? 'match' : 'nomatch';
  }

  /** MatchFilterGroup over filters[from..]; agg = rule index or -1. Returns status and where it stopped. */
  private group(b: BlockDef, from: number, agg: number, ctx: Ctx): { status: Status; next: number } {
    const fs = b.filters;
    const combine = agg >= 0 ? b.rules[agg]!.combine : b.combine;
    const matchedFields = new Set<string>();
    let i = from;
    let result: Status | null = null;
    while (i < fs.length) {
      const f = fs[i]!;
      if (agg < 0 && f.ruleIndex >= 0) {
        const sub = this.group(b, i, f.ruleIndex, ctx);
        i = sub.next;
        if (combine === 'or' && sub.status === 'match') {
          result = 'match';
          break;
        }
        if (combine === 'and' && sub.status === 'nomatch') {
          result = 'nomatch';
          break;
        }
        continue;
      }
      if (agg >= 0 && f.ruleIndex !== agg) break;
      if (agg < 0 && matchedFields.has(f.field)) {
        i++;
        continue;
      }
      const st = this.filterStatus(f, ctx);
      if (st === 'match') {
        if (f.name !== '') ctx.name.v = f.name;
        matchedFields.add(f.field);
        if (combine === 'or') {
          result = 'match';
          break;
        }
      } else if (combine === 'and') {
        let later = false;
        if (agg < 0)
          for (let k = i + 1; k < fs.length; k++)
            if (fs[k]!.ruleIndex < 0 && fs[k]!.field === f.field) {
              later = true;
              break;
            }
        if (!later) {
          result = 'nomatch';
          break;
        }
      }
      i++;
    }
    if (result === null) result = combine === 'and' ? 'match' : 'nomatch';
    // skip to the end of this aggregate
    if (agg >= 0) while (i < fs.length && fs[i]!.ruleIndex === agg) i++;
    return { status: result, next: i };
  }

  evaluate(ev: SysmonEvent): { keep: boolean; ruleName: string } {
    provider = this.parsed.matching.provider;
    imageBasename = this.parsed.matching.imageBasename;
    const def = eventDef(ev.id);
    if (def.ruleName === null) return { keep: def.ruleDefault === 'always', ruleName: '-' };
    const blocks = this.blocksFor(ev.id);
    if (blocks.length === 0) return { keep: def.ruleDefault === 'include', ruleName: '-' };
    const ctx: Ctx = { ev, name: { v: null } };
    for (const b of blocks) {
      const st = b.filters.length === 0 ? 'nomatch' : this.group(b, 0, -1, ctx).status;
      if (st === 'match') {
        const keep = b.onmatch === 'include';
        return { keep, ruleName: keep ? (ctx.name.v ?? '-') : '-' };
      }
    }
    if (blocks.length === 1) return { keep: blocks[0]!.onmatch === 'exclude', ruleName: '-' };
    return { keep: false, ruleName: '-' };
  }
}
