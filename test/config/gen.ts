// Generators for differential tests and the benchmark: events whose values are drawn from a
// config's own filter values (then mutated), and random configs over a tiny alphabet so that
// matches, partial matches and RuleName carry-overs are frequent.
import type { FieldValue, SysmonEvent } from '../../src/events/event.js';
import { CONDITIONS, eventDef } from '../../src/events/schema.js';
import type { ParsedConfig } from '../../src/config/parse.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

function mutate(r: () => number, v: string): string {
  const tokens = v.split(';');
  switch (Math.floor(r() * 10)) {
    case 0:
      return v;
    case 1:
      return v.toUpperCase();
    case 2:
      return `C:\\Program Files\\x\\${pick(r, tokens)}`;
    case 3:
      return `${pick(r, tokens)} --flag ${pick(r, tokens)}`;
    case 4:
      return `/usr/bin/${pick(r, tokens)}`;
    case 5:
      return v.slice(0, Math.max(0, v.length - 1 - Math.floor(r() * 3)));
    case 6:
      return `prefix${v}`;
    case 7:
      return pick(r, tokens);
    case 8:
      return tokens.slice().reverse().join(' ');
    default:
      return `${v}x`;
  }
}

/** Events for the event IDs a config has blocks for, field values from its filters. */
/** pConfig: chance that a field takes a (mutated) value from the config's filters on that field. */
export function eventsFromConfig(p: ParsedConfig, n: number, seed: number, pConfig = 0.6, ids?: number[]): SysmonEvent[] {
  const r = rng(seed);
  const values = new Map<number, Map<string, string[]>>();
  for (const b of p.blocks) {
    for (const id of b.eventIds) {
      let m = values.get(id);
      if (!m) {
        m = new Map();
        values.set(id, m);
      }
      for (const f of b.filters) {
        const l = m.get(f.field) ?? [];
        l.push(f.value);
        m.set(f.field, l);
      }
    }
  }
  const pool0 = ids ?? [...values.keys()];
  const out: SysmonEvent[] = [];
  for (let i = 0; i < n; i++) {
    const id = pick(r, pool0);
    const vals = values.get(id) ?? new Map<string, string[]>();
    const data: Record<string, FieldValue> = {};
    for (const f of eventDef(id).fields) {
      const pool = vals.get(f.name);
      if (pool && r() < pConfig) data[f.name] = mutate(r, pick(r, pool));
      else if (f.type === 'UInt16' || f.type === 'UInt32') data[f.name] = Math.floor(r() * 70000);
      else if (f.type === 'Boolean') data[f.name] = r() < 0.5;
      else
        data[f.name] =
          r() < 0.3
            ? '-'
            : r() < 0.5
              ? `C:\\Windows\\System32\\${Math.floor(r() * 5000)}.exe`
              : `/usr/lib/x86_64-linux-gnu/${Math.floor(r() * 5000)}/bin --opt=${Math.floor(r() * 100000)}`;
    }
    out.push({ id, recordId: i, timeNs: 0n, data });
  }
  return out;
}

const ALPHA = ['a', 'b', 'ab', 'ba', 'a;b', 'b;', ';a', 'a;;b', '', 'A\\b', 'x/a', 'aB', 'b\\a'];
/** every condition Sysmon has (the schema's list) */
const CONDS: readonly string[] = CONDITIONS;
const TAGS: [string, string[]][] = [
  ['ProcessCreate', ['Image', 'CommandLine', 'User', 'ParentImage']],
  ['RegistryEvent', ['TargetObject', 'User', 'Details', 'Image', 'EventType']],
  ['NetworkConnect', ['Image', 'DestinationPort', 'User']],
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** A random config mixing every construct; registry blocks use fields of one sub-event only. */
export function randomConfig(seed: number): string {
  const r = rng(seed);
  const version = pick(r, ['4.1', '4.22', '4.90']);
  let xml = `<Sysmon schemaversion="${version}"><EventFiltering>`;
  const blocks = 1 + Math.floor(r() * 5);
  for (let b = 0; b < blocks; b++) {
    const [tag, fields0] = pick(r, TAGS);
    let fields = fields0;
    if (tag === 'RegistryEvent') fields = r() < 0.5 ? ['TargetObject', 'User', 'Image', 'EventType'] : ['TargetObject', 'Details', 'Image'];
    const name = () => (r() < 0.5 ? ` name="n${Math.floor(r() * 100)}"` : r() < 0.1 ? ' name=""' : '');
    const filter = () => `<${pick(r, fields)} condition="${pick(r, CONDS)}"${name()}>${esc(pick(r, ALPHA))}</${pick(r, [''])}`;
    let body = '';
    const items = Math.floor(r() * 7);
    for (let i = 0; i < items; i++) {
      if (r() < 0.3) {
        const rel = pick(r, [' groupRelation="and"', ' groupRelation="or"', '']);
        body += `<Rule${name()}${rel}>`;
        const k = 1 + Math.floor(r() * 3);
        for (let j = 0; j < k; j++) body += closeTag(filter());
        body += '</Rule>';
      } else body += closeTag(filter());
    }
    const ev = `<${tag} onmatch="${pick(r, ['include', 'exclude'])}">${body}</${tag}>`;
    const g = Math.floor(r() * 3);
    if (g === 0) xml += ev;
    else xml += `<RuleGroup${r() < 0.5 ? ` name="g${b}"` : ''}${g === 1 ? ' groupRelation="and"' : ' groupRelation="or"'}>${ev}</RuleGroup>`;
  }
  return xml + '</EventFiltering></Sysmon>';
}

function closeTag(s: string): string {
  // filter() leaves the closing tag name empty; fill it from the opening tag
  const m = /^<(\w+)/.exec(s)!;
  return s.replace(/<\/$/, `</${m[1]}>`);
}

export function randomEvents(n: number, seed: number): SysmonEvent[] {
  const r = rng(seed);
  const out: SysmonEvent[] = [];
  for (let i = 0; i < n; i++) {
    const id = pick(r, [1, 3, 12, 13, 14]);
    const data: Record<string, FieldValue> = {};
    for (const f of eventDef(id).fields) {
      if (f.type === 'UInt16' || f.type === 'UInt32') data[f.name] = Math.floor(r() * 3);
      else if (f.type === 'Boolean') data[f.name] = r() < 0.5;
      else {
        const a = pick(r, ALPHA);
        data[f.name] = r() < 0.3 ? a + pick(r, ALPHA) : r() < 0.3 ? a.toUpperCase() : a;
      }
    }
    out.push({ id, recordId: i, timeNs: 0n, data });
  }
  return out;
}
