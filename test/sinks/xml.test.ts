import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeXml, renderEventXml, unescapeXmlValue } from '../../sinks/shared/xml-render.js';
import { eventDef } from '../../src/events/schema.js';
import { makeIdentity } from '../../src/events/event.js';
import { errorEvent, HOSTILE, hostileEvents, IDENTITY, processCreate } from './fixtures.js';
import { haveXmllint, parseWithPython, xmllint } from './xmlparse.js';

// The real line Sysmon for Linux wrote (docs/outputs.md), minus the syslog prefix.
const REAL =
  '<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2022-11-24T08:30:01.467399000Z"/><EventRecordID>75097</EventRecordID><Correlation/><Execution ProcessID="1109" ThreadID="1109"/><Channel>Linux-Sysmon/Operational</Channel><Computer>ip-172-31-60-25</Computer><Security UserId="0"/></System><EventData><Data Name="RuleName">-</Data><Data Name="UtcTime">2022-11-24 08:30:01.467</Data><Data Name="ProcessGuid">{c9eb4a87-2b89-637f-700c-0807f5550000}</Data><Data Name="ProcessId">3372</Data><Data Name="Image">/usr/bin/wget</Data><Data Name="FileVersion">-</Data><Data Name="Description">-</Data><Data Name="Product">-</Data><Data Name="Company">-</Data><Data Name="OriginalFileName">-</Data><Data Name="CommandLine">wget http://44.204.18.94:80/injector.sh</Data><Data Name="CurrentDirectory">/root</Data><Data Name="User">root</Data><Data Name="LogonGuid">{c9eb4a87-0000-0000-0000-000000000000}</Data><Data Name="LogonId">0</Data><Data Name="TerminalSessionId">64</Data><Data Name="IntegrityLevel">no level</Data><Data Name="Hashes">-</Data><Data Name="ParentProcessGuid">{c9eb4a87-2b89-637f-4894-b7e93f560000}</Data><Data Name="ParentProcessId">3371</Data><Data Name="ParentImage">/bin/bash</Data><Data Name="ParentCommandLine">/bin/bash</Data><Data Name="ParentUser">root</Data></EventData></Event>';

test('linux dialect is byte-identical to a real Sysmon for Linux line', () => {
  const xml = renderEventXml(processCreate(75097), IDENTITY, { dialect: 'linux', execution: { pid: 1109, tid: 1109 }, userId: 0 });
  assert.equal(xml, REAL);
});

test('windows dialect: xmlns, UserID S-1-5-18, 7-digit SystemTime, Windows identity', () => {
  const who = makeIdentity(true, 'DESKTOP-1');
  const xml = renderEventXml(processCreate(5), who, { dialect: 'windows', execution: { pid: 4, tid: 8 } });
  assert.match(
    xml,
    /^<Event xmlns="http:\/\/schemas.microsoft.com\/win\/2004\/08\/events\/event"><System><Provider Name="Microsoft-Windows-Sysmon" Guid="\{5770385F-C22A-43E0-BF4C-06F5698FFBD9\}"\/>/,
  );
  assert.match(xml, /<TimeCreated SystemTime="2022-11-24T08:30:01\.4673990Z"\/>/);
  assert.match(xml, /<Security UserID="S-1-5-18"\/><\/System>/);
  assert.match(xml, /<Channel>Microsoft-Windows-Sysmon\/Operational<\/Channel><Computer>DESKTOP-1<\/Computer>/);
  const [p] = parseWithPython([xml]);
  assert.equal(p!.root, '{http://schemas.microsoft.com/win/2004/08/events/event}Event');
  assert.equal(p!.data.length, eventDef(1).fields.length);
});

test('event 255 has Level 2, Task 255; missing fields render as -', () => {
  const xml = renderEventXml(errorEvent(9, 'x'), IDENTITY);
  assert.match(xml, /<EventID>255<\/EventID><Version>3<\/Version><Level>2<\/Level><Task>255<\/Task>/);
  const partial = renderEventXml({ id: 5, recordId: 1, timeNs: 0n, data: { ProcessId: 7 } }, IDENTITY);
  assert.match(partial, /<Data Name="RuleName">-<\/Data><Data Name="UtcTime">-<\/Data>/);
  assert.match(partial, /<Data Name="ProcessId">7<\/Data>/);
});

test("event 100's System part is Sysmon for Linux's bare descriptor; --windows keeps the manifest's", () => {
  const ev = { id: 100, recordId: 3, timeNs: 1_669_278_601_467_399_000n, data: { RuleName: '-', BpfCommand: 'BPF_PROG_LOAD' } };
  const xml = renderEventXml(ev, IDENTITY, { execution: { pid: 1, tid: 1 }, userId: 0 });
  assert.match(xml, /<EventID>100<\/EventID><Version>0<\/Version><Level>0<\/Level><Task>0<\/Task><Opcode>0<\/Opcode><Keywords>0x0<\/Keywords><TimeCreated /);
  const win = renderEventXml(ev, makeIdentity(true, 'W'), { dialect: 'windows' });
  assert.match(
    win,
    /<EventID>100<\/EventID><Version>1<\/Version><Level>4<\/Level><Task>100<\/Task><Opcode>0<\/Opcode><Keywords>0x8000000000000000<\/Keywords>/,
  );
  // every other event keeps its manifest descriptor in the Linux dialect too
  assert.match(renderEventXml(processCreate(1), IDENTITY), /<EventID>1<\/EventID><Version>5<\/Version><Level>4<\/Level><Task>1<\/Task>/);
});

test('hostile values: one line, well-formed for expat and xmllint, no forged elements, values round-trip', () => {
  const events = hostileEvents(100);
  const lines = events.map((e) => renderEventXml(e, { ...IDENTITY, computer: 'evil<host>&"' }));
  for (const l of lines) {
    assert.ok(!/[\n\r]/.test(l), 'one line');
    assert.ok(!/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(l), 'no raw control characters');
    assert.ok(Buffer.from(l, 'utf8').toString('utf8') === l, 'valid UTF-8 (no lone surrogates)');
  }
  if (haveXmllint()) for (const l of lines) xmllint(l);
  else if (process.env.CI === 'true') assert.fail('xmllint missing (apt-get install libxml2-utils)');
  else console.log('# SKIP xmllint check: xmllint not installed (apt-get install libxml2-utils)');
  const parsed = parseWithPython(lines);
  const values = Object.values(HOSTILE);
  parsed.forEach((p, i) => {
    const ev = events[i]!;
    assert.equal(p.system.Computer, 'evil<host>&"');
    assert.equal(p.system.EventRecordID, String(ev.recordId));
    assert.deepEqual(
      p.data.map(([n]) => n),
      eventDef(1).fields.map((f) => f.name),
      'exactly the schema fields, in order',
    );
    const got = Object.fromEntries(p.data.map(([n, v]) => [n, unescapeXmlValue(v)]));
    // \x41 literally in the input is the one documented ambiguity; it is not in an escapable range
    assert.equal(got.CommandLine, values[i]);
    assert.equal(got.User, values[i]);
    for (const f of eventDef(1).fields) assert.equal(got[f.name], String(ev.data[f.name]));
  });
});

test('escapeXml forms', () => {
  assert.equal(escapeXml('a&b<c>d"e'), 'a&amp;b&lt;c&gt;d&quot;e');
  assert.equal(escapeXml('\t\n\r'), '&#9;&#10;&#13;');
  assert.equal(escapeXml('\u0000\u001f'), '\\x00\\x1F');
  assert.equal(escapeXml('\udcff\udc80'), '\\xFF\\x80');
  assert.equal(escapeXml('😀'), '😀');
  assert.equal(escapeXml('\ud800'), '\\uD800');
  assert.equal(escapeXml('plain /usr/bin/ls -la'), 'plain /usr/bin/ls -la');
  assert.equal(unescapeXmlValue('\\x00\\xFF\\uD800\\x41'), '\u0000\udcff\ud800\\x41');
});
