// Rule engine throughput: events/s through the compiled engine with the sysmon-modular config
// versus the linear reference evaluator (test/config/oracle.ts). Run: npx tsx bench/rules.bench.ts
// Prints a markdown table row per engine plus the speed-up.
import { fileURLToPath } from 'node:url';
import { RuleEngine, loadConfigFile } from '../src/config/index.js';
import type { SysmonEvent } from '../src/events/event.js';
import { LinearEngine } from '../test/config/oracle.js';
import { FastLinearEngine } from './reference/linear-engine.js';
import { eventsFromConfig } from '../test/config/gen.js';

const file = process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/configs/sysmon-modular-sysmonconfig.xml', import.meta.url));
const t0 = performance.now();
const config = loadConfigFile(file);
const loadMs = performance.now() - t0;
const filters = config.parsed.blocks.reduce((n, b) => n + b.filters.length, 0);

function run(
  events: SysmonEvent[],
  name: string,
  evaluate: (e: SysmonEvent) => { keep: boolean },
  minMs: number,
): { name: string; rate: number; kept: number } {
  // warm-up
  for (let i = 0; i < Math.min(events.length, 5000); i++) evaluate(events[i]!);
  void name;
  // CPU time of this process, not wall time: the numbers stay meaningful on a busy machine
  let n = 0,
    kept = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < minMs) {
    for (const e of events) {
      if (evaluate(e).keep) kept++;
      n++;
    }
    if (n >= events.length * 20) break;
  }
  const cpu = process.cpuUsage(cpu0);
  const s = (cpu.user + cpu.system) / 1e6;
  return { name, rate: n / s, kept: kept / (n / events.length) };
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`config: ${file}\nfilters: ${filters}, load+compile: ${loadMs.toFixed(0)} ms\n`);
console.log(
  '(events/s per CPU-second of this process; "hot" = 2,000 distinct events replayed, values repeat as in a live stream and stay in CPU caches; "cold" = 50,000 distinct events)\n',
);
console.log(
  '| event set | compiled events/s | compiled, no result cache | linear (native ops) events/s | linear (rules.c oracle) events/s | speed-up vs native linear | vs oracle | mismatches |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
const fast = new FastLinearEngine(config.parsed);
const oracle = new LinearEngine(config.parsed);
const nocache = new RuleEngine(config.parsed, { resultCache: false });
const mixes: [string, number, number[] | undefined][] = [
  ['all event types, 60% of fields from the config (match-heavy)', 0.6, undefined],
  ['all event types, 5% of fields from the config (mostly unmatched)', 0.05, undefined],
  ['ProcessCreate only (512 filters), 20% of fields from the config', 0.2, [1]],
];
for (const [label, p, ids] of mixes) {
  for (const [temp, n] of [
    ['hot', 2000],
    ['cold', 50_000],
  ] as const) {
    const events = eventsFromConfig(config.parsed, n, 42, p, ids);
    let mismatches = 0;
    for (const e of events) {
      const a = config.engine.evaluate(e),
        b = fast.evaluate(e);
      if (a.keep !== b.keep || a.ruleName !== b.ruleName) mismatches++;
    }
    const c = run(events, 'compiled', (e) => config.engine.evaluate(e), 1500);
    const nc = run(events, 'compiled-nocache', (e) => nocache.evaluate(e), 1500);
    const l = run(events, 'linear', (e) => fast.evaluate(e), 1500);
    const o = run(events, 'oracle', (e) => oracle.evaluate(e), 700);
    console.log(
      `| ${label}, ${temp} | ${fmt(c.rate)} | ${fmt(nc.rate)} | ${fmt(l.rate)} | ${fmt(o.rate)} | ${(c.rate / l.rate).toFixed(1)}x | ${(c.rate / o.rate).toFixed(0)}x | ${mismatches} |`,
    );
  }
}

// Comparisons per provider (issue 15): Sysmon for Linux's ASCII-only folding (the default)
// against Windows Sysmon's towlower folding (--windows), same config and events, alternated.
{
  const win = loadConfigFile(file, { provider: 'windows', imageBasename: false });
  const events = eventsFromConfig(config.parsed, 50_000, 42, 0.2);
  console.log('\n| provider (case folding) | compiled events/s, round 1 | round 2 | round 3 |\n|---|---:|---:|---:|');
  const rows: Record<string, string[]> = { 'linux (A-Z only, default)': [], 'windows (towlower)': [] };
  for (let r = 0; r < 3; r++) {
    rows['linux (A-Z only, default)']!.push(fmt(run(events, 'linux', (e) => config.engine.evaluate(e), 1500).rate));
    rows['windows (towlower)']!.push(fmt(run(events, 'windows', (e) => win.engine.evaluate(e), 1500).rate));
  }
  for (const [k, v] of Object.entries(rows)) console.log(`| ${k} | ${v.join(' | ')} |`);
}
