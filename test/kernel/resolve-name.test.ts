// resolveName's fast path (names that are already normal) must agree with posix.normalize.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { resolveName } from '../../src/families/file/records.js';

const slow = (dir: string, name: string): string => posix.normalize(name.startsWith('/') ? name : `${dir}/${name}`).replace(/(.)\/$/, '$1');

test('resolveName equals the normalize-based definition', () => {
  const dirs = ['/', '/tmp', '/tmp/a b', '/home/u/.cache', '/a/..', '/a/.', '//x', '', '.', 'rel/dir', '/é/😀'];
  const names = [
    'f',
    '.f',
    '..f',
    'f.',
    'a/b',
    'a//b',
    './f',
    '../f',
    'a/./b',
    'a/../b',
    '..',
    '.',
    '/',
    '//',
    '/abs',
    '/abs/',
    '/abs/.',
    '/abs/..',
    '/a/b/../../..',
    'f/',
    'f/.',
    'x\0y',
    '',
    '...',
    'a/.../b',
  ];
  for (const d of dirs) for (const n of names) assert.equal(resolveName(d, n), slow(d, n), `${JSON.stringify(d)} + ${JSON.stringify(n)}`);
});

test('random paths', () => {
  const parts = ['a', '.', '..', '', '.x', 'x.', '...', 'ü'];
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 20000; i++) {
    const mk = (): string => Array.from({ length: 1 + rnd(4) }, () => parts[rnd(parts.length)]).join('/');
    const d = (rnd(4) ? '/' : '') + mk();
    const n = (rnd(5) ? '' : '/') + mk();
    assert.equal(resolveName(d, n), slow(d, n), `${JSON.stringify(d)} + ${JSON.stringify(n)}`);
  }
});
