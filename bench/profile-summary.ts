// Summary of a V8 .cpuprofile (node --cpu-prof): busy time, self time by function and by source
// file, inclusive time of named functions; samples before --skip-ms (startup) are left out, and
// after --until-ms (e.g. the agent's start-up alone: --skip-ms 0 --until-ms <its totalMs>).
// Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--skip-ms 1100] [--until-ms N] [--top 20] [--incl name1,name2] [--callers name]
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

export interface Summary {
  busyMs: number;
  bySelf: [string, number][];
  byFile: [string, number][];
  inclusive: Record<string, number>;
  callers: [string, number][];
}

/** `callersOf`: self time of that function split by its call path (3 frames up) */
export function summarize(p: Profile, skipMs: number, inclNames: string[], callersOf = '', untilMs = Infinity): Summary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let t = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0; // a sample's duration is the delta to the next one
    t += p.timeDeltas[i]!;
    if (t / 1000 < skipMs) continue;
    if (t / 1000 > untilMs) break;
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + dt / 1000);
  }
  const fnKey = (n: Node) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(src|sinks|node_modules)\//, '$1/').replace(/^node:/, 'node:')}:${n.callFrame.lineNumber + 1}`;
  const fileKey = (n: Node) => {
    const name = n.callFrame.functionName;
    if (name === '(garbage collector)' || name === '(program)' || name === '(idle)') return name;
    const u = n.callFrame.url;
    if (!u) return '(native/builtin)';
    return u.replace(/^file:\/\/.*?\/(dist\/)?((src|sinks|node_modules)\/)/, '$2').replace(/^node:internal\/.*$/, 'node:internal');
  };
  const bySelf = new Map<string, number>();
  const byFile = new Map<string, number>();
  const incl: Record<string, number> = Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(inclNames.map((n) => [n, 0])));
  let busy = 0;
  const callers = new Map<string, number>();
  for (const [id, ms] of self) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    if (callersOf && n.callFrame.functionName === callersOf) {
      const path: string[] = [];
      for (let cur = parent.get(id); cur !== undefined && path.length < 4; cur = parent.get(cur)) path.push(byId.get(cur)!.callFrame.functionName || '(anon)');
      callers.set(path.join(' < '), (callers.get(path.join(' < ')) ?? 0) + ms);
    }
    busy += ms;
    bySelf.set(fnKey(n), (bySelf.get(fnKey(n)) ?? 0) + ms);
    byFile.set(fileKey(n), (byFile.get(fileKey(n)) ?? 0) + ms);
    // inclusive: count once per named ancestor
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame.functionName;
      if (f in incl && !seen.has(f)) {
        incl[f]! += ms;
        seen.add(f);
      }
    }
  }
  const sort = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { busyMs: busy, bySelf: sort(bySelf), byFile: sort(byFile), inclusive: incl, callers: sort(callers) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const opt = (f: string) => {
    const i = argv.indexOf(`--${f}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const top = Number(opt('top') ?? 20);
  const s = summarize(
    JSON.parse(readFileSync(argv[0]!, 'utf8')) as Profile,
    Number(opt('skip-ms') ?? 1100),
    (opt('incl') ?? '').split(',').filter(Boolean),
    opt('callers'),
    Number(opt('until-ms') ?? Infinity),
  );
  const pct = (ms: number) => `${((100 * ms) / s.busyMs).toFixed(1)}%`;
  console.log(`busy (non-idle) ms after skip: ${s.busyMs.toFixed(0)}`);
  console.log('-- self by file');
  for (const [k, v] of s.byFile.slice(0, top)) console.log(`${pct(v).padStart(6)} ${v.toFixed(0).padStart(6)} ms  ${k}`);
  console.log('-- self by function');
  for (const [k, v] of s.bySelf.slice(0, top)) console.log(`${pct(v).padStart(6)} ${v.toFixed(0).padStart(6)} ms  ${k}`);
  if (s.callers.length) {
    console.log(`-- callers of ${opt('callers')}`);
    for (const [k, v] of s.callers.slice(0, top)) console.log(`${pct(v).padStart(6)} ${v.toFixed(0).padStart(6)} ms  ${k}`);
  }
  if (Object.keys(s.inclusive).length) {
    console.log('-- inclusive');
    for (const [k, v] of Object.entries(s.inclusive)) console.log(`${pct(v).padStart(6)} ${v.toFixed(0).padStart(6)} ms  ${k}`);
  }
}
