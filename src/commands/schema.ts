// `sysmon-ts -s [VERSION|all]`: what `sysmon -s` prints (SysmonCommon printSchema.c): a banner,
// then the raw manifest text embedded in the binary. Sysmon for Linux embeds SysmonCommon's
// manifest.xml: `<manifests>`, a maintainer comment, and one `<manifest>` per schema version,
// the newest (4.90) first.
//   -s          from `<manifests>` to the first `</manifest>` (header + 4.90)
//   -s VERSION  the first manifest whose schemaversion starts with VERSION (4.8 -> 4.81)
//   -s all      the -s document, then every manifest (4.90 again), as printSchema.c's loop does
//   no match    "There is no schema that matches that version."
// `-s 4.91` (and `--windows`) print this build's Windows Sysmon 15 schema (events 27-29 and the
// 4.91 options), generated from src/events/schema.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths.js';
import { AGENT_VERSION } from '../events/service-events.js';
import { BINARY_VERSION, CONDITIONS, EVENTS, OPTIONS, SCHEMA_VERSION, eventDef, type FieldDef } from '../events/schema.js';

const MANIFESTS_FILE = join(ROOT, 'src', 'commands', 'schemas', 'sysmoncommon-manifests.xml');
export const NO_MATCH = 'There is no schema that matches that version.';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

interface Manifests {
  header: string;
  entries: { version: string; text: string }[];
}
let cache: Manifests | null = null;

function dataLine(f: FieldDef, indent: string): string {
  const out = f.outType ? ` outType="${f.outType}"` : f.type === 'UnicodeString' ? ' outType="xs:string"' : '';
  return `${indent}<data name="${f.name}" inType="win:${f.type}"${out} />`;
}

/** SysmonCommon's manifests, newest first, with 4.90 (4.81 + the Linux-only event 100) on top. */
export function sysmonManifests(): Manifests {
  if (cache) return cache;
  const text = readFileSync(MANIFESTS_FILE, 'utf8').replace(/\r\n/g, '\n');
  const first = text.indexOf('\n  <manifest ');
  const header = text.slice(text.indexOf('<manifests>'), first + 1);
  const entries: { version: string; text: string }[] = [];
  for (const m of text.matchAll(/^ {2}<manifest schemaversion="([^"]+)"[^\n]*\n[\s\S]*?^ {2}<\/manifest>$/gm)) entries.push({ version: m[1]!, text: m[0] });
  const e481 = entries.find((e) => e.version === '4.81');
  if (!e481) throw new Error(`${MANIFESTS_FILE}: no schema 4.81 entry`);
  const ebpf = eventDef(100);
  const event100 = [
    '      <!-- Linux-only events start at ID 100 to avoid conflicts with Windows Sysmon events -->',
    `      <event name="${ebpf.symbol}" value="100" level="${ebpf.level}" template="${esc(ebpf.template)}" rulename="${ebpf.ruleName}" ruledefault="${ebpf.ruleDefault}" version="${ebpf.version}" target="linux">`,
    ...ebpf.fields.map((f) => dataLine(f, '        ')),
    '      </event>',
  ].join('\n');
  const e490 = e481.text
    .replace(/^ {2}<manifest schemaversion="4\.81" binaryversion="16">/, '  <manifest schemaversion="4.90" binaryversion="18">')
    .replace(/\n {4}<\/events>/, `\n${event100}\n    </events>`);
  cache = { header, entries: [{ version: '4.90', text: e490 }, ...entries] };
  return cache;
}

function banner(): string {
  return `\nsysmon-ts v${AGENT_VERSION} - Monitors system events (Sysmon for Linux compatible)\nsysmon-ts contributors, MIT License\n\n`;
}

export class SchemaVersionError extends Error {}

/** What `-s [VERSION|all]` prints; throws SchemaVersionError (NO_MATCH) for an unknown version. */
export function renderSchema(version?: string, opts: { windows?: boolean } = {}): string {
  if (opts.windows || version === SCHEMA_VERSION) return renderWindowsSchema();
  const m = sysmonManifests();
  const top = `${banner()}${m.header}${m.entries[0]!.text}\n`;
  if (version === undefined || version === '') return top;
  if (version.toLowerCase() === 'all') return top + m.entries.map((e) => `${e.text}\n`).join('');
  const hit = m.entries.find((e) => e.version.startsWith(version));
  if (!hit) throw new SchemaVersionError(NO_MATCH);
  return `${banner()}${hit.text}\n`;
}

/** option attributes Windows `sysmon -s` prints that the schema table does not carry */
const EXCLUSIVE = new Set(['Install', 'Configuration', 'UnInstall', 'Manifest', 'ClipboardInstance', 'PrintSchema']);
const FORCECONFIG = new Set(['PipeMonitoring', 'ProcessAccess']);
/** the events whose manifest entry has a ruledefault attribute (the others default to exclude) */
const MANIFEST_RULEDEFAULT = new Set([1, 5, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 100]);

/**
 * Windows Sysmon 15's `sysmon -s` (schema 4.91), from the schema table: the option comments and
 * attributes, event 255 first, ruledefault where the manifest has it, no Linux-only event 100.
 */
export function renderWindowsSchema(): string {
  const lines: string[] = [];
  lines.push(`<manifest schemaversion="${SCHEMA_VERSION}" binaryversion="${BINARY_VERSION}">`);
  lines.push('  <configuration>', '    <options>', '      <!-- Command-line only options -->');
  let configSeen = false;
  for (const o of OPTIONS) {
    if (o.configFile && !configSeen) {
      configSeen = true;
      lines.push('      <!-- Configuration file -->');
    }
    const sw = o.switch ? ` switch="${esc(o.switch)}"` : '';
    const extra = `${o.configFile ? '' : ' noconfig="true"'}${o.rule ? ' rule="true"' : ''}${EXCLUSIVE.has(o.name) ? ' exclusive="true"' : ''}${FORCECONFIG.has(o.name) ? ' forceconfig="true"' : ''}`;
    lines.push(`      <option${sw} name="${esc(o.name)}" argument="${o.argument}"${extra} />`);
  }
  lines.push('    </options>', `    <filters default="is">${CONDITIONS.join(',')}</filters>`, '  </configuration>', '  <events>');
  const windowsEvents = [...EVENTS.filter((e) => e.id === 255), ...EVENTS.filter((e) => e.id !== 255 && e.id !== 100)];
  for (const e of windowsEvents) {
    const rule = e.ruleName ? ` rulename="${e.ruleName}"` : '';
    const def = MANIFEST_RULEDEFAULT.has(e.id) ? ` ruledefault="${e.ruleDefault}"` : '';
    lines.push(`    <event name="${e.symbol}" value="${e.id}" level="${e.level}" template="${esc(e.template)}"${rule}${def} version="${e.version}">`);
    for (const f of e.fields) lines.push(dataLine(f, '      '));
    lines.push('    </event>');
  }
  lines.push('  </events>', '</manifest>', '');
  return lines.join('\n');
}
