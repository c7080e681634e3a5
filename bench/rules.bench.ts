// Rule engine throughput: events/s through the compiled engine with the sysmon-modular config
// versus the linear reference evaluator (test/config/oracle.ts). Run: npx tsx bench/rules.bench.ts
// Prints a markdown table row per engine plus the speed-up.
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../src/config/index.js';
import type { SysmonEvent } from '../src/events/event.js';
import { LinearEngine } from '../test/config/oracle.js';
import { FastLinearEngine } from './reference/linear-engine.js';
import { eventsFromConfig } from '../test/config/gen.js';

const file = process.argv[2] ?? fileURLToPath(new URL('../test/fixtures/configs/sysmon-modular-sysmonconfig.xml', import.meta.url));
const t0 = performance.now();
const config = loadConfigFile(file);
const loadMs = performance.now() - t0;
const filters = config.parsed.blocks.reduce((n, b) => n + b.filters.length, 0);

function run(events: SysmonEvent[], name: string, evaluate: (e: SysmonEvent) => { keep: boolean }, minMs: number): { name: string; rate: number; kept: number } {
  // warm-up
  for (let i = 0; i < Math.min(events.length, 5000); i++) evaluate(events[i]!);
  let n = 0, kept = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    for (const e of events) { if (evaluate(e).keep) kept++; n++; }
    if (n >= events.length * 20) break;
  }
  const s = (performance.now() - start) / 1000;
  return { name, rate: n / s, kept: kept / (n / events.length) };
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`config: ${file}\nfilters: ${filters}, load+compile: ${loadMs.toFixed(0)} ms\n`);
console.log('| event set (50k events) | compiled events/s | linear (native ops) events/s | linear (rules.c oracle) events/s | speed-up vs native linear | kept | mismatches |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
const fast = new FastLinearEngine(config.parsed);
const oracle = new LinearEngine(config.parsed);
const sets: [string, SysmonEvent[]][] = [
  ['match-heavy: 60% of fields from the config, all event types', eventsFromConfig(config.parsed, 50_000, 42, 0.6)],
  ['mostly unmatched: 5% of fields from the config, all event types', eventsFromConfig(config.parsed, 50_000, 43, 0.05)],
  ['ProcessCreate only, 20% of fields from the config', eventsFromConfig(config.parsed, 50_000, 44, 0.2, [1])],
];
for (const [label, events] of sets) {
  let mismatches = 0;
  for (const e of events) { const a = config.engine.evaluate(e), b = fast.evaluate(e); if (a.keep !== b.keep || a.ruleName !== b.ruleName) mismatches++; }
  const c = run(events, 'compiled', (e) => config.engine.evaluate(e), 2000);
  const l = run(events, 'linear', (e) => fast.evaluate(e), 2000);
  const o = run(events, 'oracle', (e) => oracle.evaluate(e), 1000);
  console.log(`| ${label} | ${fmt(c.rate)} | ${fmt(l.rate)} | ${fmt(o.rate)} | ${(c.rate / l.rate).toFixed(1)}x | ${fmt(c.kept)} | ${mismatches} |`);
}
