// The record decoder on records built byte by byte as the driver lays them out: good ones
// decode exactly, malformed ones are rejected (and become event 255), never a crash.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Capture } from '../../src/capture.js';
import { DecodeError, decodeRecord, joinPath, splitArgs } from '../../src/families/decode.js';
import { commandLineOfArgs } from '../../src/kernel/records/common.js';
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
  for (const [ref, data] of [
    [LAYOUT.exec_record.exe[0], exe],
    [LAYOUT.exec_record.cwd[0], cwd],
    [LAYOUT.exec_record.comm[0], comm],
    [LAYOUT.exec_record.args[0], args],
  ] as const) {
    b.writeUInt32LE(at, ref);
    b.writeUInt32LE(data.length, ref + 4);
    data.copy(b, at);
    at += data.length;
  }
  return b;
}

it('decodes an exec record: paths leaf first, argv NUL separated and joined by spaces, invalid UTF-8 kept', () => {
  const rec = decodeRecord(execRecord(Buffer.from('env\0bin\0usr\0'), Buffer.from(''), Buffer.from('a\0b c\0\xff\0', 'latin1')));
  assert.equal(rec.type, ProcessRecordType.Exec);
  if (rec.type !== ProcessRecordType.Exec) return;
  assert.equal(rec.exe, '/usr/bin/env');
  assert.equal(rec.cwd, '/');
  assert.equal(rec.commandLine, 'a b c \udcff');
  assert.equal(rec.tgid, 4242);
  assert.equal(rec.ids.ppid, 7);
  assert.equal(joinPath(Buffer.from('c\0b\0a\0')), '/a/b/c');
});

it('the command line in one pass is argv split at NULs and joined by single spaces, on any bytes', () => {
  const slow = (b: Buffer) => splitArgs(b).join(' ');
  const cases = ['', '\0', '\0\0', 'a', 'a\0', 'a\0\0', '\0a', 'a\0b c\0', 'x\0\0y\0'].map((t) => Buffer.from(t, 'latin1'));
  cases.push(Buffer.from([0xe2, 0x82, 0]), Buffer.from([0xe2, 0x82, 0xac, 0, 0xff]), Buffer.from([0xf0, 0x9f, 0x98, 0x80, 0, 0xc3]));
  const alphabet = [0, 0, 0x20, 0x61, 0x2f, 0x7f, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xff];
  for (let i = 0; i < 20000; i++) {
    const b = Buffer.alloc(Math.floor(Math.random() * 12));
    for (let k = 0; k < b.length; k++) b[k] = alphabet[Math.floor(Math.random() * alphabet.length)]!;
    cases.push(b);
  }
  for (const b of cases) assert.equal(commandLineOfArgs(b), slow(b), `bytes ${b.toString('hex')}`);
});

it('exec records with random string bytes: exe, cwd and CommandLine as the slow split/reverse/join gives them', () => {
  const slowPath = (b: Buffer) => {
    if (b.length === 0) return '/';
    const parts = decodeBytes(b).split('\0');
    if (parts[parts.length - 1] === '') parts.pop();
    return `/${parts.reverse().join('/')}`;
  };
  const alphabet = [0, 0x2e, 0x61, 0x2f, 0x7f, 0x80, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff];
  const rand = () => {
    const b = Buffer.alloc(1 + Math.floor(Math.random() * 10));
    for (let k = 0; k < b.length; k++) b[k] = alphabet[Math.floor(Math.random() * alphabet.length)]!;
    return b;
  };
  for (let i = 0; i < 5000; i++) {
    const [exe, cwd, args] = [rand(), i % 7 === 0 ? Buffer.alloc(0) : rand(), rand()];
    const rec = decodeRecord(execRecord(exe, cwd, args));
    if (rec.type !== ProcessRecordType.Exec) throw new Error('not an exec record');
    assert.equal(rec.exe, slowPath(exe), `exe ${exe.toString('hex')}`);
    assert.equal(rec.cwd, slowPath(cwd), `cwd ${cwd.toString('hex')}`);
    assert.equal(rec.commandLine, splitArgs(args).join(' '), `args ${args.toString('hex')}`);
  }
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
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const alphabet = [0, 0x2f, 0x61, 0x62, 0x2e, 0xc3, 0xa9, 0xff, 0x80];
  for (let i = 0; i < 20_000; i++) cases.push(Buffer.from(Array.from({ length: rand(24) }, () => alphabet[rand(alphabet.length)]!)));
  for (const c of cases) assert.equal(joinPath(c), reference(c), JSON.stringify(c.toString('latin1')));
});
