// Human-readable live view on a terminal: one short line per event. For people watching
// `npm start`; machines read the JSONL file.
import type { Writable } from 'node:stream';
import type { SysmonEvent } from '../../src/events/event.js';
import { eventName } from '../../src/events/schema.js';
import type { Sink } from '../sink.js';

const SUMMARY_FIELDS: Record<number, readonly string[]> = {
  1: ['ProcessId', 'User', 'Image', 'CommandLine'],
  3: ['ProcessId', 'Image', 'Protocol', 'SourceIp', 'SourcePort', 'DestinationIp', 'DestinationPort'],
  4: ['State', 'Version'],
  5: ['ProcessId', 'Image'],
  11: ['ProcessId', 'Image', 'TargetFilename'],
  16: ['Configuration'],
  23: ['ProcessId', 'Image', 'TargetFilename'],
  255: ['ID', 'Description'],
};

/** Keeps a terminal line a line: control characters shown escaped, long values cut. */
function printable(v: unknown, max = 160): string {
  const s = JSON.stringify(String(v)).slice(1, -1);
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

export function summarize(ev: SysmonEvent): string {
  const fields =
    SUMMARY_FIELDS[ev.id] ??
    Object.keys(ev.data)
      .filter((k) => k !== 'RuleName' && k !== 'UtcTime')
      .slice(0, 4);
  const parts = fields.map((f) => `${f}=${printable(ev.data[f])}`);
  const rule = ev.data.RuleName && ev.data.RuleName !== '-' ? ` [${printable(ev.data.RuleName, 60)}]` : '';
  return `#${ev.recordId} ${ev.data.UtcTime} ${ev.id} ${eventName(ev.id)}${rule} ${parts.join(' ')}\n`;
}

export function createConsoleSink(out: Writable = process.stderr): Sink {
  return {
    name: 'console',
    async open() {},
    async write(batch) {
      const text = batch.map(summarize).join('');
      if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
    },
    async close() {},
  };
}
