// Every condition, with the edge that the obvious wrong implementation gets wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearEngine } from './oracle.js';
import { cfg, ev } from './helpers.js';

type Case = [condition: string, rule: string, value: string, expected: boolean, why: string];

const CASES: Case[] = [
  ['is', 'abc', 'ABC', true, 'case-insensitive'],
  ['is', 'abc', 'abcd', false, 'whole value, not prefix'],
  ['is', ' abc', 'abc', false, 'no trimming'],
  ['is not', 'abc', 'ABC', false, 'case-insensitive'],
  ['is not', 'abc', 'abd', true, ''],
  ['is any', 'a;b;c', 'B', true, 'token'],
  ['is any', 'a;b;c', 'a;b', false, 'not the whole list'],
  ['is any', 'a; b', 'b', false, 'tokens are not trimmed'],
  ['is any', 'a; b', ' b', true, 'tokens are not trimmed'],
  ['is any', 'a;', '', true, 'empty token equals the empty value'],
  ['contains', 'SHELL', 'powershell.exe', true, 'case-insensitive substring'],
  ['contains', 'a;b', 'xa;bx', true, 'contains does not split on ;'],
  ['contains', 'a;b', 'xa', false, 'contains does not split on ;'],
  ['contains', '', 'x', true, 'empty pattern in non-empty value'],
  ['contains', '', '', false, 'nothing is found in an empty value'],
  ['contains any', 'foo;bar', 'xBARx', true, ''],
  ['contains any', 'foo;bar', 'xbaz', false, ''],
  ['contains any', 'foo; bar', 'bar', false, 'no trimming: " bar" not in "bar"'],
  ['contains any', 'foo;', 'zzz', true, 'trailing empty token matches any non-empty value'],
  ['contains any', 'a;;b', 'x;b', true, 'middle empty token searches the rest of the rule text ";b"'],
  ['contains any', 'a;;b', 'x;c', false, 'middle empty token searches ";b"'],
  ['contains all', 'foo;bar', 'bar and foo', true, 'order does not matter'],
  ['contains all', 'foo;bar', 'foo only', false, ''],
  ['contains all', 'foo;foo', 'foo', true, 'repeated token'],
  ['excludes', 'foo', 'bar', true, ''],
  ['excludes', 'foo', 'xFOOx', false, 'case-insensitive'],
  ['excludes', 'foo', '', true, 'empty value contains nothing'],
  ['excludes any', '/a;/b', '/c /d', true, 'excludes any = none of the tokens present (code)'],
  ['excludes any', '/a;/b', '/a /d', false, 'one present -> no match (docs say otherwise; code wins)'],
  ['excludes all', '/a;/b', '/a /d', true, 'excludes all = not all present (code)'],
  ['excludes all', '/a;/b', '/b /a', false, 'all present -> no match'],
  ['excludes all', '/a;/b', '/c', true, 'none present -> match'],
  ['begin with', 'C:\\Win', 'c:\\windows\\x', true, ''],
  ['begin with', 'abc', 'ab', false, 'value shorter than the prefix'],
  ['begin with', '', 'anything', true, 'empty prefix'],
  ['not begin with', 'abc', 'ABCD', false, ''],
  ['not begin with', 'abc', 'xabc', true, ''],
  ['end with', '.EXE', 'a.exe', true, ''],
  ['end with', 'abc', 'bc', false, 'value shorter than the suffix'],
  ['not end with', '.exe', 'a.EXE', false, ''],
  ['not end with', '.exe', 'a.dll', true, ''],
  ['less than', '9', '10', true, 'lexical, not numeric'],
  ['less than', '10', '9', false, 'lexical, not numeric'],
  ['less than', 'B', 'a', true, 'case-insensitive'],
  ['more than', '9', '10', false, 'lexical'],
  ['more than', '1000', '999', true, 'lexical'],
  ['more than', 'a', 'B', true, 'case-insensitive'],
  ['image', 'cmd.exe', 'C:\\Windows\\System32\\CMD.EXE', true, 'basename after last \\'],
  ['image', 'C:\\Windows\\System32\\cmd.exe', 'c:\\windows\\system32\\cmd.exe', true, 'full path when the rule has a \\'],
  ['image', 'System32\\cmd.exe', 'C:\\Windows\\System32\\cmd.exe', false, 'rule with \\ compares the full path'],
  ['image', 'bash', '/usr/bin/bash', false, 'Sysmon: only the part after the last \\, so a Linux path compares whole'],
  ['image', '/usr/bin/bash', '/usr/bin/BASH', true, 'full Linux path matches, case-insensitive'],
  ['image', 'bin/bash', '/usr/bin/bash', false, 'neither tail nor full path'],
  ['Contains', 'x', 'axb', true, 'condition names are case-insensitive'],
];

for (const [cond, rule, value, expected, why] of CASES) {
  test(`${cond} ${JSON.stringify(rule)} on ${JSON.stringify(value)} -> ${expected}${why ? ` (${why})` : ''}`, () => {
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const c = cfg(`<ProcessCreate onmatch="include"><CommandLine condition="${cond}" name="hit">${esc(rule)}</CommandLine></ProcessCreate>`);
    const e = ev(1, { CommandLine: value });
    const d = c.engine.evaluate(e);
    assert.equal(d.keep, expected);
    if (expected) assert.equal(d.ruleName, 'hit');
    assert.equal(new LinearEngine(c.parsed).evaluate(e).keep, expected, 'oracle');
  });
}

test('numbers and booleans compare as their text', () => {
  const c = cfg(
    '<RuleGroup groupRelation="and"><NetworkConnect onmatch="include"><DestinationPort condition="is any">22;443</DestinationPort><Initiated>true</Initiated></NetworkConnect></RuleGroup>',
  );
  assert.equal(c.engine.evaluate(ev(3, { DestinationPort: 443, Initiated: true })).keep, true);
  assert.equal(c.engine.evaluate(ev(3, { DestinationPort: 443, Initiated: false })).keep, false);
  assert.equal(c.engine.evaluate(ev(3, { DestinationPort: 4430, Initiated: true })).keep, false);
});
