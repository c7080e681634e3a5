// Loading a Sysmon config: bytes -> text -> checked model -> compiled engine, once per load.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EVENTS, SCHEMA_VERSION } from '../events/schema.js';
import { RuleEngine } from './engine.js';
import { ConfigError } from './errors.js';
import type { SysmonOptions } from './options.js';
import { DEFAULT_MATCH, decodeConfigBytes, parseConfigText, type BlockDef, type MatchOptions, type ParsedConfig } from './parse.js';

export class Config {
  readonly schemaVersion: string;
  readonly options: SysmonOptions;
  /** "not applicable on Linux" notices, one per option */
  readonly notices: string[];
  /** `FILE:LINE: what was skipped or read differently`, Sysmon for Linux's leniency made visible */
  readonly warnings: string[];
  /** sha256 of the file bytes (hex, upper case like Sysmon's ConfigurationFileHash value) */
  readonly sha256: string;
  /** path of the file ('' for the built-in default) */
  readonly source: string;
  readonly engine: RuleEngine;

  /** the file's bytes: event 16's ConfigurationFileHash is computed from them */
  private readonly bytes: Uint8Array | null;

  constructor(
    readonly parsed: ParsedConfig,
    sha256: string,
    source: string,
    bytes: Uint8Array | null = null,
  ) {
    this.bytes = bytes;
    this.schemaVersion = parsed.schemaVersion;
    this.options = parsed.options;
    this.notices = parsed.notices;
    this.warnings = parsed.warnings.map((w) => `${source || '<default>'}:${w.line}: warning: ${w.message}`);
    this.sha256 = sha256;
    this.source = source;
    this.engine = new RuleEngine(parsed);
  }

  /**
   * Event 16's ConfigurationFileHash. Sysmon for Linux hashes the file with the configured
   * HashAlgorithms (SHA256 when none; IMPHASH has no entry on Linux), lower-case hex as its file
   * hashes; Windows Sysmon (--windows): `SHA256=` upper case. No file: `SHA256=`.
   */
  configurationFileHash(provider: 'linux' | 'windows' = this.parsed.matching.provider): string {
    if (!this.bytes) return `SHA256=${this.sha256}`;
    if (provider === 'windows') return `SHA256=${this.sha256}`;
    const want = (this.options.hashAlgorithms ?? []).map((a) => a.toUpperCase());
    const all = want.includes('*');
    const algs = ['SHA1', 'MD5', 'SHA256'].filter((a) => all || want.includes(a));
    return (algs.length ? algs : ['SHA256']).map((a) => `${a}=${createHash(a.toLowerCase()).update(this.bytes!).digest('hex')}`).join(',');
  }

  /** Event IDs this config can ever log; the others need no kernel hook. */
  capturedEvents(): Set<number> {
    return this.engine.capturedEvents();
  }

  /** Human dump of the active configuration, in the spirit of `sysmon -c`. */
  describe(): string {
    const o = this.options;
    const lines: string[] = [];
    lines.push(`Configuration file:     ${this.source || '(built-in defaults)'}`);
    lines.push(`Configuration SHA256:   ${this.sha256}`);
    lines.push(`Schema version:         ${this.schemaVersion}`);
    lines.push(` - HashingAlgorithms:   ${o.hashAlgorithms ? o.hashAlgorithms.join(',') : 'SHA1 (default)'}`);
    lines.push(` - Network connection:  ${this.capturedEvents().has(3) ? 'enabled' : 'disabled'}`);
    lines.push(` - DNS lookup:          ${o.dnsLookup === false ? 'disabled' : 'enabled'}`);
    lines.push(` - FieldSizes:          ${o.fieldSizes.size ? [...o.fieldSizes].map(([k, v]) => `${k}:${v}`).join(',') : '(none)'}`);
    for (const [k, v] of o.raw) if (!['HashAlgorithms', 'DnsLookup', 'FieldSizes'].includes(k)) lines.push(` - ${k}: ${v === '' ? '(set)' : v}`);
    for (const n of this.notices) lines.push(` ! ${n}`);
    lines.push('');
    lines.push('Rule configuration (evaluation order per event):');
    const captured = this.capturedEvents();
    for (const def of EVENTS) {
      if (def.ruleName === null) continue;
      const blocks = this.engine.blocksFor(def.id);
      const state = captured.has(def.id) ? 'logged' : 'not logged';
      if (blocks.length === 0) {
        lines.push(` - ${def.ruleName} (${def.id}): no rules, default ${def.ruleDefault} -> ${state}`);
        continue;
      }
      lines.push(` - ${def.ruleName} (${def.id}): ${blocks.length} block(s) -> ${state}`);
      for (const b of blocks) lines.push(...describeBlock(b));
    }
    return lines.join('\n') + '\n';
  }
}

function describeBlock(b: BlockDef): string[] {
  const out: string[] = [];
  const head =
    `     ${b.onmatch === 'include' ? 'Include' : 'Exclude'} block, line ${b.line}, ${b.combine.toUpperCase()}` +
    (b.groupName ? `, RuleGroup "${b.groupName}"` : '') +
    (b.filters.length === 0 ? ` (empty: ${b.onmatch === 'include' ? 'logs nothing' : 'logs everything'})` : '');
  out.push(head);
  let lastRule = -1;
  for (const f of b.filters) {
    let indent = '       ';
    if (f.ruleIndex >= 0) {
      const r = b.rules[f.ruleIndex]!;
      if (f.ruleIndex !== lastRule) out.push(`       Compound Rule ${r.name ?? ''} ${r.combine.toUpperCase()}${r.explicitRelation ? '' : ' (default)'}`);
      indent += '  ';
    }
    lastRule = f.ruleIndex;
    out.push(`${indent}${f.field.padEnd(20)} filter: ${f.condition.padEnd(14)} value: '${f.value}'${f.name ? `  name: '${f.name}'` : ''}`);
  }
  return out;
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').toUpperCase();
}

/** Load and compile a config file. Throws ConfigError (file, line, message). */
export function loadConfigFile(path: string, matching: MatchOptions = DEFAULT_MATCH): Config {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new ConfigError(path, 0, `cannot read: ${(e as Error).message}`);
  }
  return loadConfigBytes(bytes, path, matching);
}

export function loadConfigBytes(bytes: Uint8Array, name: string, matching: MatchOptions = DEFAULT_MATCH): Config {
  const parsed = parseConfigText(decodeConfigBytes(bytes), name, matching);
  return new Config(parsed, hashBytes(bytes), name, bytes);
}

/** Compile config text (already decoded). `name` is used in error messages. */
export function loadConfigText(text: string, name = '<config>', matching: MatchOptions = DEFAULT_MATCH): Config {
  const parsed = parseConfigText(text, name, matching);
  const bytes = Buffer.from(text, 'utf8');
  return new Config(parsed, hashBytes(bytes), name, bytes);
}

/** Running without a file: Sysmon's defaults (ProcessCreate and ProcessTerminate logged, SHA1 hashes). */
export function defaultConfig(matching: MatchOptions = DEFAULT_MATCH): Config {
  const parsed = parseConfigText(`<Sysmon schemaversion="${SCHEMA_VERSION}"><HashAlgorithms>SHA1</HashAlgorithms></Sysmon>`, '<default>', matching);
  return new Config(parsed, '', '');
}
