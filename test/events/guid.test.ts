import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
// The GUID formatter against the layout written out the slow, obvious way (Sysmon's
// GenerateUniqueId: Data1 machine id, Data2/Data3 the low/high 16 bits of a time in seconds,
// Data4 the little-endian bytes of a 64-bit key), over edge values and random ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGuid, GuidMaker, startTicks, startTicksOf } from '../../src/events/guid.js';

function reference(data1: number, seconds: number, key: bigint): string {
  const h = (n: number, w: number) => n.toString(16).padStart(w, '0');
  const b = Array.from({ length: 8 }, (_, i) => h(Number((key >> BigInt(8 * i)) & 0xffn), 2));
  return `{${h(data1 >>> 0, 8)}-${h(seconds & 0xffff, 4)}-${h(Math.floor(seconds / 0x10000) & 0xffff, 4)}-${b[0]}${b[1]}-${b.slice(2).join('')}}`;
}

const u32 = () => Math.floor(Math.random() * 2 ** 32);
const EDGES = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

test('formatGuid: every byte of the 64-bit key in little-endian order, machine id and time halves', () => {
  const cases: [number, number, bigint][] = [];
  for (const a of EDGES) for (const b of EDGES) cases.push([a, b, (BigInt(b) << 32n) | BigInt(a)]);
  for (let i = 0; i < 5000; i++) cases.push([u32(), u32() + (i % 3) * 2 ** 32, (BigInt(u32()) << 32n) | BigInt(u32())]);
  for (const [d1, secs, key] of cases) assert.equal(formatGuid(d1, secs, key), reference(d1, secs, key), `formatGuid(${d1}, ${secs}, ${key})`);
});

test('GuidMaker: process, Linux logon and Windows logon keys as Sysmon builds them', () => {
  const m = new GuidMaker(0x277d2fec, 1_700_000_000);
  for (let i = 0; i < 2000; i++) {
    const pid = i < EDGES.length ? EDGES[i]! : u32();
    const ticks = Math.floor(Math.random() * 2 ** 40) * (i % 2);
    const endCode = i % 3 === 0 ? BigInt(u32()) : (BigInt(u32()) << 32n) | BigInt(u32());
    const secs = 1_700_000_000 + Math.floor(ticks / 100);
    assert.equal(m.process(pid, ticks, endCode), reference(0x277d2fec, secs, (BigInt.asUintN(32, endCode) << 32n) | BigInt(pid >>> 0)));
    const uid = u32();
    const tty = u32() & 0xfffff;
    const t = u32();
    assert.equal(m.linuxLogon(uid, tty, t), reference(0x277d2fec, t, (BigInt(tty) << 32n) | BigInt(uid)));
    assert.equal(m.logon(uid, tty), reference(0x277d2fec, 0, (BigInt(tty) << 32n) | BigInt(uid)));
  }
  assert.equal(m.linuxLogon(1000), '{277d2fec-0000-0000-e803-000000000000}');
});

test('GuidMaker.linuxLogon: repeated and alternating facts (its last GUID is reused only for the same three)', () => {
  const m = new GuidMaker(0x277d2fec, 1_700_000_000);
  const facts: [number, number, number][] = [
    [1000, 0, 0],
    [1000, 0, 0],
    [1000, 0, 1],
    [1000, 1, 1],
    [1001, 1, 1],
    [1001, 1, 1],
    [1000, 0, 0],
    [0, 0, 0],
    [0, 0, 1_700_000_000],
    [0, 3, 1_700_000_000],
  ];
  for (let i = 0; i < 200; i++) facts.push([u32() % 3, u32() % 2, u32() % 2]);
  for (const [uid, tty, t] of facts)
    assert.equal(m.linuxLogon(uid, tty, t), reference(0x277d2fec, t, (BigInt(tty) << 32n) | BigInt(uid)), `linuxLogon(${uid}, ${tty}, ${t})`);
});

test('startTicksOf: the u64 from its two u32 halves, as startTicks divides the BigInt, at tick edges and at random', () => {
  const TICK = 10_000_000n;
  const values: bigint[] = [0n, 1n, TICK - 1n, TICK, TICK + 1n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 53n, 2n ** 60n, 2n ** 63n - 1n];
  // the ends of ticks around where the high half carries and where doubles lose integers
  for (const base of [2n ** 32n, 2n ** 40n, 2n ** 52n, 2n ** 53n, 2n ** 56n, 2n ** 62n]) {
    const k = base / TICK;
    for (const d of [-1n, 0n, 1n]) values.push((k + d) * TICK - 1n, (k + d) * TICK, (k + d) * TICK + 1n);
  }
  for (let i = 0; i < 20000; i++) {
    const hi = BigInt(i % 2 ? u32() : u32() % 2 ** 22);
    values.push((hi << 32n) | BigInt(u32()));
  }
  for (const ns of values) {
    const lo = Number(ns & 0xffffffffn);
    const hi = Number(ns >> 32n);
    if (hi >= 1_800_000_000) continue; // past ~245 years after boot: out of the documented range
    assert.equal(startTicksOf(lo, hi), startTicks(ns), `startTicksOf(${ns})`);
  }
});

test('a process GUID kept in the process table is one flat string, not a tree of concatenations', () => {
  // the table keeps one GUID per process (thousands under an exec storm): as the tree of ~13
  // concatenated strings the template leaves, each held ~450 bytes of heap; flat, ~66
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const maker = new GuidMaker(0x12345678, 1_700_000_000);
  const kept: string[] = [];
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 20_000; i++) kept.push(maker.process(1000 + i, 5000 + i, BigInt(i * 7919)));
  gc();
  const perGuid = (process.memoryUsage().heapUsed - before) / kept.length;
  assert.equal(kept.length, 20_000);
  assert.ok(perGuid < 150, `${perGuid.toFixed(0)} bytes of heap per GUID`);
});
