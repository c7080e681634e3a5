// Dependencies point one way: driver records (src/kernel) <- events (src/events) <- rules
// (src/config) <- journal (src/journal) <- the wiring (src/platform, capture, agent, commands,
// cli). A wrong-way import, or an import cycle anywhere in src/ and sinks/, fails here. Reads
// the sources only: no root, no kernel.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { it } from 'node:test';
import { ROOT } from '../src/paths.js';

/** what each layer may import besides itself (paths relative to the checkout) */
const MAY_IMPORT: Record<string, readonly string[]> = {
  'src/fs/': [], // safe file opens and the directory lock: a leaf anyone may use
  'src/kernel/': [],
  'src/events/': ['src/kernel/'],
  // one folder per record family (decoders, handlers); the aggregations over all families
  'src/families/': ['src/kernel/', 'src/events/', 'src/fs/'],
  'src/config/': ['src/kernel/', 'src/events/'],
  'src/journal/': ['src/kernel/', 'src/events/', 'src/fs/', 'sinks/sink.ts'],
};

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** relative imports of a file, static and dynamic, resolved to checkout paths */
export function importsOf(file: string, text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:import|export)[^'";]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|^import\s+['"](\.[^'"]+)['"]/gm)) {
    const spec = (m[1] ?? m[2] ?? m[3])!;
    out.push(normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
  }
  return out;
}

function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of [...sources('src'), ...sources('sinks')]) g.set(f, importsOf(f, readFileSync(join(ROOT, f), 'utf8')));
  return g;
}

export function wrongWay(g: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [from, targets] of g) {
    const layer = Object.keys(MAY_IMPORT).find((l) => from.startsWith(l));
    if (!layer) continue;
    for (const to of targets) {
      if (to.startsWith(layer)) continue;
      if (!MAY_IMPORT[layer]!.some((ok) => to === ok || (ok.endsWith('/') && to.startsWith(ok)))) bad.push(`${from} -> ${to}`);
    }
  }
  return bad;
}

/** a sink's folder imports no other sink's: shared code lives in sinks/shared/ (which imports no sink) */
export function sinkCrossImports(g: Map<string, string[]>): string[] {
  const folder = (p: string) => /^sinks\/([^/]+)\//.exec(p)?.[1];
  const bad: string[] = [];
  for (const [from, targets] of g) {
    const a = folder(from);
    if (a === undefined) continue; // sinks/index.ts is the registry: it lists every sink
    for (const to of targets) {
      const b = folder(to);
      if (b !== undefined && b !== a && b !== 'shared') bad.push(`${from} -> ${to}`);
    }
  }
  return bad;
}

/** strongly connected components of more than one file (Tarjan) */
export function cycles(g: Map<string, string[]>): string[][] {
  const index = new Map<string, number>(),
    low = new Map<string, number>(),
    onStack = new Set<string>();
  const stack: string[] = [],
    found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
        if (w === v) break;
      }
      if (comp.length > 1) found.push(comp);
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return found;
}

it('no layer imports from a layer above it', () => {
  assert.deepEqual(wrongWay(graph()), []);
});

it('no sink imports another sink', () => {
  assert.deepEqual(sinkCrossImports(graph()), []);
});

it('no import cycle in src/ or sinks/', () => {
  assert.deepEqual(cycles(graph()), []);
});

it('the checks see a wrong-way import and a cycle when there is one', () => {
  const g = new Map([
    ['src/kernel/a.ts', ['src/events/b.ts']],
    ['src/events/b.ts', ['src/kernel/a.ts']],
  ]);
  assert.deepEqual(wrongWay(g), ['src/kernel/a.ts -> src/events/b.ts']);
  assert.equal(cycles(g).length, 1);
  const s = new Map([
    ['sinks/relp/a.ts', ['sinks/syslog/b.ts', 'sinks/shared/c.ts', 'sinks/sink.ts']],
    ['sinks/shared/c.ts', ['sinks/jsonl/d.ts']],
    ['sinks/index.ts', ['sinks/relp/a.ts']],
  ]);
  assert.deepEqual(sinkCrossImports(s), ['sinks/relp/a.ts -> sinks/syslog/b.ts', 'sinks/shared/c.ts -> sinks/jsonl/d.ts']);
  assert.deepEqual(importsOf('src/kernel/x.ts', "import { y } from '../events/y.js';\nconst m = await import('./z.js');\nimport './w.js';"), [
    'src/events/y.ts',
    'src/kernel/z.ts',
    'src/kernel/w.ts',
  ]);
});
