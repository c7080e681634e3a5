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
const events = eventsFromConfig(config.parsed, 50_000, 42);

function run(name: string, evaluate: (e: SysmonEvent) => { keep: boolean }, minMs: number): { name: string; rate: number; kept: number } {
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

const compiled = run('compiled', (e) => config.engine.evaluate(e), 3000);
const fast = new FastLinearEngine(config.parsed);
let mismatches = 0;
for (const e of events) { const a = config.engine.evaluate(e), b = fast.evaluate(e); if (a.keep !== b.keep || a.ruleName !== b.ruleName) mismatches++; }
const linear = run('linear (native string ops)', (e) => fast.evaluate(e), 3000);
const oracle = new LinearEngine(config.parsed);
const slow = run('linear (rules.c oracle, per-char compare)', (e) => oracle.evaluate(e), 2000);
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(`config: ${file}\nfilters: ${filters}, load+compile: ${loadMs.toFixed(0)} ms, events: ${events.length} generated (values from the config's filters, mutated)\n`);
console.log('| engine | config | events/s | kept per 50k | speed-up |');
console.log('|---|---|---:|---:|---:|');
console.log(`| ${compiled.name} | sysmon-modular (${filters} filters) | ${fmt(compiled.rate)} | ${fmt(compiled.kept)} | ${(compiled.rate / linear.rate).toFixed(1)}x |`);
console.log(`| ${linear.name} | sysmon-modular (${filters} filters) | ${fmt(linear.rate)} | ${fmt(linear.kept)} | 1.0x |`);
console.log(`| ${slow.name} | sysmon-modular (${filters} filters) | ${fmt(slow.rate)} | ${fmt(slow.kept)} | ${(slow.rate / linear.rate).toFixed(2)}x |`);
console.log(`\ndecision/RuleName mismatches compiled vs linear: ${mismatches}`);
