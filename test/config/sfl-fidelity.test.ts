// Config semantics exactly as Sysmon for Linux has them (issue 15, items 6-8): every row of
// docs/configuration.md and docs/outputs.md (the measured differences from Sysmon for Linux) (D1-D6, L1-L17), each with the decision
// Microsoft's own rule engine (SysmonCommon rules.c/xml.cpp + SFL linuxWideChar.c) gives.
// Each case also runs through the linear oracle (test/config/oracle.ts), so the compiled engine
// and the plain re-statement of rules.c must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfigText, type Config, type MatchOptions } from '../../src/config/index.js';
import { LinearEngine } from './oracle.js';
import { cfg, ev } from './helpers.js';

const WINDOWS: MatchOptions = { provider: 'windows', imageBasename: false };
const BASENAME: MatchOptions = { provider: 'linux', imageBasename: true };

function decide(c: Config, data: Record<string, string>, id = 1): string {
  const e = ev(id, data);
  const d = c.engine.evaluate(e);
  const o = new LinearEngine(c.parsed).evaluate(e);
  assert.deepEqual(o, { keep: d.keep, ruleName: d.ruleName }, 'oracle agrees');
  return d.keep ? `keep:${d.ruleName}` : 'drop';
}

function doc(body: string, version = '4.90', head = ''): string {
  return `<Sysmon schemaversion="${version}">${head}\n<EventFiltering>\n${body}\n</EventFiltering>\n</Sysmon>`;
}

// ---- D1: the image condition ----
test('D1: image compares the part after the last \\ only: bash does not match /usr/bin/bash', () => {
  const body = '<RuleGroup groupRelation="or"><ProcessCreate onmatch="include"><Image condition="image" name="hit">bash</Image></ProcessCreate></RuleGroup>';
  const c = cfg(body);
  assert.equal(decide(c, { Image: '/usr/bin/bash' }), 'drop');
  assert.equal(decide(c, { Image: '/usr/bin/BASH' }), 'drop');
  const w = cfg(
    '<RuleGroup groupRelation="or"><ProcessCreate onmatch="include"><Image condition="image" name="hit">cmd.exe</Image></ProcessCreate></RuleGroup>',
  );
  assert.equal(decide(w, { Image: '/mnt/c/cmd.exe' }), 'drop');
  assert.equal(decide(w, { Image: 'C:\\Windows\\cmd.exe' }), 'keep:hit');
  // --image-basename: the documented extension
  const b = cfg(body, '4.90', '', BASENAME);
  assert.equal(decide(b, { Image: '/usr/bin/bash' }), 'keep:hit');
  assert.equal(decide(b, { Image: '/usr/bin/bash5' }), 'drop');
});

test('D1: SwiftOnSecurity-shaped NetworkConnect: Winword.exe does not swallow the event, Tor names it', () => {
  const c = cfg(
    '<RuleGroup groupRelation="or"><NetworkConnect onmatch="include"><Image condition="image">Winword.exe</Image>' +
      '<DestinationPort name="Tor">9001</DestinationPort></NetworkConnect></RuleGroup>',
  );
  assert.equal(decide(c, { Image: '/usr/bin/Winword.exe', DestinationPort: '9001' }, 3), 'keep:Tor');
});

// ---- D2, D3 and item 7: comparisons per provider ----
test('D2: less than / more than order _ [ after letters under Linux (upper-cased), before under --windows', () => {
  const lt = (v: string, m: MatchOptions | undefined) =>
    decide(cfg(`<ProcessCreate onmatch="include"><User condition="less than" name="hit">${v}</User></ProcessCreate>`, '4.90', '', m), { User: cur });
  let cur = '_svc';
  assert.equal(lt('m', undefined), 'drop');
  assert.equal(lt('m', WINDOWS), 'keep:hit');
  cur = '[x';
  assert.equal(lt('m', undefined), 'drop');
  for (cur of ['a', 'A', 'z']) {
    assert.equal(lt('_', undefined), 'keep:hit', cur);
    assert.equal(lt('_', WINDOWS), 'drop', cur);
  }
  const mt = cfg('<ProcessCreate onmatch="include"><User condition="more than" name="hit">m</User></ProcessCreate>');
  assert.equal(decide(mt, { User: '_svc' }), 'keep:hit');
  assert.equal(
    decide(cfg('<ProcessCreate onmatch="include"><User condition="more than" name="hit">m</User></ProcessCreate>', '4.90', '', WINDOWS), { User: '_svc' }),
    'drop',
  );
});

test('D3: case folding is ASCII-only under Linux, Unicode under --windows', () => {
  const cases: [string, string, string][] = [
    ['contains', 'ÄRGER', 'echo ärger'],
    ['is', 'CAFÉ', 'café'],
    ['contains', 'Σ', 'σ'],
  ];
  for (const [cond, rule, value] of cases) {
    const body = `<ProcessCreate onmatch="include"><CommandLine condition="${cond}" name="hit">${rule}</CommandLine></ProcessCreate>`;
    assert.equal(decide(cfg(body), { CommandLine: value }), 'drop', `${cond} ${rule}`);
    assert.equal(decide(cfg(body, '4.90', '', WINDOWS), { CommandLine: value }), 'keep:hit', `${cond} ${rule} windows`);
    // ASCII still folds, and the same non-ASCII letter in the same case still matches
    assert.equal(decide(cfg(body), { CommandLine: value.toUpperCase() }), 'keep:hit');
  }
  assert.equal(
    decide(cfg('<ProcessCreate onmatch="include"><CommandLine condition="contains" name="hit">ÄRGER</CommandLine></ProcessCreate>'), {
      CommandLine: 'echo Ärger',
    }),
    'keep:hit',
  );
});

// ---- D4-D6: names and values ----
test('D4: name="" falls back to the <Rule> and <RuleGroup> name', () => {
  const c = cfg(
    '<RuleGroup name="G" groupRelation="or"><ProcessCreate onmatch="include"><Image condition="end with" name="">/ls</Image></ProcessCreate></RuleGroup>',
  );
  assert.equal(decide(c, { Image: '/bin/ls' }), 'keep:G');
  const r = cfg(
    '<RuleGroup name="G" groupRelation="or"><ProcessCreate onmatch="include"><Rule name="" groupRelation="and"><Image condition="end with">/ls</Image></Rule></ProcessCreate></RuleGroup>',
  );
  assert.equal(decide(r, { Image: '/bin/ls' }), 'keep:G');
  const rn = cfg(
    '<RuleGroup name="G" groupRelation="or"><ProcessCreate onmatch="include"><Rule name="R" groupRelation="and"><Image condition="end with" name="">/ls</Image></Rule></ProcessCreate></RuleGroup>',
  );
  assert.equal(decide(rn, { Image: '/bin/ls' }), 'keep:R');
});

test('D5: a whitespace-only value reads as the empty value', () => {
  const c = cfg('<ProcessCreate onmatch="include"><User condition="is" name="w"> </User></ProcessCreate>');
  assert.equal(decide(c, { User: ' ' }), 'drop');
  assert.equal(decide(c, { User: '' }), 'keep:w');
});

test('D6: a comment inside a value ends it (the first text child only)', () => {
  const c = cfg('<ProcessCreate onmatch="include"><CommandLine condition="contains" name="c">ab<!-- note -->cd</CommandLine></ProcessCreate>');
  assert.equal(c.parsed.blocks[0]!.filters[0]!.value, 'ab');
  assert.equal(decide(c, { CommandLine: 'xab x' }), 'keep:c');
});

// ---- L1-L17: what Sysmon for Linux loads, with a FILE:LINE warning each ----
function load(text: string): Config {
  return loadConfigText(text, 'sfl.xml');
}

function warned(c: Config, line: number, re: RegExp): void {
  assert.ok(
    c.warnings.some((w) => w.startsWith(`sfl.xml:${line}: warning: `) && re.test(w)),
    `no warning at line ${line} matching ${re}: ${JSON.stringify(c.warnings)}`,
  );
}

const LS = '<Image condition="end with">/ls</Image>';

test('L1: onmatch="Include" acts as include', () => {
  const c = load(doc(`<RuleGroup groupRelation="or">\n<ProcessCreate onmatch="Include">${LS}</ProcessCreate></RuleGroup>`));
  assert.equal(decide(c, { Image: '/bin/ls' }), 'keep:-');
  assert.equal(decide(c, { Image: '/bin/x' }), 'drop');
  warned(c, 4, /onmatch "Include" read as "include"/);
});

test('L2: onmatch="yes" acts as the event default (ProcessCreate: exclude)', () => {
  const c = load(doc(`<ProcessCreate onmatch="yes">${LS}</ProcessCreate>`));
  assert.equal(decide(c, { Image: '/bin/ls' }), 'drop');
  assert.equal(decide(c, { Image: '/bin/x' }), 'keep:-');
  warned(c, 3, /unknown onmatch "yes"/);
});

test('L3: a block without onmatch is skipped, the rest loads', () => {
  const c = load(doc(`<ProcessCreate>${LS}</ProcessCreate>\n<NetworkConnect onmatch="include"><DestinationPort>22</DestinationPort></NetworkConnect>`));
  assert.equal(c.parsed.blocks.length, 1);
  assert.equal(decide(c, { Image: '/bin/ls' }), 'keep:-', 'no ProcessCreate rules: the event default');
  assert.equal(decide(c, { DestinationPort: '22' }, 3), 'keep:-');
  warned(c, 3, /no onmatch attribute/);
});

test('L4/L5: groupRelation is read case-insensitively; anything but "or" is AND', () => {
  const or = load(doc(`<RuleGroup groupRelation="OR"><ProcessCreate onmatch="include">${LS}<User>root</User></ProcessCreate></RuleGroup>`));
  assert.equal(decide(or, { Image: '/bin/ls', User: 'x' }), 'keep:-');
  const any = load(doc(`<RuleGroup groupRelation="any"><ProcessCreate onmatch="include">${LS}<User>root</User></ProcessCreate></RuleGroup>`));
  assert.equal(decide(any, { Image: '/bin/ls', User: 'x' }), 'drop');
  assert.equal(decide(any, { Image: '/bin/ls', User: 'root' }), 'keep:-');
  warned(any, 3, /groupRelation "any".*"and"/);
});

test('L6/L7: <rule> and <rulegroup> in any case', () => {
  const c = load(
    doc(
      `<rulegroup groupRelation="or"><ProcessCreate onmatch="include"><rule name="r" groupRelation="and">${LS}<User>root</User></rule><CommandLine>z</CommandLine></ProcessCreate></rulegroup>`,
    ),
  );
  assert.equal(decide(c, { Image: '/bin/ls', User: 'root' }), 'keep:r');
  assert.equal(decide(c, { Image: '/bin/ls', User: 'x' }), 'drop');
  assert.equal(decide(c, { CommandLine: 'z' }), 'keep:-', 'OR from <rulegroup>');
});

test('L8: condition="" is `is`', () => {
  const c = load(doc('<ProcessCreate onmatch="include"><Image condition="" name="n">/bin/ls</Image></ProcessCreate>'));
  assert.equal(decide(c, { Image: '/bin/ls' }), 'keep:n');
  assert.equal(c.warnings.length, 0);
});

test('L9: an unknown condition skips that filter (and the rest of its Rule), keeps the others', () => {
  const c = load(
    doc(
      '<RuleGroup groupRelation="or"><ProcessCreate onmatch="include">\n<Image condition="starts with" name="bad">/bin</Image>\n<Image condition="end with" name="good">/ls</Image>\n' +
        '<Rule groupRelation="and"><User name="u">root</User>\n<CommandLine condition="nope">x</CommandLine>\n<Image name="after">/bin/id</Image></Rule></ProcessCreate></RuleGroup>',
    ),
  );
  assert.equal(decide(c, { Image: '/bin/ls' }), 'keep:good');
  assert.equal(decide(c, { Image: '/bin/bash' }), 'drop');
  assert.equal(decide(c, { User: 'root', Image: '/bin/cat' }), 'keep:u', 'the Rule keeps only what came before the bad filter');
  warned(c, 4, /unknown condition "starts with"/);
  warned(c, 7, /unknown condition "nope".*rest of its <Rule>/);
  warned(c, 8, /skipped/);
});

test('L10/L11: an unknown field drops its block and every later block of that event; other events keep theirs', () => {
  const c = load(
    doc(
      `<ProcessCreate onmatch="include"><Image>/bin/a</Image></ProcessCreate>\n<ProcessCreate onmatch="include"><Imag>x</Imag></ProcessCreate>\n` +
        `<ProcessCreate onmatch="include"><Image>/bin/b</Image></ProcessCreate>\n<NetworkConnect onmatch="include"><DestinationPort>22</DestinationPort></NetworkConnect>`,
    ),
  );
  assert.deepEqual(
    c.parsed.blocks.map((b) => b.tag),
    ['ProcessCreate', 'NetworkConnect'],
  );
  assert.equal(decide(c, { Image: '/bin/a' }), 'keep:-');
  assert.equal(decide(c, { Image: '/bin/b' }), 'drop');
  assert.equal(decide(c, { DestinationPort: '22' }, 3), 'keep:-');
  warned(c, 4, /unknown field Imag/);
  warned(c, 5, /skipped/);
  const lower = load(doc('<ProcessCreate onmatch="include"><image>/bin/a</image></ProcessCreate>'));
  assert.equal(decide(lower, { Image: '/bin/zzz' }), 'keep:-', 'no ProcessCreate block left: everything is logged');
  warned(lower, 3, /unknown field image/);
});

test('L12-L16: unknown elements and attributes are ignored, schema 5.0 loads, wrapped events are found', () => {
  const c = load(
    `<Sysmon schemaversion="5.0" extra="1">\n<HashAlgorithms>md5</HashAlgorithms>\n<Foo>1</Foo>\n<DnsLookup>false</DnsLookup>\n<EventFiltering>\n<Foo/>\n` +
      `<Wrapper><ProcessCreate onmatch="include" note="x">${LS}</ProcessCreate></Wrapper>\n</EventFiltering>\n</Sysmon>`,
  );
  assert.equal(decide(c, { Image: '/bin/ls' }), 'keep:-');
  assert.equal(decide(c, { Image: '/bin/x' }), 'drop');
  assert.deepEqual(c.options.hashAlgorithms, ['MD5']);
  assert.equal(c.options.dnsLookup, null, 'options after an unknown element are not read (FindConfigurationOption -> break)');
  warned(c, 1, /schemaversion 5.0 is newer/);
  warned(c, 1, /unknown attribute extra/);
  warned(c, 3, /unknown element <Foo> under <Sysmon>/);
  warned(c, 4, /option <DnsLookup> not read/);
  warned(c, 6, /unknown element <Foo> under <EventFiltering>/);
  warned(c, 7, /unknown attribute note/);
});

test('L17: a rule name over 255 characters drops that filter only', () => {
  const c = load(
    doc(`<RuleGroup groupRelation="or"><ProcessCreate onmatch="include">\n<Image name="${'x'.repeat(300)}">/bin/a</Image>\n${LS}</ProcessCreate></RuleGroup>`),
  );
  assert.equal(decide(c, { Image: '/bin/a' }), 'drop');
  assert.equal(decide(c, { Image: '/bin/ls' }), 'keep:-');
  warned(c, 4, /larger than 255/);
});

test('the real configs load without a single warning', async () => {
  const { readdirSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const { loadConfigFile } = await import('../../src/config/index.js');
  const dir = fileURLToPath(new URL('../fixtures/configs/', import.meta.url));
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.xml'))) {
    assert.deepEqual(loadConfigFile(dir + f).warnings, [], f);
  }
});
