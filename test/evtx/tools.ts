// Independent EVTX validators for the tests: libevtx-utils (evtxinfo, evtxexport),
// python3-evtx (evtx_info.py, evtx_dump.py) and libxml2-utils (xmllint). A missing tool skips
// the check loudly, naming the package, except under CI=true where it fails the test.
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';

const PACKAGE: Record<string, string> = {
  evtxinfo: 'libevtx-utils',
  evtxexport: 'libevtx-utils',
  'evtx_info.py': 'python3-evtx',
  'evtx_dump.py': 'python3-evtx',
  xmllint: 'libxml2-utils',
};

export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

/** true when the tool is there; otherwise skip (or fail under CI=true) naming what is missing. */
export function needTool(t: TestContext, name: string): boolean {
  if (hasTool(name)) return true;
  const msg = `${name} not installed (apt-get install -y ${PACKAGE[name] ?? name})`;
  if (process.env.CI === 'true') assert.fail(`CI=true and ${msg}`);
  process.stderr.write(`SKIPPED CHECK: ${msg}\n`);
  t.skip(msg);
  return false;
}

export function run(cmd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ExportedRecord {
  eventId: number;
  recordId: number;
  data: Map<string, string>;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#\d+);/g, (_m, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e]!;
  });
}

/** The records of evtxexport -f xml / evtx_dump.py output: EventID, EventRecordID, Data values. */
export function parseExportXml(text: string): ExportedRecord[] {
  const out: ExportedRecord[] = [];
  for (const part of text.split(/<Event xmlns=/).slice(1)) {
    const id = /<EventID[^>]*>(\d+)<\/EventID>/.exec(part);
    const rid = /<EventRecordID>(\d+)<\/EventRecordID>/.exec(part);
    const data = new Map<string, string>();
    for (const m of part.matchAll(/<Data Name="([^"]*)"(?:\/>|>([\s\S]*?)<\/Data>)/g)) data.set(unescapeXml(m[1]!), unescapeXml(m[2] ?? ''));
    out.push({ eventId: Number(id?.[1]), recordId: Number(rid?.[1]), data });
  }
  return out;
}
