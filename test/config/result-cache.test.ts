// The per-field result cache switches itself off for fields whose values do not repeat (it
// would only cost inserts and promoted garbage) and back on when they repeat again; either way
// the decisions are those of an engine without the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleEngine } from '../../src/config/index.js';
import { cfg, ev } from './helpers.js';

test('result cache: off for a field of unique values, on again when values repeat, same decisions', () => {
  const c = cfg(`<FileCreate onmatch="include"><TargetFilename condition="begin with">/etc/</TargetFilename>
    <TargetFilename name="tmp" condition="contains">/tmp/keep</TargetFilename><Image condition="end with">/sh</Image></FileCreate>`);
  const plain = new RuleEngine(c.parsed, { resultCache: false });
  const stat = () => c.engine.resultCacheStats().find((s) => s.id === 11 && s.field === 'TargetFilename')!;
  const check = (i: number, name: string) => {
    const e = ev(11, { TargetFilename: name, Image: i % 3 ? '/usr/bin/sh' : '/usr/bin/cp' });
    assert.deepEqual(c.engine.evaluate(e), plain.evaluate(e), `event ${i}: ${name}`);
  };
  // a file storm: every name new
  for (let i = 0; i < 3000; i++) check(i, i % 5 ? `/tmp/x/${i}.tmp` : `/tmp/keep/${i}`);
  assert.equal(stat().off, true, 'caching unique names should be off');
  assert.equal(stat().entries, 0);
  const image = c.engine.resultCacheStats().find((s) => s.id === 11 && s.field === 'Image')!;
  assert.equal(image.off, false, 'a repeating field keeps its cache');
  assert.ok(image.entries >= 2);
  // the same few names over and over: after the off span and one probe window it caches again
  const few = ['/etc/passwd', '/tmp/keep/a', '/var/log/x', '/tmp/y'];
  for (let i = 0; i < 40_000; i++) check(i, few[i % few.length]!);
  assert.equal(stat().off, false, 'repeating names should be cached again');
  assert.equal(stat().entries, few.length);
});
