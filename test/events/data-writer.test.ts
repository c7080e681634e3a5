// The journal writes most events' EventData straight from the data object (writeDataJson,
// writeDataRecord): the bytes must be JSON.stringify's, for every value an event can hold and
// for ones it should not, and a record must be byte for byte the one the stringify path writes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitActorRun, newRunEpoch, writeDataJson } from '../../src/events/data-writer.js';
import type { FieldValue, SysmonEvent } from '../../src/events/event.js';
import { EncodedEvent, encodeEvent } from '../../src/events/encoded.js';
import { EVENTS } from '../../src/events/schema.js';
import { decodePayload, eventRecordMaxBytes, RECORD_HEADER, writeDataRecord, writeEventRecord } from '../../src/journal/format.js';

const odd: Record<string, unknown>[] = [
  { RuleName: '-', Image: '/usr/bin/x', ProcessId: 5, Ok: true, No: false },
  { RuleName: 'a"b\\c', CommandLine: 'x\n,"d":{"c":1}}', Lone: 'ab\ud800cd', Tail: 'x\udc80', Uni: 'ü€😀', Ctl: '\u0000\u001f\u007f', Tab: '\t\r\b\f' },
  {
    Big: 12345678901234,
    Max: Number.MAX_SAFE_INTEGER,
    Min: Number.MIN_SAFE_INTEGER,
    Huge: 2 ** 60,
    Neg: -1.5,
    Zero: -0,
    Nan: Number.NaN,
    Inf: -Infinity,
    Empty: '',
  },
  { Null: null, Undef: undefined, Obj: { a: [1, 'b'] }, Arr: [], Date: new Date(0), Fn: () => 1, Sym: Symbol('s'), After: 'kept' },
  { '1': 'integer keys first', b: 1, '0': 'zero', 'quote"key': 'k', é: 'non-ASCII key' },
  { Gone: { toJSON: () => undefined }, Next: 1 },
  {},
  { Long: 'x'.repeat(100_000), LongUnicode: '€'.repeat(40_000) },
];

test('writeDataJson gives JSON.stringify bytes, or -1 only for a value JSON.stringify leaves out through toJSON', () => {
  const out = Buffer.alloc(1 << 20);
  for (const d of odd) {
    const end = writeDataJson(d as Record<string, FieldValue>, out, 3, out.length);
    if (Object.values(d).some((v) => typeof v === 'object' && v !== null && 'toJSON' in v && (v as { toJSON(): unknown }).toJSON() === undefined)) {
      assert.equal(end, -1);
      continue;
    }
    assert.equal(out.toString('utf8', 3, end), JSON.stringify(d), JSON.stringify(Object.keys(d)));
  }
});

test('writeDataJson leaves an object JSON.stringify would treat otherwise to it: a toJSON of its own, inherited keys', () => {
  const out = Buffer.alloc(1024);
  assert.equal(writeDataJson({ A: 1, toJSON: () => ({ B: 2 }) } as unknown as Record<string, FieldValue>, out, 0, out.length), -1);
  const inherited = Object.assign(Object.create({ Inherited: 'x' }) as Record<string, FieldValue>, { Own: 1 });
  assert.equal(writeDataJson(inherited, out, 0, out.length), -1);
});

test('writeDataJson on random strings and numbers equals JSON.stringify', () => {
  let seed = 99;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const units = [0x41, 0x7a, 0x20, 0x7e, 0x22, 0x5c, 0x2f, 0x0a, 0x00, 0x1f, 0x7f, 0x80, 0xe9, 0x20ac, 0xd83d, 0xde00, 0xdc80, 0xfffd];
  const out = Buffer.alloc(1 << 16);
  for (let i = 0; i < 20_000; i++) {
    const d: Record<string, FieldValue> = {};
    const fields = Math.floor(rnd() * 6);
    for (let f = 0; f < fields; f++) {
      if (rnd() < 0.3) d[`N${f}`] = Math.floor((rnd() - 0.5) * 2 ** (1 + Math.floor(rnd() * 52)));
      else
        d[`S${f}`] = String.fromCharCode(
          ...Array.from({ length: Math.floor(rnd() * 12) }, () => (rnd() < 0.7 ? 0x61 : units[Math.floor(rnd() * units.length)]!)),
        );
    }
    const end = writeDataJson(d, out, 0, out.length);
    assert.equal(out.toString('utf8', 0, end), JSON.stringify(d));
  }
});

test('writeDataJson says -1 when the room may not do (it checks before it writes), never writes past the limit', () => {
  const d = { RuleName: '-', Image: '/usr/bin/bash', ProcessId: 1234, Esc: 'a"b', Uni: 'ü' };
  const want = Buffer.from(JSON.stringify(d));
  const enough = 3 * want.length;
  let fitted = 0;
  for (let limit = 0; limit <= enough; limit++) {
    const out = Buffer.alloc(enough + 16, 0xee);
    const end = writeDataJson(d, out, 0, limit);
    if (limit < want.length) assert.equal(end, -1, `limit ${limit}`);
    if (end >= 0) {
      fitted++;
      assert.equal(out.toString('utf8', 0, end), want.toString());
    }
    for (let i = limit; i < out.length; i++) assert.equal(out[i], 0xee, `byte ${i} past limit ${limit}`);
  }
  assert.ok(fitted > 0, 'it fits once the room is ample');
});

test('writeDataRecord writes the record writeEventRecord writes for the stringified event, and attaches the event', () => {
  const containers = [undefined, { id: 'abc"}', runtime: 'docker', cgroup: '/x,"c":{}' }];
  for (const d of odd) {
    for (const container of containers) {
      const mk = (): SysmonEvent => {
        const e: SysmonEvent = { id: 11, recordId: 0, timeNs: 1_700_000_000_123_456_789n, data: { ...(d as Record<string, FieldValue>) } };
        if (container) e.container = container;
        return e;
      };
      const direct = Buffer.alloc(1 << 20);
      const enc = writeDataRecord(direct, 8, direct.length, 42, mk());
      if (enc === null) continue; // a toJSON without a value: the stringify path's
      const viaText = Buffer.alloc(1 << 20);
      const e2 = encodeEvent(mk());
      assert.ok(eventRecordMaxBytes(e2) < viaText.length);
      const n = writeEventRecord(viaText, 8, 42, e2);
      const len = RECORD_HEADER + direct.readUInt32LE(8);
      assert.equal(len, n);
      assert.ok(direct.subarray(8, 8 + n).equals(viaText.subarray(8, 8 + n)), 'same record bytes');
      assert.ok(enc instanceof EncodedEvent && enc.bytes === direct);
      assert.equal(enc.dataText, JSON.stringify(d));
      assert.ok(Object.isFrozen(enc.data));
      assert.deepEqual(decodePayload(42, direct.subarray(8 + RECORD_HEADER, 8 + n)).container, container);
    }
  }
});

test('writeDataJson: long strings (the regex and native copy path) with one character to escape or widen anywhere give JSON.stringify bytes', () => {
  const out = Buffer.alloc(1 << 16);
  const odd = ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '€', '\ud800', '\udc80', '😀'];
  for (const len of [38, 39, 40, 41, 64, 300]) {
    const plain = 'a/b c-d_e.f:g{h}i'.repeat(20).slice(0, len);
    const cases: string[] = [plain];
    for (const c of odd) for (const at of [0, len >> 1, len - 1]) cases.push(plain.slice(0, at) + c + plain.slice(at + 1));
    for (const s of cases) {
      const d = { Before: 'x', Value: s, After: 1 };
      const end = writeDataJson(d, out, 0, out.length);
      assert.equal(out.toString('utf8', 0, end), JSON.stringify(d), JSON.stringify(s));
    }
  }
});

test('writeDataJson: a process seen earlier in the fill gives the same bytes (its ProcessGuid/ProcessId/Image run is copied), whatever changes', () => {
  const out = Buffer.alloc(1 << 16);
  const epoch = newRunEpoch();
  let at = 0;
  // as the journal does: records one after another in one fill, each run committed once written
  const put = (d: Record<string, FieldValue>, why: string): void => {
    const before = Buffer.from(out.subarray(0, at));
    const end = writeDataJson(d, out, at, out.length, epoch);
    if (end < 0) return; // declined: the caller's JSON.stringify path
    assert.equal(out.toString('utf8', at, end), JSON.stringify(d), why);
    assert.ok(out.subarray(0, at).equals(before), 'bytes before the write position are left alone');
    commitActorRun();
    at = end;
  };
  const guid = `{${'1'.repeat(8)}-6a5e-${Date.now().toString(16).slice(-4)}-0000-000000000001}`;
  const images = ['/usr/bin/x', '/tmp/a"b\\c\n', '/tmp/ü€😀', '/tmp/\ud800lone', 'x'.repeat(300)];
  for (const image of images) {
    // 2 ** 31 + 5 is not an int32 (never a slot); 1029 shares a slot with 5
    for (const pid of [5, 1029, 4242, 2 ** 31 + 5]) {
      for (let i = 0; i < 2; i++) {
        put({ RuleName: '-', UtcTime: 't', ProcessGuid: guid, ProcessId: pid, Image: image, User: 'root' }, `${image} ${pid} ${i}`);
        put({ ProcessGuid: guid, ProcessId: pid, Image: image }, `first keys ${image} ${pid}`);
        put({ RuleName: '-', ProcessGuid: guid, ProcessId: pid, Image: `${image}2`, User: 'u' }, 'another image');
        put({ RuleName: '-', ProcessGuid: `${guid}x`, ProcessId: pid, Image: image }, 'another guid');
        put({ RuleName: '-', ProcessGuid: guid, ProcessId: pid + 1, Image: image }, 'another pid');
      }
    }
  }
  // a builder never leaves out or reorders these fields; if something does: JSON.stringify's bytes, or -1 (the stringify path)
  put({ RuleName: '-', ProcessGuid: guid, ProcessId: 5, Image: images[0]! }, 'recorded');
  const reordered: Record<string, FieldValue>[] = [
    { ProcessGuid: guid, Image: images[0]!, ProcessId: 5 },
    { ProcessGuid: guid, ProcessId: 5, Other: 'x', Image: images[0]! },
    { ProcessGuid: guid, ProcessId: 5 },
    { ProcessGuid: guid, ProcessId: 5, Image: images[0]!, Extra: 2 },
    { ProcessGuid: guid, ProcessId: undefined as unknown as number, Image: images[0]! },
    { ProcessGuid: guid, Undef: undefined as unknown as number, ProcessId: 5, Image: images[0]! },
    { Before: 1, ProcessGuid: guid, ProcessId: 5, Image: images[0]!, After: true },
  ];
  for (const d of reordered) put(d, JSON.stringify(Object.keys(d)));
});

test('writeDataJson copies a run only from the same buffer, the same epoch and a committed record', () => {
  const a = Buffer.alloc(4096);
  const b = Buffer.alloc(4096);
  const d = { RuleName: '-', ProcessGuid: '{aaaaaaaa-6a5e-0000-0000-000000000009}', ProcessId: 9, Image: '/bin/true' };
  const want = JSON.stringify(d);
  const e1 = newRunEpoch();
  let end = writeDataJson(d, a, 0, a.length, e1);
  commitActorRun();
  // the bytes of that run are rewritten in place: the same buffer with a new epoch must not copy them
  a.fill(0x21, 0, end);
  const e2 = newRunEpoch();
  let end2 = writeDataJson(d, a, end, a.length, e2);
  assert.equal(a.toString('utf8', end, end2), want, 'new epoch: written, not copied');
  commitActorRun();
  // another buffer in the same epoch (at an offset past the run): nothing of it to copy from
  end = writeDataJson(d, b, 2000, b.length, e2);
  assert.equal(b.toString('utf8', 2000, end), want, 'other buffer');
  // a write that was not committed (its record failed) is not a source either
  const e3 = newRunEpoch();
  end = writeDataJson(d, a, 0, a.length, e3);
  a.fill(0x21, 0, end);
  end2 = writeDataJson(d, a, end, a.length, e3);
  assert.equal(a.toString('utf8', end, end2), want, 'uncommitted');
  // without an epoch (-1), never
  end = writeDataJson(d, b, 0, b.length);
  commitActorRun();
  b.fill(0x21, 0, end);
  end2 = writeDataJson(d, b, end, b.length);
  assert.equal(b.toString('utf8', end, end2), want, 'no epoch');
});

test('writeDataJson and writeDataRecord do copy a committed run of the same fill (white box: the copy carries a byte changed at the source)', () => {
  const a = Buffer.alloc(4096);
  const d = { RuleName: '-', ProcessGuid: '{bbbbbbbb-6a5e-0000-0000-000000000011}', ProcessId: 11, Image: '/bin/true', User: 'root' };
  const e = newRunEpoch();
  const end = writeDataJson(d, a, 0, a.length, e);
  commitActorRun();
  a[a.indexOf('/bin/true') + 1] = 0x42; // '/Bin/true' at the source: only a copy can carry it
  const end2 = writeDataJson(d, a, end, a.length, e);
  assert.equal(a.toString('utf8', end, end2), JSON.stringify(d).replace('/bin/true', '/Bin/true'));
  // the journal's path: a record commits its run, the next record of the fill copies it
  const r = Buffer.alloc(4096);
  const mk = (): SysmonEvent => ({ id: 3, recordId: 0, timeNs: 1n, data: { ...d, ProcessId: 12 } });
  const e2 = newRunEpoch();
  const first = writeDataRecord(r, 0, r.length, 1, mk(), e2)!;
  r[r.indexOf('/bin/true') + 1] = 0x42;
  const next = writeDataRecord(r, first.dataEnd + 1, r.length, 2, mk(), e2)!;
  assert.match(next.dataText, /\/Bin\/true/);
});

test('every event with a ProcessGuid after another event of its process in the same fill takes the writer, not the JSON.stringify fallback (FileDelete has User before Image)', () => {
  const guid = '{cccccccc-6a5e-0000-0000-000000000077}';
  const fieldValue = (name: string, type: string): FieldValue =>
    name === 'ProcessGuid'
      ? guid
      : name === 'ProcessId'
        ? 77
        : name === 'Image'
          ? '/usr/bin/app'
          : name === 'User'
            ? 'root'
            : type === 'Boolean'
              ? false
              : type.startsWith('UInt')
                ? 1
                : '-';
  const withGuid = EVENTS.filter((e) => e.fields.some((f) => f.name === 'ProcessGuid'));
  assert.ok(withGuid.some((e) => e.id === 23) && withGuid.some((e) => e.id === 26));
  for (const def of withGuid) {
    const data = (): Record<string, FieldValue> => Object.fromEntries(def.fields.map((f) => [f.name, fieldValue(f.name, f.type)]));
    const buf = Buffer.alloc(1 << 16);
    const epoch = newRunEpoch();
    // a NetworkConnect of the process records its run, then the event under test follows in the same fill
    const first = writeDataRecord(
      buf,
      0,
      buf.length,
      1,
      { id: 3, recordId: 0, timeNs: 1n, data: { RuleName: '-', ProcessGuid: guid, ProcessId: 77, Image: '/usr/bin/app', User: 'root' } },
      epoch,
    );
    assert.ok(first);
    const enc = writeDataRecord(buf, first.dataEnd + 8, buf.length, 2, { id: def.id, recordId: 0, timeNs: 1n, data: data() }, epoch);
    assert.ok(enc, `event ${def.id} (${def.ruleName}) fell back to JSON.stringify`);
    assert.equal(enc.dataText, JSON.stringify(data()), `event ${def.id}`);
  }
});
