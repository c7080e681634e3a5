// Marshalling of the ETW sink (sinks/eventlog): descriptors and payload bytes for every template.
// The advapi32 calls themselves cannot run here (Windows-only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENTS } from '../../src/events/schema.js';
import { LINUX_IDENTITY } from '../../src/events/event.js';
import { createEventLogSink, dataDescriptors, eventDescriptor, marshalEvent } from '../../sinks/eventlog/etw.js';
import { makeEvent } from './fixtures.js';

const SIZE = { UInt32: 4, UInt16: 2, UInt64: 8, Boolean: 4, HexInt32: 4, HexInt64: 8, GUID: 16 } as const;

test('every template marshals to one payload per field with the inType size', () => {
  for (const def of EVENTS) {
    const ev = makeEvent(def.id, 7);
    const d = eventDescriptor(def.id);
    assert.equal(d.length, 16);
    assert.equal(d.readUInt16LE(0), def.id);
    assert.equal(d[2], def.version);
    assert.equal(d[4], def.level === 'Error' ? 2 : 4);
    assert.equal(d.readUInt16LE(6), def.id);
    assert.equal(d.readBigUInt64LE(8), 0x8000000000000000n);
    const payloads = marshalEvent(ev);
    assert.equal(payloads.length, def.fields.length);
    def.fields.forEach((f, i) => {
      const p = payloads[i]!;
      const v = ev.data[f.name]!;
      if (f.type === 'UnicodeString') assert.deepEqual(p, Buffer.from(`${v}\0`, 'utf16le'));
      else assert.equal(p.length, SIZE[f.type], `${def.id} ${f.name}`);
      if (f.type === 'UInt32') assert.equal(p.readUInt32LE(), v);
      if (f.type === 'Boolean') assert.equal(p.readUInt32LE(), v ? 1 : 0);
      if (f.type === 'HexInt64') assert.equal(`0x${p.readBigUInt64LE().toString(16)}`, v);
    });
    const descs = dataDescriptors(
      payloads,
      payloads.map((_, i) => 0x1000n * BigInt(i + 1)),
    );
    assert.equal(descs.length, 16 * payloads.length);
    assert.equal(descs.readBigUInt64LE(16), 0x2000n);
    assert.equal(descs.readUInt32LE(24), payloads[1]!.length);
  }
});

test('GUID payload is Data1-3 little-endian', () => {
  const p = marshalEvent(makeEvent(5, 1, { ProcessGuid: '{01020304-0506-0708-090a-0b0c0d0e0f10}' }))[2]!;
  assert.equal(p.toString('hex'), '04030201060508070' + '90a0b0c0d0e0f10');
});

test('on Linux the ETW sink says it is Windows-only', { skip: process.platform === 'win32' }, async () => {
  await assert.rejects(createEventLogSink({ ...LINUX_IDENTITY, computer: 'h' }).open(), /Windows-only/);
});
