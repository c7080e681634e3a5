// The ring walker (src/kernel/ring-walker.ts, the one Linux uses) over a ring laid out
// exactly as the Windows driver lays out its section, filled by the driver's producer
// algorithm (ring-producer.ts): records split at the end of the data area, records still
// BUSY, DISCARDed ones, a full ring (drops counted), a consumer position the service
// wrote wrong; every record decoded with the existing decoders or the Windows ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RingWalker } from '../../src/kernel/ring-walker.js';
import { droppedOf, sectionViews, WindowsRing } from '../../src/kernel/windows/section.js';
import {
  decodeWindowsRecord,
  sidToString,
  type WinFileRecord,
  type WinImageRecord,
  type WinProcessRecord,
  type WinRegRecord,
  type WinStackRecord,
} from '../../src/families/windows/records.js';
import type { AccessRecord, InjectRecord, TamperRecord } from '../../src/families/security/records.js';
import type { WindowsExitRecord as ExitRecord } from '../../src/families/windows/records.js';
import { WindowsDriver } from '../../src/kernel/windows/driver.js';
import { SectionProducer } from './ring-producer.js';
import * as R from './records.js';

const SIZE = 65536; // the driver's smallest ring

function walkerOver(p: SectionProducer): { walker: RingWalker; views: ReturnType<typeof sectionViews> } {
  const views = sectionViews(p.section);
  return { walker: new RingWalker(views), views };
}

function drainAll(w: RingWalker): Buffer[] {
  const out: Buffer[] = [];
  w.drain((rec) => out.push(Buffer.from(rec)));
  return out;
}

describe("the ring walker over the Windows driver's section", () => {
  it('drains every kind of record the driver writes and decodes it', () => {
    const p = new SectionProducer(SIZE);
    const { walker } = walkerOver(p);
    const recs = [
      R.winProcess(1234, '\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe', 'cmd.exe /c "echo ü"'),
      R.winImage(1234, '\\Device\\HarddiskVolume3\\Windows\\System32\\ntdll.dll', false),
      R.winImage(0, '\\SystemRoot\\System32\\drivers\\evil.sys', true),
      R.winFile(210, '\\Device\\HarddiskVolume3\\Users\\u\\a.txt'),
      R.winFile(215, '\\Device\\HarddiskVolume3\\Users\\u\\a.txt:Zone.Identifier:$DATA', ':Zone.Identifier:$DATA'),
      // a rename carries FileRenameInformation's op (4): the decoder rejects any other op for 214
      R.winFile(214, '\\Device\\HarddiskVolume3\\a.tmp', '\\Device\\HarddiskVolume3\\a.exe', { op: 4 }),
      R.winReg(221, '\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run', 'evil', Buffer.from([1, 0, 0, 0])),
      R.exitRecord(1234, -1073741510),
      R.accessRecord(1234, 672, 0x1410),
      R.stackRecord(R.accessRecord(1234, 672, 0x1410), [0x7ffa00001234n, 0x7ffa00005678n]),
      R.injectRecord(1234, 672, 8800, 0x7ffa12340000n),
      R.tamperRecord(1234),
    ];
    for (const r of recs) assert.ok(p.output(r));
    const got = drainAll(walker);
    assert.equal(got.length, recs.length);
    for (const [i, g] of got.entries()) assert.deepEqual(g, recs[i], `record ${i}`);
    const d = got.map(decodeWindowsRecord);

    const proc = d[0] as WinProcessRecord;
    assert.equal(proc.type, 200);
    assert.equal(proc.image, '\\Device\\HarddiskVolume3\\Windows\\System32\\cmd.exe');
    assert.equal(proc.commandLine, 'cmd.exe /c "echo ü"');
    assert.equal(proc.userSid, 'S-1-5-21-1-2-3-1001');
    assert.equal(proc.ids.ppid, 4000);
    assert.equal(proc.ids.endCode, 0x0016000000000603n);
    assert.equal(proc.integrityRid, 0x2000);
    assert.equal((d[1] as WinImageRecord).systemModeImage, false);
    assert.equal((d[2] as WinImageRecord).systemModeImage, true);
    assert.equal((d[2] as WinImageRecord).signatureLevel, 12);
    assert.equal((d[4] as WinFileRecord).newPath, ':Zone.Identifier:$DATA');
    assert.equal((d[5] as WinFileRecord).newPath, '\\Device\\HarddiskVolume3\\a.exe');
    const reg = d[6] as WinRegRecord;
    assert.equal(reg.value, 'evil');
    assert.deepEqual([...reg.data], [1, 0, 0, 0]);
    // the shared records, through the existing decoders
    assert.equal((d[7] as ExitRecord).exitCode, -1073741510);
    assert.equal((d[8] as AccessRecord).granted, 0x1410);
    assert.equal((d[8] as AccessRecord).target.tgid, 672);
    const stack = d[9] as WinStackRecord;
    assert.equal(stack.forType, 40);
    assert.deepEqual(stack.frames, [0x7ffa00001234n, 0x7ffa00005678n]);
    assert.equal(stack.bootNs, (d[8] as AccessRecord).bootNs);
    assert.equal((d[10] as InjectRecord).startAddress, 0x7ffa12340000n);
    assert.equal((d[10] as InjectRecord).target.tid, 8800);
    assert.equal((d[11] as TamperRecord).exe, '/'); // empty path: the image is in record 200
    assert.equal(walker.pending(), 0);
  });

  it('joins records split at the end of the data area, lap after lap', () => {
    const p = new SectionProducer(SIZE);
    const { walker } = walkerOver(p);
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    const sent: Buffer[] = [];
    const got: Buffer[] = [];
    for (let i = 0; i < 20000; i++) {
      const rec =
        i % 3 === 0
          ? R.winFile(210, '\\Device\\HarddiskVolume3\\' + 'x'.repeat(rnd(900)) + `\\${i}`)
          : i % 3 === 1
            ? R.winReg(221, '\\REGISTRY\\USER\\' + 'k'.repeat(rnd(300)), `v${i}`, Buffer.alloc(rnd(1024), i & 0xff))
            : R.accessRecord(i, i + 1, i);
      if (!p.output(rec)) {
        walker.drain((r) => got.push(Buffer.from(r)));
        assert.ok(p.output(rec), 'room after a drain');
      }
      sent.push(rec);
      if (rnd(7) === 0) walker.drain((r) => got.push(Buffer.from(r)));
    }
    walker.drain((r) => got.push(Buffer.from(r)));
    assert.ok(p.wrapped > 20, `records split at the end: ${p.wrapped}`);
    assert.equal(got.length, sent.length);
    for (let i = 0; i < sent.length; i++) assert.ok(got[i]!.equals(sent[i]!), `record ${i}`);
    for (const g of got) decodeWindowsRecord(g);
  });

  it('a record whose header ends the data area has its body at the start', () => {
    const p = new SectionProducer(SIZE);
    const { walker } = walkerOver(p);
    // fill to 8 bytes before the end: one record of SIZE - 16 bytes (header 8 + body SIZE - 16)
    const pad = R.winFile(210, '\\' + 'p'.repeat((SIZE - 16 - 80 - 2) / 2));
    assert.equal(pad.length, SIZE - 16);
    assert.ok(p.output(pad));
    assert.equal(
      walker.drain(() => {}),
      1,
    );
    const rec = R.accessRecord(1, 2, 0x1fffff);
    assert.ok(p.output(rec)); // header at SIZE - 8, body at 0
    const got = drainAll(walker);
    assert.equal(got.length, 1);
    assert.ok(got[0]!.equals(rec));
    assert.equal((decodeWindowsRecord(got[0]!) as AccessRecord).granted, 0x1fffff);
  });

  it('stops at a BUSY record and goes on once it is committed; skips DISCARDed ones', () => {
    const p = new SectionProducer(SIZE);
    const { walker } = walkerOver(p);
    const a = R.exitRecord(1, 0),
      b = R.exitRecord(2, 0),
      c = R.exitRecord(3, 0),
      x = R.exitRecord(99, 0);
    assert.ok(p.output(a));
    const posB = p.reserve(b.length)!; // reserved, being written
    assert.ok(p.output(c)); // reserved later, committed first
    const posX = p.reserve(x.length)!;
    p.write(posX, x);
    p.commit(posX, x.length, true); // discarded
    const first = drainAll(walker);
    assert.deepEqual(
      first.map((r) => (decodeWindowsRecord(r) as ExitRecord).tgid),
      [1],
    );
    assert.ok(walker.pending() > 0);
    p.write(posB, b);
    p.commit(posB, b.length);
    const rest = drainAll(walker);
    assert.deepEqual(
      rest.map((r) => (decodeWindowsRecord(r) as ExitRecord).tgid),
      [2, 3],
    );
    assert.equal(walker.pending(), 0);
  });

  it('counts drops when the ring is full and when the consumer position makes no sense', () => {
    const p = new SectionProducer(SIZE);
    const { walker, views } = walkerOver(p);
    const rec = R.accessRecord(1, 2, 0x10);
    let n = 0;
    while (p.output(rec)) n++;
    assert.equal(n, Math.floor(SIZE / (rec.length + 8)));
    assert.equal(droppedOf(views), 1n);
    assert.equal(
      walker.drain(() => {}),
      n,
    );
    assert.ok(p.output(rec));
    p.setConsumer(1n << 40n); // ahead of the producer: treated as full
    assert.equal(p.output(rec), false);
    assert.equal(droppedOf(views), 2n);
    assert.equal(p.dropped, 2n);
  });

  it('refuses a section that is not a sysmon-ts ring', () => {
    assert.throws(() => sectionViews(new ArrayBuffer(65536 + 4096)), /magic/);
    const p = new SectionProducer(SIZE);
    new DataView(p.section, 4096 + 24).setBigUint64(0, 1n << 30n, true);
    assert.throws(() => sectionViews(p.section), /does not fit/);
  });

  it('SIDs and the platform gate', () => {
    assert.equal(sidToString(Buffer.from([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])), 'S-1-5-18');
    if (process.platform !== 'win32') {
      assert.throws(() => WindowsRing.open(), /Windows only/);
      assert.throws(() => new WindowsDriver(), /Windows only/);
    }
  });
});
