// Sysmon rule semantics (sysmon-notes §3.2-3.4, §5; rules.c). Each case is chosen so that the
// obvious wrong implementation gives a different answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/index.js';
import { LinearEngine } from './oracle.js';
import { cfg, decide, ev } from './helpers.js';

/** Check the compiled engine and the reference oracle agree, then return the decision. */
function both(c: ReturnType<typeof cfg>, e: ReturnType<typeof ev>): string {
  const got = decide(c, e);
  const o = new LinearEngine(c.parsed).evaluate(e);
  assert.equal(got, o.keep ? `keep:${o.ruleName}` : 'drop', 'engine and oracle disagree');
  return got;
}

test('defaults without a block: only ProcessCreate and ProcessTerminate logged; 4, 16, 255 always', () => {
  const c = cfg('<NetworkConnect onmatch="include"><Image>x</Image></NetworkConnect>');
  assert.equal(both(c, ev(1)), 'keep:-');
  assert.equal(both(c, ev(5)), 'keep:-');
  assert.equal(both(c, ev(11)), 'drop'); // FileCreate: no block, default off
  assert.equal(both(c, ev(9)), 'drop');
  assert.equal(both(c, ev(4)), 'keep:-');
  assert.equal(both(c, ev(16)), 'keep:-');
  assert.equal(both(c, ev(255)), 'keep:-');
  const d = defaultConfig();
  assert.deepEqual(
    [...d.capturedEvents()].sort((a, b) => a - b),
    [1, 4, 5, 16, 255],
  );
});

test('empty include logs nothing, empty exclude logs everything', () => {
  assert.equal(both(cfg('<ProcessCreate onmatch="include"/>'), ev(1)), 'drop');
  assert.equal(both(cfg('<FileCreate onmatch="exclude"/>'), ev(11)), 'keep:-');
});

test('lone block without a match: its default (exclude block keeps, include block drops)', () => {
  assert.equal(both(cfg('<ProcessCreate onmatch="exclude"><Image>a</Image></ProcessCreate>'), ev(1, { Image: 'b' })), 'keep:-');
  assert.equal(both(cfg('<ProcessCreate onmatch="include"><Image>a</Image></ProcessCreate>'), ev(1, { Image: 'b' })), 'drop');
});

test('two or more blocks and no match: dropped, even when both are exclude blocks', () => {
  const c = cfg(
    '<RuleGroup groupRelation="or"><ProcessCreate onmatch="exclude"><Image>a</Image></ProcessCreate></RuleGroup>' +
      '<RuleGroup groupRelation="or"><ProcessCreate onmatch="exclude"><Image>b</Image></ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c, ev(1, { Image: 'c' })), 'drop');
  assert.equal(both(c, ev(1, { Image: 'a' })), 'drop');
});

test('exclude blocks are evaluated before include blocks, whatever the document order', () => {
  const c = cfg(
    '<ProcessCreate onmatch="include"><Image name="inc">a</Image></ProcessCreate>' + '<ProcessCreate onmatch="exclude"><Image>a</Image></ProcessCreate>',
    '4.90',
  );
  assert.equal(both(c, ev(1, { Image: 'a' })), 'drop');
  // include-only match: kept with the include RuleName
  const c2 = cfg(
    '<ProcessCreate onmatch="include"><Image name="inc">a</Image></ProcessCreate>' + '<ProcessCreate onmatch="exclude"><Image>z</Image></ProcessCreate>',
  );
  assert.equal(both(c2, ev(1, { Image: 'A' })), 'keep:inc');
});

test('within one kind the later block in the file is evaluated first (decides the RuleName)', () => {
  const c = cfg(
    '<RuleGroup name="first" groupRelation="or"><ProcessCreate onmatch="include"><Image>a</Image></ProcessCreate></RuleGroup>' +
      '<RuleGroup name="second" groupRelation="or"><ProcessCreate onmatch="include"><Image>a</Image></ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c, ev(1, { Image: 'a' })), 'keep:second');
});

test('AND block: filters on the same field are ORed, different fields ANDed', () => {
  const body =
    '<RuleGroup groupRelation="and"><ProcessCreate onmatch="include">' +
    '<Image condition="end with">\\a.exe</Image><Image condition="end with">\\b.exe</Image>' +
    '<CommandLine condition="contains">-x</CommandLine></ProcessCreate></RuleGroup>';
  const c = cfg(body);
  assert.equal(both(c, ev(1, { Image: 'C:\\b.exe', CommandLine: 'b -x' })), 'keep:-'); // strict AND would drop
  assert.equal(both(c, ev(1, { Image: 'C:\\b.exe', CommandLine: 'b' })), 'drop'); // OR everything would keep
  assert.equal(both(c, ev(1, { Image: 'C:\\c.exe', CommandLine: '-x' })), 'drop');
});

test('<Rule groupRelation="and"> is strict AND, even on the same field', () => {
  const c = cfg(
    '<RuleGroup groupRelation="or"><ProcessCreate onmatch="include"><Rule name="r" groupRelation="and">' +
      '<CommandLine condition="contains">a</CommandLine><CommandLine condition="contains">b</CommandLine><CommandLine condition="contains">c</CommandLine>' +
      '</Rule></ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c, ev(1, { CommandLine: 'a b' })), 'drop'); // same-field-OR would keep
  assert.equal(both(c, ev(1, { CommandLine: 'c b a' })), 'keep:r');
});

test('<Rule> without groupRelation is OR (code default)', () => {
  const c = cfg('<ProcessCreate onmatch="include"><Rule name="r">' + '<Image>x</Image><CommandLine>y</CommandLine></Rule></ProcessCreate>');
  assert.equal(both(c, ev(1, { Image: 'x', CommandLine: 'nope' })), 'keep:r');
});

test('schema 4.1 defaults to OR, 4.21 to AND (blocks outside a RuleGroup)', () => {
  const body = '<ProcessCreate onmatch="include"><Image>x</Image><CommandLine>y</CommandLine></ProcessCreate>';
  const e = ev(1, { Image: 'x', CommandLine: 'other' });
  assert.equal(both(cfg(body, '4.1'), e), 'keep:-');
  assert.equal(both(cfg(body, '4.10'), e), 'keep:-');
  assert.equal(both(cfg(body, '4.21'), e), 'drop');
  assert.equal(both(cfg(body, '4.21'), ev(1, { Image: 'x', CommandLine: 'y' })), 'keep:-');
  // RuleGroup groupRelation overrides the version default
  assert.equal(both(cfg(`<RuleGroup groupRelation="or">${body}</RuleGroup>`, '4.90'), e), 'keep:-');
  assert.equal(both(cfg(`<RuleGroup groupRelation="and">${body}</RuleGroup>`, '4.1'), e), 'drop');
  // a RuleGroup without groupRelation keeps the version default (xml.cpp)
  assert.equal(both(cfg(`<RuleGroup name="g">${body}</RuleGroup>`, '4.90'), e), 'drop');
});

test('comparisons are case-insensitive for every condition', () => {
  const c = cfg(
    '<RuleGroup groupRelation="or"><ProcessCreate onmatch="include"><Image condition="is" name="is">C:\\WINDOWS\\CMD.EXE</Image>' +
      '<CommandLine condition="contains" name="c">POWERSHELL</CommandLine></ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c, ev(1, { Image: 'c:\\windows\\cmd.exe' })), 'keep:is');
  assert.equal(both(c, ev(1, { CommandLine: 'run PowerShell -enc' })), 'keep:c');
});

test('RuleName: filter name, else Rule name, else RuleGroup name; an empty name falls back (xml.cpp)', () => {
  const c = cfg(
    '<RuleGroup name="grp" groupRelation="or"><ProcessCreate onmatch="include">' +
      '<Image name="own">a</Image><Image>b</Image>' +
      '<Rule name="rule" groupRelation="and"><Image>c</Image></Rule>' +
      '<Rule groupRelation="and"><Image>d</Image></Rule>' +
      '<Image name="">e</Image>' +
      '</ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c, ev(1, { Image: 'a' })), 'keep:own');
  assert.equal(both(c, ev(1, { Image: 'b' })), 'keep:grp');
  assert.equal(both(c, ev(1, { Image: 'c' })), 'keep:rule');
  assert.equal(both(c, ev(1, { Image: 'd' })), 'keep:grp');
  assert.equal(both(c, ev(1, { Image: 'e' })), 'keep:grp');
});

test('RuleName in an OR block: the first matching filter in document order', () => {
  const c = cfg(
    '<RuleGroup groupRelation="or"><ProcessCreate onmatch="include">' +
      '<CommandLine condition="contains" name="first">x</CommandLine><Image name="second">a</Image></ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c, ev(1, { Image: 'a', CommandLine: 'x' })), 'keep:first'); // last-match would say second
});

test('RuleName in an AND block: the last matched named filter in document order', () => {
  const c = cfg(
    '<RuleGroup groupRelation="and"><ProcessCreate onmatch="include">' +
      '<Image name="first">a</Image><CommandLine name="second" condition="contains">x</CommandLine><User>u</User></ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c, ev(1, { Image: 'a', CommandLine: 'x', User: 'u' })), 'keep:second'); // first-match would say first
  // in a same-field OR, only the first matching filter of the field is evaluated
  const c2 = cfg(
    '<RuleGroup groupRelation="and"><ProcessCreate onmatch="include">' +
      '<Image name="i1" condition="begin with">a</Image><Image name="i2" condition="end with">z</Image></ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c2, ev(1, { Image: 'a-z' })), 'keep:i1');
});

test('RuleName when the decision is a default: "-"', () => {
  const c = cfg('<ProcessCreate onmatch="exclude"><Image name="n">a</Image></ProcessCreate>');
  assert.equal(both(c, ev(1, { Image: 'b' })), 'keep:-');
});

test('RuleName left by a partly matched block carries into the deciding block (rules.c keeps the pointer)', () => {
  // exclude AND block (evaluated first): named Image filter matches, CommandLine does not -> no match,
  // but the name stays; the include block matches through an unnamed filter.
  const c = cfg(
    '<RuleGroup groupRelation="and"><ProcessCreate onmatch="exclude"><Image name="leak">a</Image><CommandLine>zzz</CommandLine></ProcessCreate></RuleGroup>' +
      '<RuleGroup groupRelation="or"><ProcessCreate onmatch="include"><User>u</User></ProcessCreate></RuleGroup>',
  );
  assert.equal(both(c, ev(1, { Image: 'a', User: 'u', CommandLine: 'q' })), 'keep:leak');
  assert.equal(both(c, ev(1, { Image: 'b', User: 'u', CommandLine: 'q' })), 'keep:-');
});

test('a filter on a field a sub-event lacks is NoMatch (RegistryEvent covers 12, 13, 14)', () => {
  const c = cfg('<RegistryEvent onmatch="include"><Details condition="contains" name="d">evil</Details></RegistryEvent>');
  assert.equal(both(c, ev(13, { Details: 'evil' })), 'keep:d');
  assert.equal(both(c, ev(12)), 'drop');
  assert.equal(both(c, ev(14)), 'drop');
  const x = cfg('<RegistryEvent onmatch="exclude"><TargetObject condition="begin with">HKLM\\x</TargetObject></RegistryEvent>');
  assert.equal(both(x, ev(12, { TargetObject: 'HKLM\\x\\y' })), 'drop');
  assert.equal(both(x, ev(14, { TargetObject: 'HKLM\\x\\y' })), 'drop');
  assert.equal(both(x, ev(14, { TargetObject: 'HKLM\\q' })), 'keep:-');
  // Sysmon matches by field index in the block's base event (12 here): User sits at another index
  // in 13 and 14, so a User filter never matches those (code-derived quirk).
  const u = cfg('<RegistryEvent onmatch="include"><User>root</User></RegistryEvent>');
  assert.equal(both(u, ev(12, { User: 'root' })), 'keep:-');
  assert.equal(both(u, ev(13, { User: 'root' })), 'drop');
});

test('PipeEvent and WmiEvent blocks apply to all their IDs', () => {
  const c = cfg('<PipeEvent onmatch="exclude"/><WmiEvent onmatch="exclude"/>');
  for (const id of [17, 18, 19, 20, 21]) assert.equal(both(c, ev(id)), 'keep:-');
  assert.deepEqual(
    [...c.capturedEvents()].filter((i) => i > 16 && i < 22),
    [17, 18, 19, 20, 21],
  );
});

test('FieldSizes truncates kept events; apply() fills RuleName', () => {
  const c = cfg(
    '<ProcessCreate onmatch="include"><Image condition="image" name="n">/usr/bin/bash</Image></ProcessCreate>',
    '4.90',
    '<FieldSizes>CommandLine:5,Image:2,ParentImage:4,CurrentDirectory:6</FieldSizes>',
  );
  const e = ev(1, { Image: '/usr/bin/bash', CommandLine: 'bash -c something', ParentImage: '/bin', CurrentDirectory: 'ä€xyz' });
  assert.equal(c.engine.apply(e), true);
  // Sysmon's TrimStringToNChars: the kept text ends in ...; below 3 only -; UTF-8 bytes on Linux
  assert.equal(e.data.CommandLine, 'ba...');
  assert.equal(e.data.Image, '-');
  assert.equal(e.data.ParentImage, '/bin', 'a value that fits is kept');
  assert.equal(e.data.CurrentDirectory, 'ä...', 'ä€xyz is 8 bytes: 3 bytes room keeps ä (2), not € (3)');
  assert.equal(e.data.RuleName, 'n');
  const dropped = ev(1, { Image: '/bin/sh', CommandLine: 'long command line' });
  assert.equal(c.engine.apply(dropped), false);
  assert.equal(dropped.data.CommandLine, 'long command line');
});

test('capturedEvents: events that can never be logged are left out', () => {
  const c = cfg(
    '<ProcessTerminate onmatch="include"/>' +
      '<FileCreate onmatch="include"><TargetFilename condition="end with">.sh</TargetFilename></FileCreate>' +
      '<RuleGroup groupRelation="or"><NetworkConnect onmatch="exclude"><Image>a</Image></NetworkConnect></RuleGroup>' +
      '<RuleGroup groupRelation="or"><NetworkConnect onmatch="exclude"><Image>b</Image></NetworkConnect></RuleGroup>' +
      '<RawAccessRead onmatch="exclude"><Image>a</Image></RawAccessRead>',
  );
  const got = [...c.capturedEvents()].sort((a, b) => a - b);
  assert.deepEqual(got, [1, 4, 9, 11, 16, 255]); // 5 off (empty include), 3 off (two excludes)
});

test('explain names the deciding block and filter', () => {
  const c = cfg(
    '<RuleGroup name="g" groupRelation="or"><ProcessCreate onmatch="include"><Image>a</Image><CommandLine condition="contains" name="cl">x</CommandLine></ProcessCreate></RuleGroup>',
  );
  const x = c.engine.explain(ev(1, { CommandLine: 'x' }));
  assert.equal(x.decidedBy, 'block');
  assert.equal(x.filter?.field, 'CommandLine');
  assert.equal(x.block?.onmatch, 'include');
  assert.equal(x.ruleName, 'cl');
  assert.equal(c.engine.explain(ev(1)).decidedBy, 'lone-block-default');
  assert.equal(c.engine.explain(ev(3)).decidedBy, 'no-rules-default');
});

test('describe() dumps blocks in evaluation order with conditions, names and defaults', () => {
  const c = cfg(
    '<RuleGroup name="g" groupRelation="or"><ProcessCreate onmatch="include"><Image condition="end with" name="n">\\x.exe</Image>' +
      '<Rule name="r"><User>root</User></Rule></ProcessCreate></RuleGroup><FileCreate onmatch="exclude"/>',
    '4.90',
    '<CheckRevocation/>',
  );
  const d = c.describe();
  assert.match(d, /ProcessCreate \(1\): 1 block\(s\) -> logged/);
  assert.match(d, /Include block, line 1, OR, RuleGroup "g"/);
  assert.match(d, /Image\s+filter: end with\s+value: '\\x\.exe' {2}name: 'n'/);
  assert.match(d, /Compound Rule r OR \(default\)/);
  assert.match(d, /FileCreate \(11\): 1 block\(s\) -> logged/);
  assert.match(d, /empty: logs everything/);
  assert.match(d, /NetworkConnect \(3\): no rules, default exclude -> not logged/);
  assert.match(d, /not applicable on Linux/);
});

test('apply() on events without a RuleName field (4, 16, 255) keeps them unchanged', () => {
  const c = cfg('<ProcessCreate onmatch="include"/>', '4.90', '<FieldSizes>Description:3</FieldSizes>');
  const e = ev(255, { Description: 'long description' });
  assert.equal(c.engine.apply(e), true);
  assert.equal('RuleName' in e.data, false);
  assert.equal(e.data.Description, '...'); // FieldSizes applies to every kept event with that field (3: nothing kept but ...)
});
