// The EventData text: computed once when the journal encodes an event, reused by the JSONL
// encoder, never stale (the encoded data is frozen; a copy is stringified from its own data),
// and recovered exactly from journal payloads without parsing them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SysmonEvent } from '../../src/events/event.js';
import { EncodedEvent, dataJson, encodeEvent } from '../../src/events/encoded.js';
import { RECORD_HEADER, decodePayload, eventRecordMaxBytes, payloadText, writeEventRecord, writeRecord } from '../../src/journal/format.js';
import { encodeJsonl } from '../../sinks/shared/jsonl-encode.js';
import { makeIdentity } from '../../src/events/event.js';

const WHO = makeIdentity(false, 'host');

function ev(data: SysmonEvent['data'], container?: SysmonEvent['container']): SysmonEvent {
  const e: SysmonEvent = { id: 1, recordId: 7, timeNs: 1_700_000_000_123_456_789n, data };
  if (container) e.container = container;
  return e;
}

const tricky: SysmonEvent['data'][] = [
  { RuleName: '-', Image: '/usr/bin/x', ProcessId: 5, Ok: true },
  { RuleName: 'a"b\\c', CommandLine: 'x\n,"d":{"c":1}}', Lone: 'ab\ud800cd', Uni: 'ü€😀', Ctl: '\u0000\u001f' },
  { RuleName: '-', Big: 12345678901234, Neg: -1.5, Empty: '' },
  {},
];

test('a plain event is stringified on every call and stays mutable', () => {
  const e = ev({ RuleName: '-', A: 1 });
  assert.equal(dataJson(e), JSON.stringify(e.data));
  e.data.RuleName = 'r';
  assert.equal(dataJson(e), '{"RuleName":"r","A":1}');
  assert.ok(!Object.isFrozen(e.data));
});

test('encodeEvent: JSONL reuses the text, the data can no longer change, the line is the same', () => {
  for (const d of tricky) {
    const plain = ev({ ...d });
    const want = encodeJsonl(ev({ ...d }), WHO);
    const e = encodeEvent(plain);
    assert.ok(e instanceof EncodedEvent);
    assert.equal(encodeEvent(e), e, 'encoding twice is a no-op');
    assert.equal(e.data, plain.data, 'the data object is kept, not re-parsed');
    assert.equal(e.dataText, JSON.stringify(d));
    assert.equal(dataJson(e), JSON.stringify(d));
    assert.equal(encodeJsonl(e, WHO), want);
    assert.equal(payloadText(e), payloadText(ev({ ...d })));
    assert.ok(Object.isFrozen(e.data));
    assert.throws(() => {
      e.data.RuleName = 'changed';
    }, TypeError);
    assert.throws(() => {
      (plain.data as Record<string, unknown>).New = 1;
    }, TypeError);
  }
});

test('decodePayload recovers the exact data text, with and without a container', () => {
  const containers = [undefined, { id: 'abc"}', runtime: 'docker', cgroup: '/x,"c":{}' }];
  for (const d of tricky) {
    for (const c of containers) {
      const text = payloadText(ev({ ...d }, c));
      const back = decodePayload(7, Buffer.from(text, 'utf8'));
      assert.ok(back instanceof EncodedEvent);
      assert.deepEqual(back.data, d);
      assert.deepEqual(back.container, c);
      assert.equal(dataJson(back), JSON.stringify(d));
      assert.equal(encodeJsonl(back, WHO), encodeJsonl(ev({ ...d }, c), WHO));
    }
  }
});

test('a payload not in the usual layout is decoded by a full parse', () => {
  const back = decodePayload(1, Buffer.from('{"t":"5","id":1,"d":{"A":1}}'));
  assert.ok(!(back instanceof EncodedEvent));
  assert.deepEqual(back.data, { A: 1 });
  assert.equal(back.timeNs, 5n);
  assert.equal(dataJson(back), '{"A":1}');
});

test('an event read back from the journal keeps the text and parses its data only on use', () => {
  const d = { RuleName: '-', Image: '/usr/bin/x', ProcessId: 5 };
  const back = decodePayload(9, Buffer.from(payloadText(ev({ ...d })), 'utf8'));
  assert.ok(back instanceof EncodedEvent);
  assert.equal(back.recordId, 9);
  assert.equal(back.timeNs, 1_700_000_000_123_456_789n);
  assert.equal(dataJson(back), JSON.stringify(d)); // without parsing
  assert.deepEqual(back.data, d);
  assert.equal(back.data, back.data, 'parsed once');
  assert.ok(Object.isFrozen(back.data));
  // a copy with its own data is encoded from that data, never from the original's text
  const truncated = { ...back, data: { ...back.data, Image: '/usr' } };
  assert.equal(dataJson(truncated), JSON.stringify({ ...d, Image: '/usr' }));
  // a spread copy has no data (a class getter; TypeScript rejects it too): loud, never "EventData":undefined
  assert.throws(() => encodeJsonl({ ...back } as unknown as SysmonEvent, WHO), /has no data/);
});

test('payloads that only look like the usual layout are parsed in full or rejected, never mis-split', () => {
  // a bad time or container is an error (the reader reports it), a look-alike inside a string is data
  assert.throws(() => decodePayload(1, Buffer.from('{"id":1,"t":"12x","d":{"A":1}}')), SyntaxError);
  assert.throws(() => decodePayload(1, Buffer.from('{"id":1,"t":"5","d":{"A":1},"c":{"id":}}')), SyntaxError);
  const odd = decodePayload(1, Buffer.from('{"id":1,"t":"5","d":{"A":"x,\\"c\\":{\\"id\\":1}"},"c":{"id":"i","runtime":"r","cgroup":"g"}}'));
  assert.deepEqual(odd.data, { A: 'x,"c":{"id":1}' });
  assert.deepEqual(odd.container, { id: 'i', runtime: 'r', cgroup: 'g' });
});

test('JSONL of events read back from the journal costs no JSON.parse (the catch-up path)', () => {
  const payloads = tricky.map((d) => Buffer.from(payloadText(ev({ ...d })), 'utf8'));
  const parse = JSON.parse;
  let calls = 0;
  JSON.parse = ((text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
    calls++;
    return parse(text, reviver);
  }) as typeof JSON.parse;
  let lines: string[];
  try {
    lines = payloads.map((p, i) => encodeJsonl(decodePayload(i + 1, p), WHO));
  } finally {
    JSON.parse = parse;
  }
  assert.equal(calls, 0);
  for (const [i, l] of lines.entries()) assert.equal(l, encodeJsonl(ev({ ...tricky[i]! }), WHO).replace('"EventRecordID":7,', `"EventRecordID":${i + 1},`));
});

test('writeEventRecord writes the bytes of writeRecord(payloadText(ev)) and attaches the event to its data and time digits', () => {
  const containers = [undefined, { id: 'abc"}', runtime: 'docker', cgroup: '/x,"c":{}ü' }];
  for (const d of [...tricky, { RuleName: '-', CommandLine: `x${'é"\n😀'.repeat(30_000)}` }]) {
    for (const c of containers) {
      // the time's digits are written without String(bigint): every split of seconds and fraction
      for (const timeNs of [1_700_000_000_123_456_789n, 1_700_000_000_000_000_009n, 5n, 0n, 999_999_999n, 1_000_000_000n, 2n ** 64n - 1n, 2n ** 64n, -5n]) {
        const want = Buffer.alloc(RECORD_HEADER + 3 * payloadText({ ...ev({ ...d }, c), timeNs }).length);
        const n0 = writeRecord(want, 0, 4_294_967_301, payloadText({ ...ev({ ...d }, c), timeNs }));
        const enc = encodeEvent({ ...ev({ ...d }, c), timeNs });
        const got = Buffer.alloc(eventRecordMaxBytes(enc) + 5);
        const n = writeEventRecord(got, 5, 4_294_967_301, enc);
        assert.equal(n, n0);
        assert.ok(got.subarray(5, 5 + n).equals(want.subarray(0, n0)));
        assert.equal(enc.bytes, got);
        assert.equal(got.toString('utf8', enc.dataOff, enc.dataEnd), JSON.stringify(d));
        assert.equal(got.toString('latin1', enc.timeOff, enc.timeEnd), String(timeNs));
        assert.equal(enc.dataText, JSON.stringify(d), 'the text decodes from the bytes');
      }
    }
  }
});
