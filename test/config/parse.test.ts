// Config loading: every fixture loads, encodings, options, and errors that name file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, defaultConfig, loadConfigBytes, loadConfigFile, loadConfigText } from '../../src/config/index.js';
import { ev } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/configs/', import.meta.url));

test('every config in test/fixtures/configs loads', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.xml'));
  assert.ok(files.length >= 4);
  for (const f of files) {
    const c = loadConfigFile(join(FIXTURES, f));
    assert.match(c.sha256, /^[0-9A-F]{64}$/);
    assert.equal(c.source, join(FIXTURES, f));
    assert.ok(c.describe().includes('Rule configuration'));
  }
});

test('sysmon-modular fixture: options, notices and size', () => {
  const c = loadConfigFile(join(FIXTURES, 'sysmon-modular-sysmonconfig.xml'));
  assert.equal(c.schemaVersion, '4.90');
  assert.deepEqual(c.options.hashAlgorithms, ['*']);
  assert.equal(c.options.checkRevocation, false);
  assert.equal(c.options.dnsLookup, false);
  assert.equal(c.options.archiveDirectory, 'Sysmon');
  assert.equal(c.notices.length, 2);
  assert.ok(c.notices.some((n) => n.includes('CheckRevocation') && n.includes('not applicable on Linux')));
  const filters = c.parsed.blocks.reduce((n, b) => n + b.filters.length, 0);
  assert.ok(filters > 1900, `filters ${filters}`);
});

test('UTF-16 LE with BOM, UTF-16 BE with BOM and UTF-8 with BOM give the same config', () => {
  const le = loadConfigFile(join(FIXTURES, 'linux-small-utf16le.xml'));
  const text = readFileSync(join(FIXTURES, 'linux-small.xml'), 'utf8');
  const be = Buffer.from(text, 'utf16le');
  be.swap16();
  const beCfg = loadConfigBytes(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'be.xml');
  const u8 = loadConfigBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), 'u8.xml');
  for (const c of [le, beCfg, u8]) {
    assert.equal(c.parsed.blocks.length, 5);
    assert.equal(c.engine.evaluate(ev(1, { Image: '/usr/bin/bash' })).ruleName, 'technique_id=T1059.004,technique_name=Unix Shell');
    assert.deepEqual(
      [...c.options.fieldSizes],
      [
        ['CommandLine', 100],
        ['Image', 60],
      ],
    );
  }
});

test('all 4.91 option elements are accepted and typed', () => {
  const c = loadConfigText(
    `<Sysmon schemaversion="4.91">
  <HashAlgorithms>md5,SHA256,imphash</HashAlgorithms><CheckRevocation/><DnsLookup>false</DnsLookup>
  <ArchiveDirectory>Arch</ArchiveDirectory><FieldSizes>CommandLine:100,Image:20</FieldSizes><CaptureClipboard/>
  <DriverName>drv</DriverName><DriverQueueSize>1024</DriverQueueSize><SigningQueueSize>64</SigningQueueSize>
  <CopyOnDeletePE>true</CopyOnDeletePE><CopyOnDeleteSIDs>S-1-5-18;S-1-5-19</CopyOnDeleteSIDs>
  <CopyOnDeleteExtensions>.exe,.dll</CopyOnDeleteExtensions><CopyOnDeleteProcesses>a.exe</CopyOnDeleteProcesses>
  <EventFiltering/></Sysmon>`,
    'opts.xml',
  );
  const o = c.options;
  assert.deepEqual(o.hashAlgorithms, ['MD5', 'SHA256', 'IMPHASH']);
  assert.equal(o.checkRevocation, true);
  assert.equal(o.dnsLookup, false);
  assert.equal(o.driverQueueSize, 1024);
  assert.equal(o.signingQueueSize, 64);
  assert.equal(o.copyOnDeletePE, true);
  assert.deepEqual(o.copyOnDeleteSIDs, ['S-1-5-18', 'S-1-5-19']);
  assert.deepEqual(o.copyOnDeleteExtensions, ['.exe', '.dll']);
  assert.equal(o.fieldSizes.get('Image'), 20);
  // every Windows-only option noticed once, the Linux-meaningful ones not
  for (const n of [
    'CheckRevocation',
    'ArchiveDirectory',
    'CaptureClipboard',
    'DriverName',
    'DriverQueueSize',
    'SigningQueueSize',
    'CopyOnDeletePE',
    'CopyOnDeleteSIDs',
    'CopyOnDeleteExtensions',
    'CopyOnDeleteProcesses',
  ]) {
    assert.equal(c.notices.filter((x) => x.includes(`option ${n} `)).length, 1, n);
  }
  for (const n of ['HashAlgorithms', 'FieldSizes', 'DnsLookup']) assert.ok(!c.notices.some((x) => x.includes(`option ${n} `)), n);
});

test("HashAlgorithms: Sysmon's spellings (*, all, sha-256, md-5, sha-1, imp-hash), any case", () => {
  const opts = (t: string) => loadConfigText(`<Sysmon schemaversion="4.90"><HashAlgorithms>${t}</HashAlgorithms></Sysmon>`, 'h.xml').options.hashAlgorithms;
  assert.deepEqual(opts('all'), ['*']);
  assert.deepEqual(opts('ALL'), ['*']);
  assert.deepEqual(opts('*'), ['*']);
  assert.deepEqual(opts('sha-256,MD-5,sha-1,imp-hash'), ['SHA256', 'MD5', 'SHA1', 'IMPHASH']);
});

test('entities and CDATA in filter values; values are not trimmed', () => {
  const c = loadConfigText(
    '<Sysmon schemaversion="4.90"><EventFiltering><ProcessCreate onmatch="include">' +
      '<CommandLine condition="contains">a &amp; b</CommandLine><CommandLine condition="contains"><![CDATA[x<y]]></CommandLine>' +
      '<Image> spaced </Image></ProcessCreate></EventFiltering></Sysmon>',
    'e.xml',
  );
  const vals = c.parsed.blocks[0]!.filters.map((f) => f.value);
  assert.deepEqual(vals, ['a & b', 'x<y', ' spaced ']);
});

function errorOf(text: string): ConfigError {
  try {
    loadConfigText(text, 'bad.xml');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}

// What Sysmon for Linux loads (unknown tags, fields, conditions, onmatch values...) loads here
// with a warning: test/config/sfl-fidelity.test.ts. These are what neither can read.
const BAD: [string, string, number, RegExp][] = [
  ['malformed XML', '<Sysmon schemaversion="4.90">\n<EventFiltering>\n<ProcessCreate onmatch="include">\n</EventFiltering>\n</Sysmon>', 4, /malformed XML/],
  ['bad schemaversion', '<!-- c -->\n<Sysmon schemaversion="four">\n</Sysmon>', 2, /bad schemaversion "four"/],
  ['missing schemaversion', '<Sysmon>\n</Sysmon>', 1, /missing schemaversion/],
  ['bad hash algorithm', '<Sysmon schemaversion="4.90">\n<HashAlgorithms>md5,crc32</HashAlgorithms>\n</Sysmon>', 2, /unknown algorithm "CRC32"/],
  ['bad FieldSizes', '<Sysmon schemaversion="4.90">\n<FieldSizes>CommandLine:0</FieldSizes>\n</Sysmon>', 2, /greater than 0/],
  ['FieldSizes unknown field', '<Sysmon schemaversion="4.90">\n<FieldSizes>Nope:10</FieldSizes>\n</Sysmon>', 2, /unknown field "Nope"/],
  ['wrong root', '<Config schemaversion="4.90"/>', 1, /root element must be <Sysmon>/],
  [
    'fields of different sub-events',
    '<Sysmon schemaversion="4.90">\n<EventFiltering>\n<RegistryEvent onmatch="include">\n<Details>a</Details><NewName>b</NewName>\n</RegistryEvent></EventFiltering></Sysmon>',
    3,
    /do not all belong to one event/,
  ],
];

for (const [what, text, line, re] of BAD) {
  test(`refused with file and line: ${what}`, () => {
    const e = errorOf(text);
    assert.equal(e.file, 'bad.xml');
    assert.equal(e.line, line, e.message);
    assert.match(e.message, re);
    assert.ok(e.message.startsWith(`bad.xml:${line}: `), e.message);
  });
}

test('line numbers survive a BOM and CRLF line ends in a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  const p = join(dir, 'crlf.xml');
  const text =
    '<Sysmon schemaversion="4.90">\r\n<EventFiltering>\r\n<ProcessCreate onmatch="include">\r\n<Image condition="nope">a</Image>\r\n</ProcessCreate></EventFiltering></Sysmon>';
  writeFileSync(p, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  assert.deepEqual(
    loadConfigFile(p).warnings.map((w) => w.slice(0, w.indexOf(' warning: unknown condition'))),
    [`${p}:4:`],
  );
  assert.throws(() => loadConfigFile(join(dir, 'missing.xml')), ConfigError);
});

test('defaultConfig: Sysmon defaults, SHA1', () => {
  const d = defaultConfig();
  assert.deepEqual(d.options.hashAlgorithms, ['SHA1']);
  assert.equal(d.engine.evaluate(ev(1)).keep, true);
  assert.equal(d.engine.evaluate(ev(3)).keep, false);
});

test('legacy default attribute and duplicate definitions', () => {
  const c = loadConfigText(
    '<Sysmon schemaversion="3.30"><EventFiltering><NetworkConnect default="exclude"><Image>x</Image></NetworkConnect></EventFiltering></Sysmon>',
    'l.xml',
  );
  // default="exclude" == onmatch="include"
  assert.equal(c.parsed.blocks[0]!.onmatch, 'include');
  const both = loadConfigText(
    '<Sysmon schemaversion="4.90"><EventFiltering><NetworkConnect default="include" onmatch="include"/></EventFiltering></Sysmon>',
    'l.xml',
  );
  assert.equal(both.parsed.blocks[0]!.onmatch, 'include');
  assert.match(both.warnings[0]!, /both onmatch and default given; onmatch is used/);
});

test("event 16's ConfigurationFileHash: the configured HashAlgorithms over the file, as Sysmon for Linux; --windows SHA256 upper case", async () => {
  const { createHash } = await import('node:crypto');
  const text = '<Sysmon schemaversion="4.90"><HashAlgorithms>md5,sha256,imphash</HashAlgorithms></Sysmon>';
  const h = (alg: string) => createHash(alg).update(text).digest('hex');
  const c = loadConfigText(text, 'h.xml');
  assert.equal(c.configurationFileHash(), `MD5=${h('md5')},SHA256=${h('sha256')}`);
  assert.equal(c.configurationFileHash('windows'), `SHA256=${h('sha256').toUpperCase()}`);
  const none = '<Sysmon schemaversion="4.90"/>';
  assert.equal(loadConfigText(none, 'n.xml').configurationFileHash(), `SHA256=${createHash('sha256').update(none).digest('hex')}`);
  assert.equal(defaultConfig().configurationFileHash(), 'SHA256=', 'no file');
});
