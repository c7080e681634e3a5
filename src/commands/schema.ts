// `sysmon-ts -s`: the schema in the shape of Windows `sysmon -s` output, from the schema table.
import { BINARY_VERSION, CONDITIONS, EVENTS, OPTIONS, SCHEMA_VERSION } from '../events/schema.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

export function renderSchema(version = SCHEMA_VERSION): string {
  if (version !== SCHEMA_VERSION && version !== 'all') {
    throw new Error(`schema version ${version} is not known; this build prints ${SCHEMA_VERSION} (use -s or -s all)`);
  }
  const lines: string[] = [];
  lines.push(`<manifest schemaversion="${SCHEMA_VERSION}" binaryversion="${BINARY_VERSION}">`);
  lines.push('  <configuration>', '    <options>');
  for (const o of OPTIONS) {
    const sw = o.switch ? ` switch="${esc(o.switch)}"` : '';
    const extra = `${o.configFile ? '' : ' noconfig="true"'}${o.rule ? ' rule="true"' : ''}`;
    lines.push(`      <option${sw} name="${esc(o.name)}" argument="${o.argument}"${extra} />`);
  }
  lines.push('    </options>', `    <filters default="is">${CONDITIONS.join(',')}</filters>`, '  </configuration>', '  <events>');
  for (const e of EVENTS) {
    const rule = e.ruleName ? ` rulename="${e.ruleName}"` : '';
    const def = e.ruleDefault !== 'always' && e.ruleName ? ` ruledefault="${e.ruleDefault}"` : '';
    lines.push(`    <event name="${e.symbol}" value="${e.id}" level="${e.level}" template="${esc(e.template)}"${rule}${def} version="${e.version}">`);
    for (const f of e.fields) {
      const out = f.outType ? ` outType="${f.outType}"` : f.type === 'UnicodeString' ? ' outType="xs:string"' : '';
      lines.push(`      <data name="${f.name}" inType="win:${f.type}"${out} />`);
    }
    lines.push('    </event>');
  }
  lines.push('  </events>', '</manifest>', '');
  return lines.join('\n');
}
