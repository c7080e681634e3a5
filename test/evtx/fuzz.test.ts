// EVTX reader fuzzing with a fixed seed (bench/evtx-fuzz.ts runs the same harness longer):
// 300 damaged files (truncation, flipped bytes in records, chunk headers and the file header,
// zeroed chunks and ranges, absurd record sizes, value counts and name lengths). The reader
// must never throw (except "not an EVTX file" when the file magic was hit), never hang (run in
// a child process with a time limit), and read every untouched record exactly as before: every
// record whose bytes, and those of the records whose templates and names it uses, are intact,
// whatever happened before or after it (bench/evtx-fuzz.ts says how that is found).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';

test('fuzz: 300 damaged files, seed 19: no crash, no hang, every untouched record read', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/evtx-fuzz.ts'), '--seed', '19', '--iterations', '300', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 1 << 24,
  });
  assert.equal(r.signal, null, `the fuzz run hung (killed by ${r.signal}); stderr: ${r.stderr.slice(-2000)}`);
  const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as import('../../bench/evtx-fuzz.js').FuzzResult;
  assert.deepEqual(res.failures, []);
  assert.equal(res.iterations, 300);
  assert.equal(res.unexpectedErrors, 0);
  assert.equal(res.untouchedMissing, 0);
  assert.equal(res.untouchedChanged, 0);
  // the damage really hit: records were lost and issues reported, yet most records were checked
  assert.ok(res.issuesReported > 100, `issues ${res.issuesReported}`);
  assert.ok(res.untouchedExpected > 10_000, `untouched ${res.untouchedExpected}`);
  assert.ok(Object.keys(res.byKind).length >= 9, 'every kind of damage applied');
  assert.ok(res.maxMs < 20_000, `slowest file ${res.maxMs} ms`);
  assert.equal(r.status, 0, r.stderr);
});
