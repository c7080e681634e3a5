// refPathInDir and refPath assemble a record's path in bytes and decode it once; they must
// give what the definition gives: the directory's leaf-first components decoded, reversed and
// joined with '/', the name decoded and appended, then resolveName's normalization.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveName, normalizePath } from '../../src/families/file/records.js';
import { refPath, refPathInDir } from '../../src/kernel/records/common.js';
import { decodeBytes } from '../../src/kernel/text.js';

/** a record: a 24-byte header, two str_refs at 24 and 32, then the dir and the name bytes */
function record(dir: Buffer, name: Buffer): Buffer {
  const b = Buffer.alloc(40 + dir.length + name.length);
  b.writeUInt32LE(40, 24);
  b.writeUInt32LE(dir.length, 28);
  b.writeUInt32LE(40 + dir.length, 32);
  b.writeUInt32LE(name.length, 36);
  dir.copy(b, 40);
  name.copy(b, 40 + dir.length);
  return b;
}

function definedDir(dir: Buffer): string {
  if (dir.length === 0) return '/';
  const parts = decodeBytes(dir).split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return `/${parts.reverse().join('/')}`;
}

function definedPath(dir: Buffer, name: Buffer): string {
  return name.length === 0 ? definedDir(dir) : resolveName(definedDir(dir), decodeBytes(name));
}

const pieces = ['a', 'usr', 'é', '😀', '..', '.', '', 'x y', 'f.txt', '\u00ff', 'tmp'].map((s) => Buffer.from(s));
const odd = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xe2, 0x82]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0x80, 0x41])];

function randomDir(rnd: () => number): Buffer {
  const n = Math.floor(rnd() * 5);
  const comps: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const pool = rnd() < 0.2 ? odd : pieces;
    comps.push(Buffer.concat([pool[Math.floor(rnd() * pool.length)]!, rnd() < 0.3 ? pool[Math.floor(rnd() * pool.length)]! : Buffer.alloc(0)]));
    if (i < n - 1 || rnd() < 0.8) comps.push(Buffer.from([0]));
  }
  return Buffer.concat(comps);
}

function randomName(rnd: () => number): Buffer {
  const r = rnd();
  if (r < 0.15) return Buffer.alloc(0);
  const parts: Buffer[] = [];
  if (r < 0.3) parts.push(Buffer.from('/'));
  const n = 1 + Math.floor(rnd() * 3);
  for (let i = 0; i < n; i++) {
    const pool = rnd() < 0.2 ? odd : pieces;
    parts.push(pool[Math.floor(rnd() * pool.length)]!);
    if (i < n - 1) parts.push(Buffer.from(rnd() < 0.1 ? '//' : '/'));
  }
  if (rnd() < 0.1) parts.push(Buffer.from('/'));
  return Buffer.concat(parts);
}

test('refPathInDir and refPath equal the definition on 20,000 random directories and names (invalid UTF-8 too)', () => {
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 20_000; i++) {
    const dir = randomDir(rnd);
    const name = randomName(rnd);
    const rec = record(dir, name);
    const what = `dir ${dir.toString('hex')} name ${name.toString('hex')}`;
    assert.equal(refPathInDir(rec, 24, 32, normalizePath), definedPath(dir, name), what);
    assert.equal(refPath(rec, 24, 'dir'), definedDir(dir), what);
  }
});

test('refPathInDir: a string outside the record is a decode error naming it', () => {
  const rec = record(Buffer.from('a\0'), Buffer.from('b'));
  rec.writeUInt32LE(1000, 36);
  assert.throws(() => refPathInDir(rec, 24, 32, normalizePath), /name string/);
});
