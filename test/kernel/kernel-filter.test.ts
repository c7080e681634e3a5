// The in-kernel file filter on the real kernel: a config compiled to BPF maps
// (src/config/kernel-filter -> driver/linux/filter.bpf.h). Files this test creates, renames
// and deletes under its own temp directory either never reach the ring (the config surely
// drops their event) or arrive as before; near misses of every pattern kind must arrive, and
// every verdict must equal the TypeScript model of the same tables (decide()).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/index.js';
import { compileKernelFilter, decide, encodeTable, KF_HEAD, KF_MAX_CELLS, KF_TABLE_BYTES, type KernelFilter } from '../../src/config/kernel-filter/index.js';
import { decodeRecord } from '../../src/families/decode.js';
import { Driver } from '../../src/kernel/loader.js';
import type { KernelFilterMaps } from '../../src/kernel/kernel-filter-maps.js';
import { FileRecordType, type FileRecord } from '../../src/families/file/records.js';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';
import { rng } from '../config/gen.js';

const missing = missingKernelPrereq();
const JUDGED = 1 << 14;
const GEN_ODD = 1 << 15;

interface Seen {
  type: number;
  path: string;
  flags: number;
}

function configFor(dir: string): string {
  return `<Sysmon schemaversion="4.90"><EventFiltering>
  <RuleGroup groupRelation="or"><FileCreate onmatch="exclude">
    <TargetFilename condition="begin with">${dir}/drop/</TargetFilename>
    <TargetFilename condition="end with">.kfdrop</TargetFilename>
    <TargetFilename condition="is">${dir}/exact.txt</TargetFilename>
    <TargetFilename condition="contains">/kf-mid-</TargetFilename>
    <TargetFilename condition="image">kf-base.bin</TargetFilename>
  </FileCreate></RuleGroup>
  <RuleGroup groupRelation="or"><FileDelete onmatch="include">
    <TargetFilename condition="begin with">${dir}/keepdel/</TargetFilename>
  </FileDelete></RuleGroup>
</EventFiltering></Sysmon>`;
}

describe('in-kernel file filter', () => {
  let driver: Driver;
  let maps: KernelFilterMaps;
  let dir: string;
  let kf: KernelFilter;

  /** every file record of ours in the ring now */
  function drain(): Seen[] {
    const out: Seen[] = [];
    driver.ring.drain((raw) => {
      const r = decodeRecord(raw) as FileRecord;
      if (r.type !== FileRecordType.Create && r.type !== FileRecordType.Delete) return;
      if (!r.path.startsWith(dir)) return;
      out.push({ type: r.type, path: r.path, flags: r.flags });
    }, 1 << 20);
    return out;
  }

  before(() => {
    if (missing) return;
    const file = DRIVER_OBJECTS.find((o) => o.endsWith('file.bpf.o'))!;
    driver = new Driver({ objects: [DRIVER_OBJECTS[0]!, file], wanted: (p) => p.startsWith('file_create_') || p.startsWith('file_delete_') });
    maps = driver.kernelFilter()!;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-kf-')));
    for (const d of ['drop', 'DROP', 'dro', 'xdrop', 'keepdel', 'sub']) mkdirSync(join(dir, d));
    kf = compileKernelFilter(loadConfigText(configFor(dir)).parsed);
    maps.install(encodeTable(kf, 1));
    drain();
  });

  after(() => {
    if (driver) driver.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('drops exactly the creates the config surely drops, for every pattern kind, case-insensitively', (t) => {
    if (!requirePrereq(t, missing)) return;
    const dropped = ['drop/a.txt', 'DROP/b.txt', 'f.kfdrop', 'F.KFDROP', 'exact.txt', 'EXACT.TXT', 'kf-mid-1.txt'];
    // `image kf-base.bin` compares the part after the last '\' (the whole Linux path) unless
    // --image-basename: these are near misses here (see the next test for the extension)
    const kept = [
      'drop.txt',
      'dro/a.txt',
      'xdrop/a.txt',
      'f.kfdrop2',
      'fkfdrop',
      'exact.txt2',
      'xexact.txt',
      'kfmid-1.txt',
      'sub/kf-base.bin',
      'sub/xkf-base.bin',
      'kf-base.bin.x',
    ];
    const before = maps.read();
    for (const f of [...dropped, ...kept]) writeFileSync(join(dir, f), 'x');
    const seen = drain().filter((s) => s.type === FileRecordType.Create);
    const paths = new Set(seen.map((s) => s.path));
    for (const f of dropped) {
      assert.ok(!paths.has(join(dir, f)), `${f} reached user space`);
      assert.equal(decide(kf, FileRecordType.Create, join(dir, f)), true, `model disagrees on ${f}`);
    }
    for (const f of kept) {
      assert.ok(paths.has(join(dir, f)), `${f} (a near miss) was dropped in the kernel`);
      assert.equal(decide(kf, FileRecordType.Create, join(dir, f)), false, `model disagrees on ${f}`);
    }
    for (const s of seen) assert.equal(s.flags & (JUDGED | GEN_ODD), JUDGED | GEN_ODD, 'judged by generation 1');
    const after = maps.read();
    // the counters are machine-wide (this config drops every other delete on the machine too)
    assert.ok(after.dropped - before.dropped >= BigInt(dropped.length));
    // the counters are machine-wide: other processes' creates are judged too
    assert.ok(after.judged - before.judged >= BigInt(dropped.length + kept.length));
  });

  it('image with --image-basename: a path whose last component is the value is dropped, near misses are not', (t) => {
    if (!requirePrereq(t, missing)) return;
    const withBase = compileKernelFilter(loadConfigText(configFor(dir), '<config>', { provider: 'linux', imageBasename: true }).parsed);
    maps.install(encodeTable(withBase, 7));
    try {
      // new files (a create of an existing file is no FileCreate at all)
      mkdirSync(join(dir, 'base'));
      const dropped = ['base/kf-base.bin', 'base/KF-BASE.BIN'],
        kept = ['base/xkf-base.bin', 'base/kf-base.bin.x'];
      for (const f of [...dropped, ...kept]) writeFileSync(join(dir, f), 'x');
      const paths = new Set(
        drain()
          .filter((s) => s.type === FileRecordType.Create)
          .map((s) => s.path),
      );
      for (const f of dropped) {
        assert.ok(!paths.has(join(dir, f)), `${f} reached user space`);
        assert.equal(decide(withBase, FileRecordType.Create, join(dir, f)), true);
      }
      for (const f of kept) {
        assert.ok(paths.has(join(dir, f)), `${f} was dropped`);
        assert.equal(decide(withBase, FileRecordType.Create, join(dir, f)), false);
      }
    } finally {
      maps.install(encodeTable(kf, 9));
    }
  });

  it('names the process passed: plain relative names are judged, ones the join would rewrite pass up', (t) => {
    if (!requirePrereq(t, missing)) return;
    for (const f of ['r1', 'r2', 'r3', 'r4']) writeFileSync(join(dir, f), 'x');
    drain();
    const before = maps.read();
    // mv renames: the record carries the name as passed, relative to mv's cwd
    execFileSync('mv', ['r1', 'drop/r1.txt'], { cwd: dir });
    execFileSync('mv', ['r2', './drop/r2.txt'], { cwd: dir }); // "./" -> not judged, passes
    execFileSync('mv', ['r3', 'dro/r3.txt'], { cwd: dir });
    renameSync(join(dir, 'r4'), `${dir}/drop/../drop/r4.txt`); // "/../" -> passes (path.join would normalize it)
    const paths = new Set(
      drain()
        .filter((s) => s.type === FileRecordType.Create)
        .map((s) => s.path),
    );
    assert.ok(!paths.has(join(dir, 'drop/r1.txt')), 'relative rename target under drop/ reached user space');
    assert.ok(paths.has(join(dir, 'drop/r2.txt')), './drop/r2.txt must pass (not judged)');
    assert.ok(paths.has(join(dir, 'dro/r3.txt')), 'near miss dro/r3.txt was dropped');
    assert.ok(paths.has(join(dir, 'drop/r4.txt')), 'drop/../drop/r4.txt must pass (not judged)');
    const after = maps.read();
    assert.ok(after.dropped - before.dropped >= 1n);
    assert.ok(after.unjudged - before.unjudged >= 2n);
  });

  it('paths with bytes outside printable ASCII are never judged', (t) => {
    if (!requirePrereq(t, missing)) return;
    const before = maps.read();
    for (const f of ['drop/é.txt', 'drop/tab\there.txt']) writeFileSync(join(dir, f), 'x');
    const paths = new Set(drain().map((s) => s.path));
    assert.ok(paths.has(join(dir, 'drop/é.txt')));
    assert.ok(paths.has(join(dir, 'drop/tab\there.txt')));
    assert.ok(maps.read().unjudged - before.unjudged >= 2n);
  });

  it('deletes: a keep-only config drops every delete outside its include patterns', (t) => {
    if (!requirePrereq(t, missing)) return;
    for (const f of ['keepdel/k.txt', 'gone.txt', 'KEEPDEL/x']) {
      mkdirSync(join(dir, 'KEEPDEL'), { recursive: true });
      writeFileSync(join(dir, f), 'x');
    }
    drain();
    unlinkSync(join(dir, 'keepdel/k.txt'));
    unlinkSync(join(dir, 'gone.txt'));
    execFileSync('rm', ['KEEPDEL/x'], { cwd: dir });
    const dels = new Set(
      drain()
        .filter((s) => s.type === FileRecordType.Delete)
        .map((s) => s.path),
    );
    assert.deepEqual([...dels].sort(), [join(dir, 'KEEPDEL/x'), join(dir, 'keepdel/k.txt')].sort());
  });

  it('a storm of 5,000 creates under the excluded prefix: none reaches the ring', (t) => {
    if (!requirePrereq(t, missing)) return;
    const before = maps.read();
    for (let i = 0; i < 5000; i++) writeFileSync(join(dir, 'drop', `s${i}`), '');
    assert.equal(drain().filter((s) => s.type === FileRecordType.Create).length, 0);
    assert.ok(maps.read().dropped - before.dropped >= 5000n);
  });

  it('reload: the new tables apply at once, and records say which generation judged them', (t) => {
    if (!requirePrereq(t, missing)) return;
    const next = compileKernelFilter(
      loadConfigText(`<Sysmon schemaversion="4.90"><EventFiltering>
  <RuleGroup groupRelation="or"><FileCreate onmatch="exclude">
    <TargetFilename condition="begin with">${dir}/xdrop/</TargetFilename>
  </FileCreate></RuleGroup></EventFiltering></Sysmon>`).parsed,
    );
    maps.install(encodeTable(next, 2));
    writeFileSync(join(dir, 'drop', 'after-reload.txt'), 'x');
    writeFileSync(join(dir, 'xdrop', 'after-reload.txt'), 'x');
    const seen = drain().filter((s) => s.type === FileRecordType.Create);
    assert.deepEqual(
      seen.map((s) => s.path),
      [join(dir, 'drop', 'after-reload.txt')],
    );
    assert.equal(seen[0]!.flags & (JUDGED | GEN_ODD), JUDGED, 'judged by generation 2 (even)');
    maps.install(encodeTable(kf, 3));
    writeFileSync(join(dir, 'drop', 'back.txt'), 'x');
    writeFileSync(join(dir, 'xdrop', 'back.txt'), 'x');
    const again = drain().filter((s) => s.type === FileRecordType.Create);
    assert.deepEqual(
      again.map((s) => s.path),
      [join(dir, 'xdrop', 'back.txt')],
    );
    assert.equal(again[0]!.flags & GEN_ODD, GEN_ODD);
  });

  it('40 random configs x 40 random files: the kernel verdict equals the model verdict on every file', (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = rng(2026);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
    const TOK = ['a', 'B', '.x', 'ab', 'x.', 'b'];
    const CONDS = ['is', 'is any', 'begin with', 'end with', 'contains', 'contains any', 'contains all', 'image', 'is not', 'excludes', 'not begin with'];
    const word = () => {
      let w = '';
      for (let i = 0, n = 1 + Math.floor(r() * 3); i < n; i++) w += pick(TOK);
      return w;
    };
    const sub = ['r1', 'R1', 'r2'];
    for (const d of sub) mkdirSync(join(dir, d), { recursive: true });
    let dropped = 0,
      kept = 0;
    for (let c = 0; c < 40; c++) {
      const value = () => {
        switch (Math.floor(r() * 4)) {
          case 0:
            return `${dir}/${pick(sub)}/${word()}`;
          case 1:
            return `${dir}/${pick(sub)}/`;
          case 2:
            return `${word()};${dir}/${pick(sub)}/${word()}`;
          default:
            return word();
        }
      };
      let body = '';
      for (let b = 0, nb = 1 + Math.floor(r() * 3); b < nb; b++) {
        let filters = '';
        for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) {
          const f = r() < 0.8 ? 'TargetFilename' : 'Image';
          filters +=
            r() < 0.2
              ? `<Rule groupRelation="${pick(['and', 'or'])}"><${f} condition="${pick(CONDS)}">${value()}</${f}><TargetFilename condition="${pick(CONDS)}">${value()}</TargetFilename></Rule>`
              : `<${f} condition="${pick(CONDS)}">${value()}</${f}>`;
        }
        body += `<RuleGroup groupRelation="${pick(['and', 'or'])}"><FileCreate onmatch="${pick(['include', 'exclude'])}">${filters}</FileCreate></RuleGroup>`;
      }
      const xml = `<Sysmon schemaversion="4.90"><EventFiltering>${body}</EventFiltering></Sysmon>`;
      const model = compileKernelFilter(loadConfigText(xml).parsed);
      maps.install(encodeTable(model, 10 + c));
      const files = new Set<string>();
      for (let i = 0; i < 40; i++) files.add(join(dir, pick(sub), `${word()}${i % 3 === 0 ? '' : word()}-${c}-${i}`));
      drain();
      for (const f of files) writeFileSync(f, '');
      const seen = new Set(
        drain()
          .filter((s) => s.type === FileRecordType.Create)
          .map((s) => s.path),
      );
      for (const f of files) {
        const want = decide(model, FileRecordType.Create, f);
        assert.equal(!seen.has(f), want, `config ${xml}\nfile ${f}: kernel ${seen.has(f) ? 'passed' : 'dropped'}, model ${want ? 'drops' : 'passes'}`);
        if (want) dropped++;
        else kept++;
      }
      for (const f of files) unlinkSync(f);
    }
    maps.install(encodeTable(kf, 1001));
    // both verdicts must occur often, or the comparison says little
    assert.ok(dropped > 100 && kept > 100, `dropped ${dropped}, kept ${kept}`);
  });

  it('the table layout the compiler writes is struct kf_table as compiled into file.bpf.o', (t) => {
    if (!requirePrereq(t, missing)) return;
    interface BtfType {
      id: number;
      kind: string;
      name: string;
      size?: number;
      type_id?: number;
      nr_elems?: number;
      members?: { name: string; type_id: number; bits_offset: number }[];
    }
    const file = DRIVER_OBJECTS.find((o) => o.endsWith('file.bpf.o'))!;
    const types = (
      JSON.parse(execFileSync('bpftool', ['btf', 'dump', 'file', file, 'format', 'raw', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as {
        types: BtfType[];
      }
    ).types;
    const struct = (name: string) => types.find((x) => x.kind === 'STRUCT' && x.name === name)!;
    const head = struct('kf_head');
    assert.equal(head.size, KF_HEAD.size);
    for (const m of head.members!) assert.equal(m.bits_offset / 8, KF_HEAD[m.name as keyof typeof KF_HEAD], `offsetof(kf_head, ${m.name})`);
    assert.deepEqual(
      head.members!.map((m) => m.name).sort(),
      Object.keys(KF_HEAD)
        .filter((k) => k !== 'size')
        .sort(),
    );
    const table = struct('kf_table');
    assert.equal(table.size, KF_TABLE_BYTES);
    const cells = table.members!.find((m) => m.name === 'cells')!;
    assert.equal(cells.bits_offset / 8, KF_HEAD.size);
    const arr = types.find((x) => x.id === cells.type_id)!;
    assert.equal(arr.kind, 'ARRAY');
    assert.equal((arr as { nr_elems?: number }).nr_elems, KF_MAX_CELLS);
  });
});
