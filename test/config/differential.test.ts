// Differential test: the compiled engine against the linear reference evaluator (oracle.ts,
// a plain re-statement of rules.c) on large generated event sets. Decisions and RuleNames
// must be identical on every event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, loadConfigText } from '../../src/config/index.js';
import { LinearEngine } from './oracle.js';
import { eventsFromConfig, randomConfig, randomEvents } from './gen.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/configs/', import.meta.url));

function compare(name: string, c: ReturnType<typeof loadConfigText>, events: ReturnType<typeof randomEvents>): { kept: number; named: number } {
  const oracle = new LinearEngine(c.parsed);
  let kept = 0,
    named = 0;
  for (const e of events) {
    const a = c.engine.evaluate(e);
    const b = oracle.evaluate(e);
    if (a.keep !== b.keep || a.ruleName !== b.ruleName) {
      assert.fail(`${name}: event ${JSON.stringify({ id: e.id, data: e.data })}\n engine ${JSON.stringify(a)}\n oracle ${JSON.stringify(b)}`);
    }
    if (a.keep) kept++;
    if (a.keep && a.ruleName !== '-') named++;
  }
  return { kept, named };
}

for (const file of ['sysmon-modular-sysmonconfig.xml', 'mstic-linux-main.xml', 'linux-small.xml']) {
  test(`compiled engine == linear oracle on ${file} (20,000 generated events)`, () => {
    const c = loadConfigFile(FIXTURES + file);
    const events = eventsFromConfig(c.parsed, 20_000, 7);
    const { kept, named } = compare(file, c, events);
    // the generated set must exercise both outcomes and named matches
    assert.ok(kept > 200 && kept < 19_800, `kept ${kept}`);
    assert.ok(named > 100, `named ${named}`);
  });
}

test('compiled engine == linear oracle on 400 random configs mixing every construct', () => {
  let kept = 0,
    named = 0,
    total = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const xml = randomConfig(seed);
    const c = loadConfigText(xml, `random-${seed}.xml`);
    const r = compare(`random config ${seed}: ${xml}`, c, randomEvents(250, seed * 31));
    kept += r.kept;
    named += r.named;
    total += 250;
  }
  assert.ok(kept > total / 10 && kept < total * 0.9, `kept ${kept}/${total}`);
  assert.ok(named > total / 50, `named ${named}`);
});
