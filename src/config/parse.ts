// Parse a Sysmon XML config (`<Sysmon schemaversion=...>`) into a checked, document-ordered
// model. fast-xml-parser with preserveOrder keeps document order; captureMetaData gives each
// element's offset, which becomes the line number of semantic errors. Malformed XML is
// reported with XMLValidator's line. Everything that Sysmon's DTD or xml.cpp refuses is
// refused here too, as a ConfigError `FILE:LINE: what is wrong`.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isExtensionField } from './extensions.js';
import { CONDITIONS, EVENTS, SCHEMA_VERSION, type Condition, type EventDef } from '../events/schema.js';
import { ConfigError } from './errors.js';
import { OPTION_ELEMENTS, OptionError, applyOption, emptyOptions, type SysmonOptions } from './options.js';

export type Combine = 'and' | 'or';

export interface FilterDef {
  readonly field: string;
  /** index of the field in the block's base event (Sysmon matches sub-events by index + name) */
  readonly fieldIndex: number;
  readonly condition: Condition;
  /** the element text exactly as written (no trimming) */
  readonly value: string;
  /** resolved RuleName: filter name, else <Rule name>, else <RuleGroup name>; '' = none */
  readonly name: string;
  readonly line: number;
  /** position among the block's filters in document order (0-based) */
  readonly order: number;
  /** -1 for a filter directly in the block, else index into block.rules */
  readonly ruleIndex: number;
}

export interface RuleDef {
  readonly combine: Combine;
  /** true when groupRelation was written; absent means OR (Sysmon's code default) */
  readonly explicitRelation: boolean;
  readonly name: string | null;
  readonly line: number;
  readonly filters: FilterDef[];
}

export interface BlockDef {
  readonly tag: string;
  /** every event ID this tag covers (RegistryEvent: 12, 13, 14) */
  readonly eventIds: readonly number[];
  /** the first event of the tag's series whose fields hold every field the block uses */
  readonly baseEventId: number;
  readonly onmatch: 'include' | 'exclude';
  readonly combine: Combine;
  readonly groupName: string | null;
  readonly line: number;
  /** position of this block among all blocks, document order */
  readonly docIndex: number;
  /** all filters, document order (top-level and inside <Rule>) */
  readonly filters: FilterDef[];
  readonly rules: RuleDef[];
}

export interface ParsedConfig {
  readonly schemaVersion: string;
  /** schemaversion as a number rounded to 2 decimals, like Sysmon's ParseVersionString */
  readonly version: number;
  readonly options: SysmonOptions;
  readonly notices: string[];
  readonly blocks: BlockDef[];
}

const MAX_VERSION = Number(SCHEMA_VERSION);
const TAGS = new Map<string, EventDef[]>();
for (const e of EVENTS) if (e.ruleName) { const l = TAGS.get(e.ruleName) ?? []; l.push(e); TAGS.set(e.ruleName, l); }
const CONDITION_BY_LOWER = new Map<string, Condition>(CONDITIONS.map((c) => [c, c]));
const META = XMLParser.getMetaDataSymbol() as unknown as string;

type XNode = Record<string, unknown>;

/** Decode config bytes: UTF-8 (BOM optional) or UTF-16 LE/BE with a BOM (or recognisable without). */
export function decodeConfigBytes(buf: Uint8Array): string {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return swap16(b.subarray(2)).toString('utf16le');
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return b.subarray(3).toString('utf8');
  if (b.length >= 2 && b[0] === 0x3c && b[1] === 0x00) return b.toString('utf16le');
  if (b.length >= 2 && b[0] === 0x00 && b[1] === 0x3c) return swap16(b).toString('utf16le');
  return b.toString('utf8');
}

function swap16(b: Buffer): Buffer {
  const c = Buffer.from(b.subarray(0, b.length & ~1));
  c.swap16();
  return c;
}

class Lines {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  at(offset: number | undefined): number {
    if (offset === undefined) return 0;
    let lo = 0, hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid; else hi = mid - 1;
    }
    return lo + 1;
  }
}

function tagOf(n: XNode): string {
  for (const k of Object.keys(n)) if (k !== ':@') return k;
  return '';
}
function childrenOf(n: XNode): XNode[] {
  const c = n[tagOf(n)];
  return Array.isArray(c) ? (c as XNode[]) : [];
}
function attrsOf(n: XNode): Record<string, string> {
  return (n[':@'] as Record<string, string> | undefined) ?? {};
}
function isElement(tag: string): boolean {
  return tag !== '#text' && tag !== '#comment' && !tag.startsWith('?') && !tag.startsWith('!');
}
function textOf(n: XNode): string {
  let s = '';
  for (const c of childrenOf(n)) if (tagOf(c) === '#text') s += String(c['#text']);
  return s;
}

const parser = new XMLParser({
  preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', captureMetaData: true,
  trimValues: false, parseTagValue: false, parseAttributeValue: false, commentPropName: '#comment',
  processEntities: true, allowBooleanAttributes: false, ignoreDeclaration: false, ignorePiTags: false,
});

export function parseConfigText(text: string, file: string): ParsedConfig {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new ConfigError(file, valid.err.line, `malformed XML: ${valid.err.msg}`);
  const lines = new Lines(text);
  const lineOf = (n: XNode): number => lines.at((n[META] as { startIndex?: number } | undefined)?.startIndex);
  const fail = (n: XNode | null, msg: string): never => { throw new ConfigError(file, n ? lineOf(n) : 1, msg); };
  const checkAttrs = (n: XNode, allowed: readonly string[]): void => {
    for (const a of Object.keys(attrsOf(n))) if (!allowed.includes(a)) fail(n, `unknown attribute ${a} on <${tagOf(n)}>`);
  };
  const noText = (n: XNode): void => {
    for (const c of childrenOf(n)) if (tagOf(c) === '#text' && String(c['#text']).trim() !== '') fail(n, `unexpected text ${JSON.stringify(String(c['#text']).trim().slice(0, 40))} in <${tagOf(n)}>`);
  };

  const doc = parser.parse(text) as XNode[];
  const roots = doc.filter((n) => isElement(tagOf(n)));
  if (roots.length !== 1) fail(roots[1] ?? null, roots.length === 0 ? 'no <Sysmon> element' : 'more than one root element');
  const root = roots[0]!;
  if (tagOf(root) !== 'Sysmon') fail(root, `root element must be <Sysmon>, found <${tagOf(root)}>`);
  checkAttrs(root, ['schemaversion']);
  const schemaVersion = attrsOf(root).schemaversion;
  if (schemaVersion === undefined) fail(root, 'missing schemaversion attribute on <Sysmon>');
  const sv = schemaVersion!.trim();
  if (!/^\d+(\.\d+)?$/.test(sv)) fail(root, `bad schemaversion ${JSON.stringify(schemaVersion)}: expected a number like 4.90`);
  const version = Math.round(Number(sv) * 100) / 100;
  if (version < 1 || version > MAX_VERSION) fail(root, `unsupported schemaversion ${sv}: this build supports 1.0 to ${SCHEMA_VERSION}`);
  noText(root);

  const options = emptyOptions();
  const notices: string[] = [];
  const blocks: BlockDef[] = [];
  const defaultCombine: Combine = version > 4.1 ? 'and' : 'or';

  const parseBlock = (ev: XNode, group: XNode | null): void => {
    const tag = tagOf(ev);
    const series = TAGS.get(tag)!;
    checkAttrs(ev, ['onmatch', 'default']);
    const a = attrsOf(ev);
    let onmatch: 'include' | 'exclude';
    if (a.onmatch !== undefined && a.default !== undefined) fail(ev, `<${tag}>: can't specify both onmatch and default`);
    if (a.onmatch !== undefined) {
      if (a.onmatch !== 'include' && a.onmatch !== 'exclude') fail(ev, `<${tag}>: bad onmatch ${JSON.stringify(a.onmatch)} (expected include or exclude)`);
      onmatch = a.onmatch as 'include' | 'exclude';
    } else if (a.default !== undefined) {
      // legacy attribute: names the rule default directly, the opposite of onmatch
      if (a.default !== 'include' && a.default !== 'exclude') fail(ev, `<${tag}>: bad default ${JSON.stringify(a.default)} (expected include or exclude)`);
      onmatch = a.default === 'include' ? 'exclude' : 'include';
    } else {
      return fail(ev, `<${tag}>: missing onmatch attribute (include or exclude)`);
    }
    let combine = defaultCombine;
    let groupName: string | null = null;
    if (group) {
      const g = attrsOf(group);
      if (g.groupRelation !== undefined) combine = g.groupRelation as Combine;
      groupName = g.name ?? null;
    }
    noText(ev);
    // collect raw filters first: the base event depends on every field the block uses
    interface Raw { node: XNode; ruleIndex: number; ruleName: string | null }
    const raws: Raw[] = [];
    const rules: { node: XNode; combine: Combine; explicit: boolean; name: string | null }[] = [];
    for (const c of childrenOf(ev)) {
      const ct = tagOf(c);
      if (!isElement(ct)) continue;
      if (ct === 'Rule') {
        checkAttrs(c, ['name', 'groupRelation']);
        const ra = attrsOf(c);
        let rc: Combine = 'or';
        if (ra.groupRelation !== undefined) rc = ra.groupRelation.toLowerCase() === 'or' ? 'or' : 'and';
        const name = ra.name ?? null;
        if (name !== null && name.length > 255) fail(c, 'rule name is larger than 255 characters');
        rules.push({ node: c, combine: rc, explicit: ra.groupRelation !== undefined, name });
        noText(c);
        for (const f of childrenOf(c)) {
          const ft = tagOf(f);
          if (!isElement(ft)) continue;
          if (ft === 'Rule') fail(f, '<Rule> cannot be nested in <Rule>');
          raws.push({ node: f, ruleIndex: rules.length - 1, ruleName: name });
        }
      } else {
        raws.push({ node: c, ruleIndex: -1, ruleName: null });
      }
    }
    // Sysmon tries each event of the tag's series in order and keeps the first whose
    // fields include all the fields the block uses (xml.cpp).
    let base: EventDef | undefined;
    for (const cand of series) {
      if (raws.every((r) => isExtensionField(tagOf(r.node)) || cand.fields.some((f) => f.name === tagOf(r.node)))) { base = cand; break; }
    }
    if (!base) {
      for (const r of raws) {
        const field = tagOf(r.node);
        if (!series.some((e) => e.fields.some((f) => f.name === field))) fail(r.node, `unknown field ${field} for <${tag}>`);
      }
      fail(ev, `<${tag}>: fields ${[...new Set(raws.map((r) => tagOf(r.node)))].join(', ')} do not all belong to one event of this tag`);
    }
    const filters: FilterDef[] = [];
    const ruleDefs: RuleDef[] = rules.map((r) => ({ combine: r.combine, explicitRelation: r.explicit, name: r.name, line: lineOf(r.node), filters: [] }));
    raws.forEach((r, order) => {
      const f = r.node;
      const field = tagOf(f);
      checkAttrs(f, ['condition', 'name']);
      const fa = attrsOf(f);
      let condition: Condition = 'is';
      if (fa.condition !== undefined) {
        const c = CONDITION_BY_LOWER.get(fa.condition.toLowerCase());
        if (!c) fail(f, `unknown condition ${JSON.stringify(fa.condition)} on <${field}> (expected one of: ${CONDITIONS.join(', ')})`);
        condition = c!;
      }
      for (const c of childrenOf(f)) if (isElement(tagOf(c))) fail(c, `unexpected element <${tagOf(c)}> inside filter <${field}>`);
      // name resolution at parse time (xml.cpp): own name attribute (even empty), else Rule name, else RuleGroup name
      const name = fa.name ?? r.ruleName ?? groupName ?? '';
      if (name.length > 255) fail(f, 'rule name is larger than 255 characters');
      const def: FilterDef = {
        field, fieldIndex: base!.fields.findIndex((x) => x.name === field), condition, value: textOf(f),
        name, line: lineOf(f), order, ruleIndex: r.ruleIndex,
      };
      filters.push(def);
      if (r.ruleIndex >= 0) ruleDefs[r.ruleIndex]!.filters.push(def);
    });
    blocks.push({
      tag, eventIds: series.map((e) => e.id), baseEventId: base!.id, onmatch, combine, groupName,
      line: lineOf(ev), docIndex: blocks.length, filters, rules: ruleDefs,
    });
  };

  for (const n of childrenOf(root)) {
    const t = tagOf(n);
    if (!isElement(t)) continue;
    if (t === 'EventFiltering') {
      checkAttrs(n, []);
      noText(n);
      for (const c of childrenOf(n)) {
        const ct = tagOf(c);
        if (!isElement(ct)) continue;
        if (ct === 'RuleGroup') {
          checkAttrs(c, ['name', 'groupRelation']);
          const gr = attrsOf(c).groupRelation;
          if (gr !== undefined && gr !== 'and' && gr !== 'or') fail(c, `bad groupRelation ${JSON.stringify(gr)} on <RuleGroup> (expected and or or)`);
          noText(c);
          for (const ev of childrenOf(c)) {
            const et = tagOf(ev);
            if (!isElement(et)) continue;
            if (!TAGS.has(et)) fail(ev, `unknown event tag <${et}>`);
            parseBlock(ev, c);
          }
        } else if (TAGS.has(ct)) {
          parseBlock(c, null);
        } else {
          fail(c, `unknown event tag <${ct}>`);
        }
      }
    } else if (OPTION_ELEMENTS.includes(t)) {
      checkAttrs(n, []);
      for (const c of childrenOf(n)) if (isElement(tagOf(c))) fail(c, `unexpected element <${tagOf(c)}> inside option <${t}>`);
      try {
        const notice = applyOption(options, t, textOf(n));
        if (notice && !notices.includes(notice)) notices.push(notice);
      } catch (e) {
        if (e instanceof OptionError) fail(n, e.message);
        throw e;
      }
    } else {
      fail(n, `unknown element <${t}> under <Sysmon>`);
    }
  }
  return { schemaVersion: sv, version, options, notices, blocks };
}
