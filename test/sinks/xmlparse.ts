// Test helper: parse Event XML lines with independent, strict XML parsers (python3's expat via
// ElementTree, and xmllint) so our renderer is not checked by our own code.
import { execFileSync, spawnSync } from 'node:child_process';

export interface ParsedEvent {
  system: Record<string, string>;
  data: [string, string][];
}

const PY = String.raw`
import sys, json, xml.etree.ElementTree as ET
out = []
for line in sys.stdin.read().split('\n'):
    if not line.strip():
        continue
    root = ET.fromstring(line)
    ns = root.tag[:root.tag.index('}') + 1] if root.tag.startswith('{') else ''
    sysel = root.find(ns + 'System')
    system = {}
    for c in sysel:
        tag = c.tag[len(ns):]
        if c.attrib:
            for k, v in c.attrib.items():
                system[tag + '@' + k] = v
        else:
            system[tag] = c.text or ''
    data = [[d.get('Name'), d.text or ''] for d in root.find(ns + 'EventData')]
    out.append({'system': system, 'data': data, 'root': root.tag})
sys.stdout.write(json.dumps(out))
`;

export function parseWithPython(lines: string[]): (ParsedEvent & { root: string })[] {
  const r = spawnSync('python3', ['-c', PY], { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python3 XML parse failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as (ParsedEvent & { root: string })[];
}

export function haveXmllint(): boolean {
  return spawnSync('xmllint', ['--version']).status === 0;
}

/** throws unless xmllint accepts the document */
export function xmllint(doc: string): void {
  execFileSync('xmllint', ['--noout', '-'], { input: doc, stdio: ['pipe', 'ignore', 'pipe'] });
}
