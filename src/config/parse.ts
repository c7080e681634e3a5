// Parse a Sysmon XML config (`<Sysmon schemaversion=...>`) into a checked, document-ordered
// model. fast-xml-parser with preserveOrder keeps document order; captureMetaData gives each
// element's offset, which becomes the line number of errors and warnings. Malformed XML is
// reported with XMLValidator's line. Leniency is Sysmon for Linux's (SysmonCommon xml.cpp as
// it runs on Linux, where FAILED(hr) is never true): what it loads loads here with the same
// meaning, and what it skips is skipped the same way, but never silently: each skip or
// reinterpretation is a warning `FILE:LINE: ...` (ParsedConfig.warnings; the agent prints them
// and writes them as event 255). What cannot be read at all is a ConfigError.
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

/** How values compare: Sysmon for Linux's rules (default) or Windows Sysmon's. */
export interface MatchOptions {
  /** 'linux': ASCII-only case folding, `less than`/`more than` on upper-cased text (SFL linuxWideChar.c);
   *  'windows': towlower folding, _wcsicmp order */
  readonly provider: 'linux' | 'windows';
  /** sysmon-ts extension (--image-basename): `image` also compares the part after the last `/` */
  readonly imageBasename: boolean;
}

export const DEFAULT_MATCH: MatchOptions = Object.freeze({ provider: 'linux', imageBasename: false });

export interface ConfigWarning {
  readonly line: number;
  readonly message: string;
}

export interface ParsedConfig {
  readonly schemaVersion: string;
  readonly matching: MatchOptions;
  /** what was skipped or read differently from how it is written, Sysmon for Linux's way */
  readonly warnings: ConfigWarning[];
  /** schemaversion as a number rounded to 2 decimals, like Sysmon's ParseVersionString */
  readonly version: number;
  readonly options: SysmonOptions;
  readonly notices: string[];
  readonly blocks: BlockDef[];
}

const MAX_VERSION = Number(SCHEMA_VERSION);
const TAGS = new Map<string, EventDef[]>();
for (const e of EVENTS)
  if (e.ruleName) {
    const l = TAGS.get(e.ruleName) ?? [];
    l.push(e);
    TAGS.set(e.ruleName, l);
  }
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
    let lo = 0,
      hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
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
/** Every text of an option element (options read the whole text, as before). */
function textOf(n: XNode): string {
  let s = '';
  for (const c of childrenOf(n)) if (tagOf(c) === '#text') s += String(c['#text']);
  return s;
}

/**
 * A filter's value as pugixml's child_value() gives it to xml.cpp: the first text child only
 * (`ab<!-- x -->cd` reads `ab`), and with parse_default a whitespace-only text is no node at
 * all (`<User> </User>` reads ``).
 */
function filterValueOf(n: XNode): string {
  for (const c of childrenOf(n)) {
    if (tagOf(c) !== '#text') continue;
    const t = String(c['#text']);
    if (/[^ \t\r\n]/.test(t)) return t;
  }
  return '';
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  captureMetaData: true,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  commentPropName: '#comment',
  processEntities: true,
  allowBooleanAttributes: false,
  ignoreDeclaration: false,
  ignorePiTags: false,
});

const eq = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function parseConfigText(text: string, file: string, matching: MatchOptions = DEFAULT_MATCH): ParsedConfig {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new ConfigError(file, valid.err.line, `malformed XML: ${valid.err.msg}`);
  const lines = new Lines(text);
  const lineOf = (n: XNode): number => lines.at((n[META] as { startIndex?: number } | undefined)?.startIndex);
  const fail = (n: XNode | null, msg: string): never => {
    throw new ConfigError(file, n ? lineOf(n) : 1, msg);
  };
  const warnings: ConfigWarning[] = [];
  const warn = (n: XNode, msg: string): void => {
    warnings.push({ line: lineOf(n), message: msg });
  };
  const checkAttrs = (n: XNode, allowed: readonly string[]): void => {
    for (const a of Object.keys(attrsOf(n))) if (!allowed.includes(a)) warn(n, `unknown attribute ${a} on <${tagOf(n)}> ignored`);
  };
  const noText = (n: XNode): void => {
    for (const c of childrenOf(n))
      if (tagOf(c) === '#text' && String(c['#text']).trim() !== '')
        warn(n, `text ${JSON.stringify(String(c['#text']).trim().slice(0, 40))} in <${tagOf(n)}> ignored`);
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
  if (version < 1) fail(root, `unsupported schemaversion ${sv}: this build supports 1.0 and later`);
  // Sysmon for Linux reads any version >= 4.81 with its newest rules (GetDtdFormat); so do we
  if (version > MAX_VERSION) warn(root, `schemaversion ${sv} is newer than this build's ${SCHEMA_VERSION}: read as ${SCHEMA_VERSION}`);
  noText(root);

  const options = emptyOptions();
  const notices: string[] = [];
  const blocks: BlockDef[] = [];
  const defaultCombine: Combine = version > 4.1 ? 'and' : 'or';
  /** event tags with a block that named an unknown field: Sysmon drops every later block of the tag */
  const poisoned = new Set<string>();

  const parseBlock = (ev: XNode, group: XNode | null): void => {
    const tag = tagOf(ev);
    const series = TAGS.get(tag)!;
    if (poisoned.has(tag)) {
      warn(ev, `<${tag}> skipped: an earlier <${tag}> block had an unknown field (Sysmon drops every later block of the event)`);
      return;
    }
    checkAttrs(ev, ['onmatch', 'default']);
    const a = attrsOf(ev);
    let onmatch: 'include' | 'exclude';
    // the event's own default when onmatch names neither (xml.cpp GetRuleMatch -> Rule_Unknown)
    const byDefault: 'include' | 'exclude' = series[0]!.ruleDefault === 'include' ? 'exclude' : 'include';
    if (a.onmatch !== undefined && a.default !== undefined) warn(ev, `<${tag}>: both onmatch and default given; onmatch is used`);
    if (a.onmatch !== undefined) {
      const m = a.onmatch.toLowerCase();
      if (m === 'include' || m === 'exclude') {
        onmatch = m;
        if (a.onmatch !== m) warn(ev, `<${tag}>: onmatch ${JSON.stringify(a.onmatch)} read as "${m}"`);
      } else {
        onmatch = byDefault;
        warn(ev, `<${tag}>: unknown onmatch ${JSON.stringify(a.onmatch)}: the block acts as onmatch="${onmatch}" (the event's default), as Sysmon reads it`);
      }
    } else if (a.default !== undefined) {
      // legacy attribute: names the rule default directly, the opposite of onmatch
      const d = a.default.toLowerCase();
      onmatch = d === 'include' ? 'exclude' : d === 'exclude' ? 'include' : byDefault;
      if (d !== 'include' && d !== 'exclude') warn(ev, `<${tag}>: unknown default ${JSON.stringify(a.default)}: the block acts as onmatch="${onmatch}"`);
    } else {
      warn(ev, `<${tag}>: no onmatch attribute (include or exclude): block skipped, as Sysmon skips it`);
      return;
    }
    let combine = defaultCombine;
    let groupName: string | null = null;
    if (group) {
      const g = attrsOf(group);
      // xml.cpp: strcasecmp(combineType, "or"): anything else is AND
      if (g.groupRelation !== undefined) combine = eq(g.groupRelation, 'or') ? 'or' : 'and';
      groupName = g.name || null;
    }
    noText(ev);
    // collect raw filters first: the base event depends on every field the block uses
    interface Raw {
      node: XNode;
      ruleIndex: number;
      ruleName: string | null;
    }
    const raws: Raw[] = [];
    const rules: { node: XNode; combine: Combine; explicit: boolean; name: string | null }[] = [];
    for (const c of childrenOf(ev)) {
      const ct = tagOf(c);
      if (!isElement(ct)) continue;
      if (eq(ct, 'Rule')) {
        checkAttrs(c, ['name', 'groupRelation']);
        const ra = attrsOf(c);
        let rc: Combine = 'or';
        if (ra.groupRelation !== undefined) rc = eq(ra.groupRelation, 'or') ? 'or' : 'and';
        // an empty name does not replace the group's (xml.cpp: only `if (ruleName && ruleName[0])`)
        const name = ra.name || null;
        rules.push({ node: c, combine: rc, explicit: ra.groupRelation !== undefined, name });
        noText(c);
        for (const f of childrenOf(c)) {
          const ft = tagOf(f);
          if (!isElement(ft)) continue;
          raws.push({ node: f, ruleIndex: rules.length - 1, ruleName: name });
        }
      } else {
        raws.push({ node: c, ruleIndex: -1, ruleName: null });
      }
    }
    // an unknown field (names are case-sensitive: GetFieldIndex) drops this block and every
    // later block of the same tag (xml.cpp stops adding that event's rules)
    for (const r of raws) {
      const field = tagOf(r.node);
      if (!isExtensionField(field) && !series.some((e) => e.fields.some((f) => f.name === field))) {
        warn(r.node, `unknown field ${field} for <${tag}>: this block and every later <${tag}> block skipped, as Sysmon does`);
        poisoned.add(tag);
        return;
      }
    }
    // Sysmon tries each event of the tag's series in order and keeps the first whose
    // fields include all the fields the block uses (xml.cpp).
    let base: EventDef | undefined;
    for (const cand of series) {
      if (raws.every((r) => isExtensionField(tagOf(r.node)) || cand.fields.some((f) => f.name === tagOf(r.node)))) {
        base = cand;
        break;
      }
    }
    if (!base) fail(ev, `<${tag}>: fields ${[...new Set(raws.map((r) => tagOf(r.node)))].join(', ')} do not all belong to one event of this tag`);
    const filters: FilterDef[] = [];
    const ruleDefs: RuleDef[] = rules.map((r) => ({ combine: r.combine, explicitRelation: r.explicit, name: r.name, line: lineOf(r.node), filters: [] }));
    /** a <Rule> whose filter had an unknown condition: Sysmon adds none of its later filters */
    const brokenRules = new Set<number>();
    let order = 0;
    for (const r of raws) {
      const f = r.node;
      const field = tagOf(f);
      if (r.ruleIndex >= 0 && brokenRules.has(r.ruleIndex)) {
        warn(f, `<${field}> skipped: an earlier filter of its <Rule> was skipped`);
        continue;
      }
      checkAttrs(f, ['condition', 'name']);
      const fa = attrsOf(f);
      let condition: Condition = 'is';
      // GetFilterOption: an empty condition is the default, `is`
      if (fa.condition !== undefined && fa.condition !== '') {
        const c = CONDITION_BY_LOWER.get(fa.condition.toLowerCase());
        if (!c) {
          warn(
            f,
            `unknown condition ${JSON.stringify(fa.condition)} on <${field}>: filter skipped${r.ruleIndex >= 0 ? ' with the rest of its <Rule>' : ''}, as Sysmon does (expected one of: ${CONDITIONS.join(', ')})`,
          );
          if (r.ruleIndex >= 0) brokenRules.add(r.ruleIndex);
          continue;
        }
        condition = c;
      }
      for (const c of childrenOf(f)) if (isElement(tagOf(c))) warn(c, `element <${tagOf(c)}> inside filter <${field}> ignored`);
      // name resolution at parse time (xml.cpp): own non-empty name, else Rule name, else RuleGroup name
      const name = fa.name || r.ruleName || groupName || '';
      if (name.length > 255) {
        warn(f, `<${field}>: rule name is larger than 255 characters: filter skipped, as Sysmon does`);
        continue;
      }
      const def: FilterDef = {
        field,
        fieldIndex: base!.fields.findIndex((x) => x.name === field),
        condition,
        value: filterValueOf(f),
        name,
        line: lineOf(f),
        order: order++,
        ruleIndex: r.ruleIndex,
      };
      filters.push(def);
      if (r.ruleIndex >= 0) ruleDefs[r.ruleIndex]!.filters.push(def);
    }
    blocks.push({
      tag,
      eventIds: series.map((e) => e.id),
      baseEventId: base!.id,
      onmatch,
      combine,
      groupName,
      line: lineOf(ev),
      docIndex: blocks.length,
      filters,
      rules: ruleDefs,
    });
  };

  /**
   * Sysmon finds event elements with the XPath /Sysmon/EventFiltering//Tag: at any depth, tag
   * names case-sensitive; the group is the parent when it is a RuleGroup (any case).
   */
  const walkFiltering = (n: XNode): void => {
    for (const c of childrenOf(n)) {
      const ct = tagOf(c);
      if (!isElement(ct)) continue;
      if (TAGS.has(ct)) {
        parseBlock(c, eq(tagOf(n), 'RuleGroup') ? n : null);
        continue;
      }
      if (eq(ct, 'RuleGroup')) {
        checkAttrs(c, ['name', 'groupRelation']);
        const gr = attrsOf(c).groupRelation;
        if (gr !== undefined && !eq(gr, 'and') && !eq(gr, 'or'))
          warn(c, `groupRelation ${JSON.stringify(gr)} on <${ct}> read as "and" (anything but "or" is AND for Sysmon)`);
        noText(c);
      } else {
        warn(c, `unknown element <${ct}> under <EventFiltering>: not an event, ignored (event elements inside it still count)`);
      }
      walkFiltering(c);
    }
  };

  let optionsStopped = false;
  for (const n of childrenOf(root)) {
    const t = tagOf(n);
    if (!isElement(t)) continue;
    if (t === 'EventFiltering') {
      checkAttrs(n, []);
      noText(n);
      walkFiltering(n);
    } else if (OPTION_ELEMENTS.includes(t)) {
      if (optionsStopped) {
        warn(n, `option <${t}> not read: Sysmon stops reading options at an unknown element`);
        continue;
      }
      checkAttrs(n, []);
      for (const c of childrenOf(n)) if (isElement(tagOf(c))) warn(c, `element <${tagOf(c)}> inside option <${t}> ignored`);
      try {
        const notice = applyOption(options, t, textOf(n));
        if (notice && !notices.includes(notice)) notices.push(notice);
      } catch (e) {
        if (e instanceof OptionError) fail(n, e.message);
        throw e;
      }
    } else {
      // FindConfigurationOption NULL -> break: Sysmon reads no option after this one (rules still)
      warn(n, `unknown element <${t}> under <Sysmon> ignored; options after it are not read, as Sysmon does`);
      optionsStopped = true;
    }
  }
  return { schemaVersion: sv, version, matching, warnings, options, notices, blocks };
}
