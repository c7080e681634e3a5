// The record decoder on records built byte by byte as the driver lays them out: good ones
// decode exactly, malformed ones are rejected (and become event 255), never a crash.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Capture } from '../../src/capture.js';
import { DecodeError, decodeRecord, joinPath } from '../../src/families/decode.js';
import { COMMON_LAYOUT } from '../../src/kernel/records/common.js';
import { PROCESS_LAYOUT, PROCESS_SIZES, ProcessRecordType } from '../../src/families/process/records.js';

const LAYOUT = { ...COMMON_LAYOUT, ...PROCESS_LAYOUT };
import { GuidMaker } from '../../src/events/guid.js';
import { decodeBytes } from '../../src/kernel/text.js';
import { UserNames } from '../../src/events/host.js';
import { ProcessTable } from '../../src/events/processes.js';
import type { SysmonEvent } from '../../src/events/event.js';

function execRecord(exe: Buffer, cwd: Buffer, args: Buffer, comm = Buffer.from('x')): Buffer {
  const fixed = PROCESS_SIZES.exec_record;
  const b = Buffer.alloc(fixed + exe.length + cwd.length + comm.length + args.length);
  const H = LAYOUT.record_header;
  b.writeUInt16LE(ProcessRecordType.Exec, H.type[0]);
  b.writeUInt32LE(b.length, H.size[0]);
  b.writeBigUInt64LE(123_000_000_000n, H.boot_ns[0]);
  b.writeUInt32LE(4242, H.tgid[0]);
  b.writeUInt32LE(4242, H.tid[0]);
  const ids = LAYOUT.exec_record.ids[0];
  b.writeUInt32LE(7, ids + LAYOUT.process_ids.ppid[0]);
  b.writeBigUInt64LE(100_000_000_000n, ids + LAYOUT.process_ids.start_boot_ns[0]);
  let at = fixed;
  for (const [ref, data] of [[LAYOUT.exec_record.exe[0], exe], [LAYOUT.exec_record.cwd[0], cwd], [LAYOUT.exec_record.comm[0], comm], [LAYOUT.exec_record.args[0], args]] as const) {
    b.writeUInt32LE(at, ref);
    b.writeUInt32LE(data.length, ref + 4);
    data.copy(b, at);
    at += data.length;
  }
  return b;
}

it('decodes an exec record: paths leaf first, argv NUL separated, invalid UTF-8 kept', () => {
  const rec = decodeRecord(execRecord(Buffer.from('env\0bin\0usr\0'), Buffer.from(''), Buffer.from('a\0b c\0\xff\0', 'latin1')));
  assert.equal(rec.type, ProcessRecordType.Exec);
  if (rec.type !== ProcessRecordType.Exec) return;
  assert.equal(rec.exe, '/usr/bin/env');
  assert.equal(rec.cwd, '/');
  assert.deepEqual(rec.argv, ['a', 'b c', '\udcff']);
  assert.equal(rec.tgid, 4242);
  assert.equal(rec.ids.ppid, 7);
  assert.equal(joinPath(Buffer.from('c\0b\0a\0')), '/a/b/c');
});

it('rejects truncated, oversized and out-of-range records with DecodeError', () => {
  const good = execRecord(Buffer.from('sh\0'), Buffer.from('tmp\0'), Buffer.from('sh\0'));
  assert.throws(() => decodeRecord(good.subarray(0, 10)), DecodeError);
  assert.throws(() => decodeRecord(good.subarray(0, good.length - 1)), DecodeError, 'size field disagrees');
  const bad = Buffer.from(good);
  bad.writeUInt32LE(1 << 30, LAYOUT.exec_record.args[0] + 4);
  assert.throws(() => decodeRecord(bad), /outside/);
  const unknown = Buffer.from(good);
  unknown.writeUInt16LE(999, 0);
  assert.throws(() => decodeRecord(unknown), /unknown record type 999/);
});

it('turns a malformed record into event 255 and counts it, then goes on', () => {
  const table = new ProcessTable(new GuidMaker(0x1234, 1_700_000_000), new UserNames());
  const capture = new Capture(table, 0n);
  const out: SysmonEvent[] = [];
  capture.onRecord(Buffer.alloc(5), out);
  capture.onRecord(execRecord(Buffer.from('true\0bin\0'), Buffer.from('tmp\0'), Buffer.from('true\0')), out);
  assert.equal(capture.counters.rejected, 1);
  assert.equal(out[0]!.id, 255);
  assert.equal(out[0]!.data.ID, 'DecodeError');
  assert.equal(out[1]!.id, 1);
  assert.equal(out[1]!.data.Image, '/bin/true');
  assert.equal(out[1]!.data.CurrentDirectory, '/tmp');
  capture.checkDrops(5n, out);
  capture.checkDrops(5n, out);
  assert.equal(out.filter((e) => e.data.ID === 'RingDrops').length, 1, 'drops reported once per increase');
});

it('joinPath gives what split / reverse / join gives, on edge cases and 20,000 random component lists', () => {
  const reference = (c: Buffer): string => {
    if (c.length === 0) return '/';
    const parts = decodeBytes(c).split('\0');
    if (parts[parts.length - 1] === '') parts.pop();
    return '/' + parts.reverse().join('/');
  };
  const cases = ['', '\0', 'x', 'a\0\0b\0', '\0a\0', 'a\0\0', 'caf\xc3\xa9\0dir\0', 'bad\xff\0x\0', 'no-trailing\0nul'].map((s) => Buffer.from(s, 'latin1'));
  let seed = 1;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  const alphabet = [0, 0x2f, 0x61, 0x62, 0x2e, 0xc3, 0xa9, 0xff, 0x80];
  for (let i = 0; i < 20_000; i++) cases.push(Buffer.from(Array.from({ length: rand(24) }, () => alphabet[rand(alphabet.length)]!)));
  for (const c of cases) assert.equal(joinPath(c), reference(c), JSON.stringify(c.toString('latin1')));
});
