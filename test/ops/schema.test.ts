// `sysmon-ts -s [VERSION|all]` through the real command line: the document `sysmon -s` of
// Sysmon for Linux prints (SysmonCommon printSchema.c over its embedded manifest.xml), and its
// events agree field for field with the schema sysmon-ts writes (src/events/schema.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { ROOT } from '../../src/paths.js';
import { eventDef } from '../../src/events/schema.js';

const cli = (args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });

interface Ev {
  name: string;
  value: string;
  rulename?: string;
  ruledefault?: string;
  version: string;
  target?: string;
  data: { name: string; inType: string }[];
}

/** the <manifest> elements of a -s output (banner and <manifests> header removed) */
function manifests(out: string): { version: string; binary: string; events: Ev[]; options: Record<string, string>[]; xml: string }[] {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (n) => ['manifest', 'event', 'data', 'option'].includes(n) });
  const found: ReturnType<typeof manifests> = [];
  for (const m of out.matchAll(/^ {2}<manifest [\s\S]*?^ {2}<\/manifest>$/gm)) {
    const doc = parser.parse(m[0]) as {
      manifest: { schemaversion: string; binaryversion: string; events: { event: Ev[] }; configuration: { options: { option: Record<string, string>[] } } }[];
    };
    const x = doc.manifest[0]!;
    found.push({ version: x.schemaversion, binary: x.binaryversion, events: x.events.event, options: x.configuration.options.option, xml: m[0] });
  }
  return found;
}

describe('sysmon-ts -s', () => {
  it('prints the banner, <manifests>, its comment and the 4.90 manifest, as Sysmon for Linux', () => {
    const r = cli(['-s']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '', 'banner: a blank line first');
    assert.match(lines[1]!, / - Monitors system events/);
    const at = lines.indexOf('<manifests>');
    assert.ok(at > 1 && at < 6, 'the banner, then <manifests>');
    assert.equal(lines[at + 1], '<!--');
    assert.ok(r.stdout.includes('\n  <manifest schemaversion="4.90" binaryversion="18">\n'));
    for (const c of ['<!-- Command-line only options -->', '<!-- Configuration file -->', '<!-- Linux-only events start at ID 100'])
      assert.ok(r.stdout.includes(c), c);
    const [m] = manifests(r.stdout);
    assert.equal(m!.version, '4.90');
    assert.deepEqual(
      m!.events.map((e) => Number(e.value)),
      [255, ...Array.from({ length: 26 }, (_, i) => i + 1), 100],
    );
    // ruledefault only where the manifest has it
    assert.deepEqual(
      m!.events.filter((e) => e.ruledefault).map((e) => Number(e.value)),
      [1, 5, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 100],
    );
    assert.equal(m!.events.find((e) => e.value === '100')!.target, 'linux');
    const install = m!.options.find((o) => o.name === 'Install')!;
    assert.deepEqual([install.target, install.exclusive], ['all', 'true']);
    assert.equal(m!.options.find((o) => o.name === 'PipeMonitoring')!.forceconfig, 'true');
    assert.ok(m!.options.some((o) => o.name === 'TraceEvents' && o.target === 'internal'));
    assert.equal((m!.xml.match(/\n\n/g) ?? []).length, 5, 'the five blank lines between field groups');
    // every event of the document is the event sysmon-ts writes: same fields, order, types, version
    for (const e of m!.events) {
      const ours = eventDef(Number(e.value));
      assert.equal(ours.version, Number(e.version), `event ${e.value} version`);
      assert.equal(ours.ruleName ?? undefined, e.rulename, `event ${e.value} rulename`);
      assert.deepEqual(
        e.data.map((d) => `${d.name}:${d.inType}`),
        ours.fields.map((f) => `${f.name}:win:${f.type}`),
        `event ${e.value} fields`,
      );
    }
  });

  it('-s VERSION: the first manifest whose version starts with it; well-formed XML', (t) => {
    for (const [ask, want] of [
      ['4.90', '4.90'],
      ['4.81', '4.81'],
      ['4.8', '4.81'],
      ['4.50', '4.50'],
      ['4.5', '4.50'],
      ['2.0', '2.0'],
      ['3', '3.4'],
    ]) {
      const r = cli(['-s', ask!]);
      assert.equal(r.status, 0, r.stderr);
      const ms = manifests(r.stdout);
      assert.equal(ms.length, 1, ask);
      assert.equal(ms[0]!.version, want, ask);
      assert.ok(!r.stdout.includes('<manifests>'), 'only -s without a version prints the <manifests> header');
    }
    const lint = spawnSync('xmllint', ['--version']);
    if (lint.error) {
      t.diagnostic('xmllint missing: well-formedness not checked');
      return;
    }
    const f = join(mkdtempSync(join(tmpdir(), 'sysmon-ts-schema-')), 's.xml');
    writeFileSync(f, manifests(cli(['-s', '4.50']).stdout)[0]!.xml);
    assert.equal(spawnSync('xmllint', ['--noout', f]).status, 0);
  });

  it('-s all: the -s document, then every manifest (4.90 twice, as printSchema.c loops); no match is an error', () => {
    const all = cli(['-s', 'all']);
    assert.equal(all.status, 0);
    const versions = manifests(all.stdout).map((m) => m.version);
    assert.equal(versions.length, 22);
    assert.deepEqual(versions.slice(0, 4), ['4.90', '4.90', '4.81', '4.80']);
    assert.equal(versions.at(-1), '2.0');
    const none = cli(['-s', '9.9']);
    assert.equal(none.status, 1);
    assert.equal(none.stderr, 'There is no schema that matches that version.\n');
    assert.equal(none.stdout, '');
  });

  it("-s 4.91 and -s --windows: Windows Sysmon 15's document (events 27-29, no Linux event 100)", () => {
    for (const args of [
      ['-s', '4.91'],
      ['-s', '--windows'],
    ]) {
      const r = cli(args);
      assert.equal(r.status, 0, r.stderr);
      // the shape of a real Windows Sysmon 15 `sysmon -s` (byte-identical to one, apart from CRLF, when this was written)
      assert.match(
        r.stdout,
        /^<manifest schemaversion="4.91" binaryversion="18">\n {2}<configuration>\n {4}<options>\n {6}<!-- Command-line only options -->\n {6}<option switch="i" name="Install" argument="optional" noconfig="true" exclusive="true" \/>\n/,
      );
      assert.ok(r.stdout.includes('      <!-- Configuration file -->\n      <option switch="a" name="ArchiveDirectory" argument="required" />\n'));
      assert.ok(r.stdout.includes('<option switch="g" name="PipeMonitoring" argument="required" rule="true" forceconfig="true" />'));
      const [m] = manifests(r.stdout.replace(/^<manifest/, '  <manifest').replace(/<\/manifest>\n$/, '  </manifest>'));
      assert.deepEqual(
        m!.events.map((e) => Number(e.value)),
        [255, ...Array.from({ length: 29 }, (_, i) => i + 1)],
      );
      assert.deepEqual(
        m!.events.filter((e) => e.ruledefault).map((e) => Number(e.value)),
        [1, 5, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22],
      );
      assert.ok(!r.stdout.includes('\n\n'), 'no blank lines in the Windows document');
    }
  });
});
