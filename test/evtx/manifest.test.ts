// The committed instrumentation manifests equal the generator's output and are well-formed XML.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MANIFEST_FILES, manifestFor, renderManifest } from '../../src/commands/manifest.js';
import { EVENTS } from '../../src/events/schema.js';
import { WINDOWS_IDENTITY } from '../../src/events/event.js';
import { needTool, run } from './tools.js';

for (const [which, path] of Object.entries(MANIFEST_FILES)) {
  test(`${path} is up to date (regenerate: npx tsx src/commands/manifest.ts --write)`, () => {
    assert.equal(readFileSync(path, 'utf8'), manifestFor(which === 'windows'));
  });
  test(`${path} is well-formed XML (xmllint)`, (t) => {
    if (!needTool(t, 'xmllint')) return;
    const r = run('xmllint', ['--noout', path]);
    assert.equal(r.status, 0, r.stderr);
  });
}

test('manifest content: every event, task, template field and message', () => {
  const m = renderManifest(WINDOWS_IDENTITY);
  assert.match(m, /<provider name="Microsoft-Windows-Sysmon" guid="\{5770385F-C22A-43E0-BF4C-06F5698FFBD9\}"/);
  assert.match(m, /<channel name="Microsoft-Windows-Sysmon\/Operational" [^>]*type="Operational"/);
  for (const e of EVENTS) {
    assert.match(
      m,
      new RegExp(
        `<event symbol="${e.symbol}" value="${e.id}" version="${e.version}" [^>]*level="win:${e.level}"[^>]*opcode="win:Info" template="${e.symbol}_ARGS"`,
      ),
    );
    if (e.ruleName) assert.ok(m.includes(`value="${e.template} (rule: ${e.ruleName})"`), `task ${e.id}`);
    assert.ok(m.includes(`value="${e.template}:${e.fields.map((f, i) => `%n${f.name}: %${i + 1}!s!`).join('')}"`), `message ${e.id}`);
  }
  assert.match(m, /<data name="ProcessId" inType="win:UInt32" outType="win:PID"\/>/);
  assert.match(m, /<data name="LogonId" inType="win:HexInt64" outType="win:HexInt64"\/>/);
});
