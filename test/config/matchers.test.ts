// The engine's multi-pattern structures against plain string operations: every prefix,
// suffix and substring pattern of random texts, over an alphabet that mixes ASCII, characters
// no pattern uses, non-ASCII letters and surrogate pairs (the transition tables keep only the
// ASCII characters the patterns use; everything else takes another path).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AffixTrie, AhoCorasick, type HitSink } from '../../src/config/matchers.js';
import { rng } from './gen.js';

const UNITS = ['a', 'b', 'c', '\\', '/', '.', ' ', 'z', 'é', 'Σ', '😀', '\ud800'];

function word(r: () => number, max: number, alphabet: readonly string[]): string {
  let s = '';
  const n = Math.floor(r() * (max + 1));
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)]!;
  return s;
}

class Collect implements HitSink {
  hits = new Set<number>();
  patterns: number[] = [];
  onHit(o: number): void {
    this.hits.add(o);
  }
  onPattern(p: number): void {
    this.patterns.push(p);
  }
}

test('AffixTrie finds exactly the keys that are prefixes / suffixes of the text', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    // patterns never use 'z' or '.', texts do: a unit without a table column must end the walk
    const keys = Array.from({ length: 60 }, () =>
      word(
        r,
        5,
        UNITS.filter((u) => u !== 'z' && u !== '.'),
      ),
    );
    const pre = new AffixTrie(false);
    const suf = new AffixTrie(true);
    keys.forEach((k, i) => {
      pre.add(k, i);
      suf.add(k, i);
    });
    for (let t = 0; t < 300; t++) {
      const text = word(r, 8, UNITS);
      const a = new Collect();
      const b = new Collect();
      pre.walk(text, a);
      suf.walk(text, b);
      const wantPre = new Set(keys.flatMap((k, i) => (text.startsWith(k) ? [i] : [])));
      const wantSuf = new Set(keys.flatMap((k, i) => (text.endsWith(k) ? [i] : [])));
      assert.deepEqual(a.hits, wantPre, `prefixes of ${JSON.stringify(text)} (seed ${seed})`);
      assert.deepEqual(b.hits, wantSuf, `suffixes of ${JSON.stringify(text)} (seed ${seed})`);
    }
    assert.throws(() => pre.add('a', 99), /after the first walk/);
  }
});

test('AhoCorasick reports each distinct pattern found in the text exactly once', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed * 7);
    const ac = new AhoCorasick();
    const pats = Array.from({ length: 50 }, () =>
      word(
        r,
        4,
        UNITS.filter((u) => u !== 'z'),
      ),
    );
    const ids = pats.map((p, i) => ac.add(p, i));
    ac.build();
    for (let t = 0; t < 300; t++) {
      const text = word(r, 12, UNITS);
      const c = new Collect();
      ac.search(text, c);
      assert.equal(new Set(c.patterns).size, c.patterns.length, 'a pattern reported twice');
      const want = new Set(pats.flatMap((p, i) => (text.length > 0 && text.includes(p) ? [ids[i]!] : [])));
      assert.deepEqual(new Set(c.patterns), want, `patterns in ${JSON.stringify(text)} (seed ${seed})`);
    }
    assert.throws(() => ac.add('a', 99), /after build/);
  }
});
