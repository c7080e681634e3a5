// Events for the EVTX tests: every schema field filled with a value of its manifest type,
// plus hostile strings (XML specials, newlines, non-BMP characters, a 100 KB command line).
import type { FieldValue, SysmonEvent } from '../../src/events/event.js';
import { eventDef } from '../../src/events/schema.js';
import { utcTime } from '../../src/events/time.js';

export const HOSTILE = `a "quoted" <tag attr='x'> & ampersand\nsecond line\ttab \u{1F600} \u{10348} é ü ß 中文`;

export function makeEvent(id: number, recordId: number, overrides: Record<string, FieldValue> = {}): SysmonEvent {
  const def = eventDef(id);
  const timeNs = 1_790_000_000_123_456_700n + BigInt(recordId) * 1_000_000_100n;
  const data: Record<string, FieldValue> = {};
  def.fields.forEach((f, i) => {
    switch (f.type) {
      case 'UnicodeString':
        data[f.name] = f.name === 'UtcTime' ? utcTime(timeNs) : `${f.name}-${recordId}-${i}`;
        break;
      case 'GUID':
        data[f.name] = `{${(recordId % 0xffffffff).toString(16).padStart(8, '0')}-1234-5678-9abc-def0123456${(i % 100).toString().padStart(2, '0')}}`;
        break;
      case 'UInt32':
        data[f.name] = (recordId * 7919 + i) >>> 0;
        break;
      case 'UInt16':
        data[f.name] = (recordId + i) & 0xffff;
        break;
      case 'UInt64':
        data[f.name] = recordId * 1000 + i;
        break;
      case 'Boolean':
        data[f.name] = (recordId + i) % 2 === 0;
        break;
      case 'HexInt32':
        data[f.name] = `0x${((recordId * 31 + i) >>> 0).toString(16)}`;
        break;
      case 'HexInt64':
        data[f.name] = `0x${(BigInt(recordId) * 0x100000001n + BigInt(i)).toString(16)}`;
        break;
    }
  });
  Object.assign(data, overrides);
  return { id, recordId, timeNs, data };
}

/** Events of IDs 1, 3, 5, 11 and 255 with hostile strings; record ids from `first`. */
export function hostileEvents(first = 1): SysmonEvent[] {
  return [
    makeEvent(1, first, { CommandLine: HOSTILE, Image: '/usr/bin/<evil>&"\'', ParentCommandLine: 'x'.repeat(2000) + '\u{1F4A9}' }),
    makeEvent(3, first + 1, { SourceHostname: HOSTILE, DestinationHostname: '' }),
    makeEvent(5, first + 2, { Image: '/tmp/\u{1F600}\u{1F600}\n<&>' }),
    makeEvent(11, first + 3, { TargetFilename: '/tmp/a&b<c>d"e\'f\r\n' }),
    makeEvent(255, first + 4, { ID: 'ERR', Description: HOSTILE }),
  ];
}

/** A 100 KB command line: the writer cuts it to fit a record (see sinks/evtx/README.md). */
export function longCommandLineEvent(recordId: number): SysmonEvent {
  let s = '';
  for (let i = 0; s.length < 100 * 1024; i++) s += `arg${i} `;
  return makeEvent(1, recordId, { CommandLine: s });
}
