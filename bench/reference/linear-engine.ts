// The "obvious" fast linear evaluator used as the benchmark baseline: Sysmon's rules.c logic
// (same as test/config/oracle.ts) but with pre-lowered rule values, one lower-casing per field
// per event and native string search. Every filter of the event's blocks is scanned per event.
import type { SysmonEvent } from '../../src/events/event.js';
import { eventDef } from '../../src/events/schema.js';
import type { BlockDef, FilterDef, ParsedConfig } from '../../src/config/parse.js';
import { asciiLower, asciiUpper, imageTails, lower as unicodeLower, splitTokens, substringTokens, valueText } from '../../src/config/text.js';

interface LF {
  f: FilterDef;
  lv: string;
  toks: string[];
  exact: string[];
}

// the config's provider rules (parsed.matching), set by the engine's constructor
let lower = asciiLower;
let linux = true;
let imageBasename = false;

const has = (t: string, p: string) => t.length > 0 && t.includes(p);

function test(x: LF, lf: string): boolean {
  const rule = x.lv;
  switch (x.f.condition) {
    case 'image':
      if (!rule.includes('\\')) {
        const [a, b] = imageTails(lf);
        return a === rule || (imageBasename && b === rule);
      }
      return lf === rule;
    case 'is':
      return lf === rule;
    case 'is not':
      return lf !== rule;
    case 'contains':
      return has(lf, rule);
    case 'excludes':
      return !has(lf, rule);
    case 'contains any':
      return x.toks.some((t) => has(lf, t));
    case 'excludes any':
      return !x.toks.some((t) => has(lf, t));
    case 'contains all':
      return x.toks.every((t) => has(lf, t));
    case 'excludes all':
      return !x.toks.every((t) => has(lf, t));
    case 'is any':
      return x.exact.includes(lf);
    case 'begin with':
      return lf.startsWith(rule);
    case 'not begin with':
      return !lf.startsWith(rule);
    case 'end with':
      return lf.endsWith(rule);
    case 'not end with':
      return !lf.endsWith(rule);
    case 'less than':
      return linux ? asciiUpper(lf) < asciiUpper(rule) : lf < rule;
    case 'more than':
      return linux ? asciiUpper(lf) > asciiUpper(rule) : lf > rule;
  }
}

export class FastLinearEngine {
  private readonly byId = new Map<number, { b: BlockDef; fs: LF[] }[]>();
  constructor(parsed: ParsedConfig) {
    linux = parsed.matching.provider === 'linux';
    lower = linux ? asciiLower : unicodeLower;
    imageBasename = parsed.matching.imageBasename;
    for (const b of parsed.blocks) {
      const fs = b.filters.map((f) => ({
        f,
        lv: lower(f.value),
        toks: substringTokens(lower(f.value)),
        exact: splitTokens(lower(f.value)).map((t) => t.token),
      }));
      for (const id of b.eventIds) {
        const l = this.byId.get(id) ?? [];
        l.push({ b, fs });
        this.byId.set(id, l);
      }
    }
    for (const [id, l] of this.byId) {
      this.byId.set(id, [...l.filter((x) => x.b.onmatch === 'exclude').reverse(), ...l.filter((x) => x.b.onmatch === 'include').reverse()]);
    }
  }

  evaluate(ev: SysmonEvent): { keep: boolean; ruleName: string } {
    const def = eventDef(ev.id);
    if (def.ruleName === null) return { keep: def.ruleDefault === 'always', ruleName: '-' };
    const blocks = this.byId.get(ev.id);
    if (!blocks) return { keep: def.ruleDefault === 'include', ruleName: '-' };
    const cache = new Map<string, string>();
    const val = (x: LF): string | null => {
      if (def.fields[x.f.fieldIndex]?.name !== x.f.field) return null;
      let v = cache.get(x.f.field);
      if (v === undefined) {
        v = lower(valueText(ev.data[x.f.field]));
        cache.set(x.f.field, v);
      }
      return v;
    };
    const st = (x: LF): boolean => {
      const v = val(x);
      return v !== null && test(x, v);
    };
    const name: { v: string | null } = { v: null };
    const group = (fs: LF[], b: BlockDef, from: number, agg: number): [boolean, number] => {
      const combine = agg >= 0 ? b.rules[agg]!.combine : b.combine;
      const seen = new Set<string>();
      let i = from;
      let res: boolean | null = null;
      while (i < fs.length) {
        const x = fs[i]!;
        if (agg < 0 && x.f.ruleIndex >= 0) {
          const [m, nx] = group(fs, b, i, x.f.ruleIndex);
          i = nx;
          if (combine === 'or' && m) {
            res = true;
            break;
          }
          if (combine === 'and' && !m) {
            res = false;
            break;
          }
          continue;
        }
        if (agg >= 0 && x.f.ruleIndex !== agg) break;
        if (agg < 0 && seen.has(x.f.field)) {
          i++;
          continue;
        }
        if (st(x)) {
          if (x.f.name !== '') name.v = x.f.name;
          seen.add(x.f.field);
          if (combine === 'or') {
            res = true;
            break;
          }
        } else if (combine === 'and') {
          let later = false;
          if (agg < 0)
            for (let k = i + 1; k < fs.length; k++)
              if (fs[k]!.f.ruleIndex < 0 && fs[k]!.f.field === x.f.field) {
                later = true;
                break;
              }
          if (!later) {
            res = false;
            break;
          }
        }
        i++;
      }
      if (res === null) res = combine === 'and';
      if (agg >= 0) while (i < fs.length && fs[i]!.f.ruleIndex === agg) i++;
      return [res, i];
    };
    for (const { b, fs } of blocks) {
      if (fs.length > 0 && group(fs, b, 0, -1)[0]) {
        const keep = b.onmatch === 'include';
        return { keep, ruleName: keep ? (name.v ?? '-') : '-' };
      }
    }
    if (blocks.length === 1) return { keep: blocks[0]!.b.onmatch === 'exclude', ruleName: '-' };
    return { keep: false, ruleName: '-' };
  }
}
